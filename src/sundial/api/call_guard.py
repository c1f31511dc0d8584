"""Authentication and authorization of calls: every RPC of Sundial's services needs
`authorization: Bearer <API key or JWT>`, and the permission its `sundial.v1.permission`
option names, checked before the servicer looks anything up. Health checking and reflection
stay open. The server interceptor (api.interceptors) runs the check around each call."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from sundial.api.headers import AUTHORIZATION_KEY, CLIENT_KEY, GATEWAY_TOKEN_KEY
from sundial.domain.errors import UnauthenticatedError
from sundial.domain.principals import Permission, Principal
from sundial.service.authentication import Authenticator
from sundial.service.authorization import Authorizer
from sundial.service.failure_limiter import FailureLimiter
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
                raise RuntimeError(f"{method.full_name} streams: the interceptor cannot guard it")
            rules[f"/{service.full_name}/{method.name}"] = _access_of(method)
    return rules


def _access_of(method: MethodDescriptor) -> MethodAccess:
    options = method.GetOptions()
    number = options.Extensions[access_pb2.permission]
    fields = method.input_type.fields_by_name
    return MethodAccess(Permission(number), "account_id" in fields, "workspace_id" in fields)


# What a method missing from the rules needs: a permission no one has, so it is refused.
_UNDECLARED = MethodAccess(Permission.UNSPECIFIED, account_field=False, workspace_field=False)


class CallGuard:
    """Authenticates the caller, rate-limits failed attempts per client, and authorizes the
    call, before the servicer sees it. A client over its limit is refused unless it sends a
    valid credential of a kind no one can guess (service.failure_limiter)."""

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

    def guards(self, method: str) -> bool:
        """Whether calls of `method` need credentials: all but health checking and reflection."""
        return not method.startswith(self._open_prefixes)

    def check(
        self,
        method: str,
        request: Any,
        metadata: dict[str, Any],
        context: grpc.ServicerContext,
    ) -> Principal:
        """The caller, allowed to make this call; raises UNAUTHENTICATED, PERMISSION_DENIED
        or RESOURCE_EXHAUSTED (too many failed attempts) otherwise."""
        rule = self._rules.get(method, _UNDECLARED)
        authorization = metadata.get(AUTHORIZATION_KEY, "")
        # Who calls matters only to a limiter with failures on record (or after a failure).
        client = self._client_of(metadata, context) if self._limiter.active else None
        limited = client is not None and self._limiter.limited(client)
        if client is not None and limited and not self._unguessable(authorization):
            # Refused unverified: only a credential no one can guess is verified while its
            # client is limited (service.failure_limiter says why).
            self._limiter.check(client)
        try:
            if not isinstance(authorization, str) or not authorization:
                raise UnauthenticatedError(
                    "credentials are required: send 'authorization: Bearer <API key or JWT>'"
                )
            if _credentials_sent(context) > 1:
                # Which one counts would be the server's guess ("last wins" in a dict).
                raise UnauthenticatedError("send one authorization credential, not several")
            principal = self._authenticator.authenticate(authorization)
        except UnauthenticatedError:
            failing = client or self._client_of(metadata, context)
            self._limiter.failed(failing)
            if limited:
                self._limiter.check(failing)  # RESOURCE_EXHAUSTED, as before verifying
            raise
        self._authorizer.authorize(
            principal,
            rule.permission,
            account_id=request.account_id if rule.account_field else None,
            workspace_id=request.workspace_id if rule.workspace_field else None,
        )
        return principal

    def _unguessable(self, authorization: Any) -> bool:
        return isinstance(authorization, str) and self._authenticator.unguessable(authorization)

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


def _credentials_sent(context: grpc.ServicerContext) -> int:
    return sum(1 for key, _ in context.invocation_metadata() if key == AUTHORIZATION_KEY)
