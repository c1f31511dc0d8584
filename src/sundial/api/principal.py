"""Who is calling. Until authentication lands, every call acts as the bootstrap account's
SYSTEM profile."""

from typing import Protocol

import grpc

from sundial.domain.tenancy import Principal


class PrincipalResolver(Protocol):
    def __call__(self, context: grpc.ServicerContext) -> Principal: ...


class BootstrapPrincipal:
    """Resolves every call to one fixed principal."""

    def __init__(self, principal: Principal) -> None:
        self._principal = principal

    def __call__(self, context: grpc.ServicerContext) -> Principal:
        return self._principal
