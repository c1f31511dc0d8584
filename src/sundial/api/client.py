"""Calling Sundial from Python: a channel that sends `authorization: Bearer <secret>` with
every call (what `sundial worker` uses; plaintext, for loopback and private networks)."""

from collections.abc import Callable, Sequence
from typing import Any

import grpc

from sundial.api.headers import AUTHORIZATION_KEY


class _Credentials(grpc.UnaryUnaryClientInterceptor):
    def __init__(self, secret: str) -> None:
        self._metadata = ((AUTHORIZATION_KEY, f"Bearer {secret}"),)

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        details = _CallDetails(
            client_call_details.method,
            client_call_details.timeout,
            (*(client_call_details.metadata or ()), *self._metadata),
            client_call_details.credentials,
            client_call_details.wait_for_ready,
            client_call_details.compression,
        )
        return continuation(details, request)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(
        self,
        method: str,
        timeout: float | None,
        metadata: Any,
        credentials: Any,
        wait_for_ready: bool | None,
        compression: Any,
    ) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def authorized_channel(
    target: str, secret: str, *, options: Sequence[tuple[str, Any]] = ()
) -> grpc.Channel:
    """A plaintext channel to `target` whose every call carries the API key (or JWT);
    `options` are gRPC channel arguments."""
    return grpc.intercept_channel(
        grpc.insecure_channel(target, options=list(options)), _Credentials(secret)
    )
