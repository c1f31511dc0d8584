"""Forwarding a REST call as a real gRPC call to the server, so that it passes through
exactly the interceptors (request id, logging, auth, validation, error mapping) a gRPC
client's call passes through.

Headers become metadata the way grpc-gateway does it: `Authorization` as `authorization`,
`Grpc-Metadata-<key>` as `<key>`, plus `X-Request-Id` (Sundial's correlation id) and the W3C
trace context, `traceparent` and `tracestate` (so the RPC's span joins the caller's trace). Response
metadata comes back as `Grpc-Metadata-<key>` headers (and `X-Request-Id`)."""

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from google.rpc import code_pb2, status_pb2

from sundial.gateway.http_errors import BadRequestError
from sundial.gateway.routes import Route

_METADATA_PREFIX = "grpc-metadata-"
_FORWARDED = {
    "authorization": "authorization",
    "x-request-id": "x-request-id",
    "traceparent": "traceparent",
    "tracestate": "tracestate",
}
_VALID_KEY = re.compile(r"[0-9a-z_.\-]+\Z")
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])\Z")
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
_STATUS_DETAILS_KEY = "grpc-status-details-bin"
# x-sundial-* is metadata only the gateway itself sends (api.call_guard's CLIENT_KEY and
# GATEWAY_TOKEN_KEY); a REST client cannot set it through Grpc-Metadata-*.
_RESERVED_PREFIXES = ("grpc-", "x-sundial-")

Metadata = list[tuple[str, str | bytes]]


@dataclass(frozen=True, slots=True)
class CallResult:
    """What the RPC answered: a response or a status, and metadata to pass back."""

    response: bytes | None
    status: status_pb2.Status | None
    headers: list[tuple[str, str]]


class Forwarder(Protocol):
    """Makes the RPC of a route (GrpcForwarder; tests and the bench stand in for it)."""

    def call(
        self, route: Route, request: bytes, metadata: Metadata, timeout: float | None
    ) -> CallResult: ...


class GrpcForwarder:
    """Calls each route's RPC over one channel, with the request already serialized."""

    def __init__(self, channel: grpc.Channel, routes: Iterable[Route]) -> None:
        # No (de)serializers: the gateway sends and receives the encoded messages itself.
        self._callables: dict[str, grpc.UnaryUnaryMultiCallable[bytes, bytes]] = {
            route.grpc_method: channel.unary_unary(route.grpc_method) for route in routes
        }

    def call(
        self, route: Route, request: bytes, metadata: Metadata, timeout: float | None
    ) -> CallResult:
        try:
            response, call = self._callables[route.grpc_method].with_call(
                request, metadata=tuple(metadata), timeout=timeout
            )
        except grpc.RpcError as error:
            if not isinstance(error, grpc.Call):  # grpcio raises Calls; be safe if not
                status = status_pb2.Status(code=code_pb2.UNKNOWN, message=str(error))
                return CallResult(None, status, [])
            headers = _response_headers(error.initial_metadata(), error.trailing_metadata())
            return CallResult(None, status_of_error(error), headers)
        return CallResult(response, None, _response_headers(call.initial_metadata(), ()))


def metadata_from_headers(headers: Iterable[tuple[str, str]]) -> tuple[Metadata, float | None]:
    """gRPC metadata and timeout (`Grpc-Timeout`, gRPC's own format like `10S`)."""
    metadata: Metadata = []
    timeout: float | None = None
    for name, value in headers:
        lowered = name.lower()
        if lowered in _FORWARDED:
            metadata.append((_FORWARDED[lowered], value))
        elif lowered.startswith(_METADATA_PREFIX):
            key = lowered[len(_METADATA_PREFIX) :]
            # gRPC reserves grpc-* keys, the gateway x-sundial-*: a client cannot smuggle
            # them in as metadata.
            if key.startswith(_RESERVED_PREFIXES) or not _VALID_KEY.match(key):
                continue
            metadata.append((key, _binary(name, value) if key.endswith("-bin") else value))
        elif lowered == "grpc-timeout":
            timeout = _timeout(value)
    return metadata, timeout


def status_of_error(error: grpc.Call) -> status_pb2.Status:
    """The rich google.rpc.Status the server sent, or one built from the code and message."""
    for key, value in error.trailing_metadata() or ():
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status()
            try:
                status.ParseFromString(value)
            except Exception:
                break
            return status
    code = error.code()
    number = code.value[0] if isinstance(code, grpc.StatusCode) else code_pb2.UNKNOWN
    return status_pb2.Status(code=number, message=error.details() or "")


def _response_headers(
    initial: Sequence[tuple[str, str | bytes]] | None,
    trailing: Sequence[tuple[str, str | bytes]] | None,
) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for prefix, pairs in (("Grpc-Metadata-", initial), ("Grpc-Trailer-", trailing)):
        for key, value in pairs or ():
            if isinstance(value, str) and not key.startswith("grpc-"):
                headers.append((prefix + key, value))
    request_id = next((v for k, v in initial or () if k == "x-request-id"), None)
    if isinstance(request_id, str):
        headers.append(("X-Request-Id", request_id))
    return headers


def _binary(name: str, value: str) -> bytes:
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except binascii.Error:
        raise BadRequestError(
            "INVALID_HEADER", f"header {name} must be base64 (its key ends in -bin)"
        ) from None


def _timeout(value: str) -> float:
    match = _TIMEOUT.match(value.strip())
    if match is None:
        raise BadRequestError(
            "INVALID_HEADER", f"Grpc-Timeout {value!r} is not a gRPC timeout such as 10S or 500m"
        )
    return int(match[1]) * _TIMEOUT_UNITS[match[2]]
