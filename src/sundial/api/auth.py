"""The authentication and authorization interceptor: every RPC of Sundial's services
needs `authorization: Bearer <API key or JWT>`, and the permission its
`sundial.v1.permission` option names, checked before the servicer looks anything up.
Health checking and reflection stay open."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from sundial.api.headers import AUTHORIZATION_KEY, CLIENT_KEY, GATEWAY_TOKEN_KEY
from sundial.api.interceptors import Behavior, UnaryInterceptor
from sundial.api.principal import principal_var
from sundial.domain.auth import Permission
from sundial.domain.errors import UnauthenticatedError
from sundial.service.auth import Authenticator, Authorizer, FailureLimiter
from sundial.v1 import access_pb2


@dataclass(frozen=True, slots=True)
class MethodAccess:
    """What one RPC needs: a permission, and which of its request's fields name the account
    and the workspace it acts in."""

    permission: Permission
    account_field: bool
    workspace_field: bool


def method_access(services: Iterable[ServiceDescriptor]) -> dict[str, MethodAccess]:
    """Every RPC's access rule, read from its `sundial.v1.permission` option, keyed by gRPC
    method path (`/sundial.v1.AgentService/GetAgent`)."""
    rules: dict[str, MethodAccess] = {}
    for service in services:
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                # The interceptor guards unary calls only; refuse to serve anything else.
                raise RuntimeError(
                    f"{method.full_name} streams: the auth interceptor cannot guard it"
                )
            rules[f"/{service.full_name}/{method.name}"] = _access_of(method)
    return rules


def _access_of(method: MethodDescriptor) -> MethodAccess:
    options = method.GetOptions()
    number = options.Extensions[access_pb2.permission]
    fields = method.input_type.fields_by_name
    return MethodAccess(Permission(number), "account_id" in fields, "workspace_id" in fields)


class AuthInterceptor(UnaryInterceptor):
    """Authenticates the caller, rate-limits failed attempts per client, authorizes the
    call, and leaves the principal in `principal_var` for the servicer."""

    def __init__(
        self,
        rules: dict[str, MethodAccess],
        *,
        open_prefixes: tuple[str, ...],
        authenticator: Authenticator,
        authorizer: Authorizer,
        limiter: FailureLimiter,
        gateway_token: str,
    ) -> None:
        self._rules = rules
        self._open_prefixes = open_prefixes
        self._authenticator = authenticator
        self._authorizer = authorizer
        self._limiter = limiter
        self._gateway_token = gateway_token

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if handler_call_details.method.startswith(self._open_prefixes):
            return continuation(handler_call_details)
        return super().intercept_service(continuation, handler_call_details)

    def around(
        self, method: str, behavior: Behavior, request: Any, context: grpc.ServicerContext
    ) -> Any:
        rule = self._rules.get(method, MethodAccess(Permission.UNSPECIFIED, False, False))
        metadata = dict(context.invocation_metadata())
        client = self._client_of(metadata, context)
        self._limiter.check(client)
        authorization = metadata.get(AUTHORIZATION_KEY, "")
        try:
            if not isinstance(authorization, str) or not authorization:
                raise UnauthenticatedError(
                    "credentials are required: send 'authorization: Bearer <API key or JWT>'"
                )
            principal = self._authenticator.authenticate(authorization)
        except UnauthenticatedError:
            self._limiter.failed(client)
            raise
        self._authorizer.authorize(
            principal,
            rule.permission,
            account_id=request.account_id if rule.account_field else None,
            workspace_id=request.workspace_id if rule.workspace_field else None,
        )
        token = principal_var.set(principal)
        try:
            return behavior(request, context)
        finally:
            principal_var.reset(token)

    def _client_of(self, metadata: dict[str, Any], context: grpc.ServicerContext) -> str:
        """The caller's address: the REST client's when the gateway vouches for it, else the
        gRPC peer's host."""
        vouched = metadata.get(GATEWAY_TOKEN_KEY)
        client = metadata.get(CLIENT_KEY)
        if (
            isinstance(vouched, str)
            and isinstance(client, str)
            and self._gateway_token
            and hmac.compare_digest(vouched, self._gateway_token)
        ):
            return client
        return _host_of(context.peer())


def _host_of(peer: str) -> str:
    """`ipv4:127.0.0.1:5000` -> `127.0.0.1`; `ipv6:[::1]:5000` -> `::1`."""
    kind, _, address = peer.partition(":")
    if kind == "ipv6" and address.startswith("["):
        return address[1:].partition("]")[0]
    if kind == "ipv4":
        return address.rpartition(":")[0]
    return peer
