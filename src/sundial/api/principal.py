"""Who is calling: the principal the authentication interceptor established for this call."""

import contextvars
from typing import Protocol

import grpc

from sundial.domain.errors import UnauthenticatedError
from sundial.domain.principals import Principal

principal_var: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "principal", default=None
)


class PrincipalResolver(Protocol):
    def __call__(self, context: grpc.ServicerContext) -> Principal: ...


def call_principal(context: grpc.ServicerContext) -> Principal:
    """The current call's principal; a servicer reached without authentication is refused."""
    principal = principal_var.get()
    if principal is None:
        raise UnauthenticatedError("the call was not authenticated")
    return principal
