"""Sundial's RPCs called in this process: the REST gateway beside the gRPC server runs each
call through the very interceptor and method handlers the gRPC server runs (request id,
logging, error mapping, authentication, authorization, the servicer), without the loopback
gRPC hop, whose client and server cost more CPU than most calls' own work.

The server's handlers are recorded as the generated code registers them (MethodRecorder),
and the interceptor instance is the server's: it hands both paths the same wrapped handler.
What the servicers may ask of their context is the part of grpc.ServicerContext below."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from google.rpc import code_pb2, status_pb2

from sundial.api.interceptors import CallInterceptor

Metadata = tuple[tuple[str, str | bytes], ...]
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class LocalResult:
    """What a call answered: the encoded response, or the status it failed with; and the
    metadata a gRPC client would have received."""

    response: bytes | None
    status: status_pb2.Status | None
    initial_metadata: Metadata
    trailing_metadata: Metadata


class MethodRecorder:
    """Stands beside a grpc.Server while the generated `add_*_to_server` functions register
    servicers: passes every registration on and keeps the method handlers by path."""

    def __init__(self, server: grpc.Server) -> None:
        self._server = server
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        self._server.add_registered_method_handlers(service_name, method_handlers)
        for name, handler in method_handlers.items():
            self.handlers[f"/{service_name}/{name}"] = handler


class LocalCalls:
    """Makes unary calls of the recorded methods through the server's interceptor."""

    def __init__(
        self,
        interceptor: CallInterceptor,
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # The interceptor also keeps how many calls run at once (gRPC's and these together).
        self._interceptor = interceptor
        self._handlers = handlers
        self._monotonic = monotonic  # for deadlines

    def handler_of(self, method: str) -> grpc.RpcMethodHandler[Any, Any] | None:
        """The wrapped handler a call of `method` runs: the one the gRPC server runs."""
        return self._interceptor.intercept_service(
            lambda details: self._handlers.get(details.method), _CallDetails(method, ())
        )

    def call(
        self,
        method: str,
        request: bytes,
        metadata: Sequence[tuple[str, str | bytes]],
        timeout: float | None,
    ) -> LocalResult:
        context = _LocalContext(tuple(metadata), timeout, self._monotonic)
        handler = self.handler_of(method)
        if handler is None or handler.unary_unary is None:
            return context.result(None, code_pb2.UNIMPLEMENTED, "Method not found!")
        if context.expired():
            return context.result(None, code_pb2.DEADLINE_EXCEEDED, "Deadline Exceeded")
        deserialize: Callable[[bytes], Any] = handler.request_deserializer or _same
        serialize: Callable[[Any], bytes] = handler.response_serializer or _same
        try:
            message = deserialize(request)
        except Exception:
            return context.result(None, code_pb2.INTERNAL, "Exception deserializing request!")
        try:
            response = handler.unary_unary(message, context)
        except _AbortedError:
            return context.result(None, context.code_number, context.details)
        except Exception as error:  # what grpcio answers when a behavior raises
            return context.result(None, code_pb2.UNKNOWN, f"Exception calling application: {error}")
        if context.expired():
            # A gRPC client would have given up at the deadline; the answer is the same.
            return context.result(None, code_pb2.DEADLINE_EXCEEDED, "Deadline Exceeded")
        return context.result(serialize(response), code_pb2.OK, "")


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class _CallDetails(grpc.HandlerCallDetails):
    method: str
    invocation_metadata: Metadata


class _AbortedError(Exception):
    """Raised by abort(): the call ends with the status set on the context."""


class _LocalContext(grpc.ServicerContext):
    """A servicer context for a call made in this process."""

    def __init__(
        self, metadata: Metadata, timeout: float | None, monotonic: Callable[[], float]
    ) -> None:
        self._metadata = metadata
        self._monotonic = monotonic
        self._deadline = None if timeout is None else monotonic() + timeout
        self._initial: Metadata = ()
        self._trailing: Metadata = ()
        self.code_number = code_pb2.OK
        self.details = ""
        self._code: grpc.StatusCode | None = None

    def expired(self) -> bool:
        return self._deadline is not None and self._monotonic() >= self._deadline

    def result(self, response: bytes | None, code: int, details: str) -> LocalResult:
        if response is not None:
            return LocalResult(response, None, self._initial, self._trailing)
        return LocalResult(None, self._status(code, details), self._initial, self._trailing)

    def _status(self, code: int, details: str) -> status_pb2.Status:
        """The rich status an abort_with_status sent, as a gRPC client reads it back."""
        for key, value in self._trailing:
            if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
                status = status_pb2.Status()
                status.ParseFromString(value)
                return status
        return status_pb2.Status(code=code, message=details)

    # grpc.RpcContext
    def is_active(self) -> bool:
        return not self.expired()

    def time_remaining(self) -> float:
        if self._deadline is None:
            return math.inf
        return max(self._deadline - self._monotonic(), 0.0)

    def cancel(self) -> NoReturn:
        self.abort(grpc.StatusCode.CANCELLED, "Cancelled")

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False  # nothing here ends a call early to call back about

    # grpc.ServicerContext
    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        return "local:rest-gateway"

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def auth_context(self) -> Mapping[str, bytes]:
        return {}

    def send_initial_metadata(self, initial_metadata: Metadata) -> None:
        self._initial = tuple(initial_metadata)

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self._trailing = tuple(trailing_metadata)

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        self.set_code(code)
        self.set_details(details)
        raise _AbortedError()

    def abort_with_status(self, status: grpc.Status) -> NoReturn:
        self.set_trailing_metadata(status.trailing_metadata)
        self.abort(status.code, status.details)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code
        self.code_number = code.value[0]

    def set_details(self, details: str) -> None:
        self.details = details

    def code(self) -> grpc.StatusCode | None:
        return self._code
