"""The server interceptor. Around every unary call, outermost first: request id, logging,
error mapping, decoding the request, then authentication and authorization (api.call_guard's
CallGuard)."""

from __future__ import annotations

import logging
import time
import typing
from collections.abc import Callable
from typing import Any

import grpc
from grpc_status import rpc_status

from sundial.api.call_guard import CallGuard
from sundial.api.principal import principal_var
from sundial.api.requests import check_request
from sundial.api.status_mapping import internal_status, status_of
from sundial.domain.errors import FieldViolation, InvalidArgumentError, SundialError
from sundial.domain.ids import IdPrefix, new_id
from sundial.logs import request_id_var
from sundial.metrics import Metrics
from sundial.tracing import Tracing

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 128

__all__ = ["REQUEST_ID_HEADER", "CallInterceptor", "request_id_var"]
logger = logging.getLogger("sundial.rpc")

Behavior = Callable[[Any, grpc.ServicerContext], Any]
Deserializer = Callable[[bytes], Any]


class CallInterceptor(grpc.ServerInterceptor):
    """Wraps the behavior of unary-unary methods: takes the caller's `x-request-id` (or makes
    one) and echoes it in the response headers, counts each call in `metrics` and logs one
    line for it (at INFO with `access_log`, else at DEBUG), traces it in `tracing` (a server
    span continuing the caller's `traceparent`), turns errors into
    statuses, and, except for health checking and reflection, authenticates and authorizes
    the caller. Streaming methods (health Watch, reflection) pass through untouched.

    The wrapped handler decodes the request itself, so that bytes that are not the method's
    message answer INVALID_ARGUMENT (grpcio's own decoding would answer INTERNAL).

    One interceptor rather than a chain, and each method's wrapped handler built once, not
    per call: every link and every fresh handler adds CPU to every call."""

    def __init__(
        self,
        guard: CallGuard,
        *,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        access_log: bool = False,
    ) -> None:
        self._guard = guard
        self._metrics = metrics or Metrics()
        self._tracing = tracing or Tracing()
        self._access_level = logging.INFO if access_log else logging.DEBUG
        # Keyed by method path. The handler the server finds for a path never changes once it
        # has started. Unknown methods are not kept, so callers cannot grow this.
        self._handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is None:
            handler = continuation(handler_call_details)
            if handler is None:
                return None
            if handler.unary_unary is not None:
                handler = self._wrap(method, handler)
            # Two first calls at once may both build it; either handler is right.
            self._handlers[method] = handler
        return handler

    def _wrap(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        behavior = typing.cast(Behavior, handler.unary_unary)
        guarded = self._guard.guards(method)
        deserializer = handler.request_deserializer

        def around(request: Any, context: grpc.ServicerContext) -> Any:
            return self._around(method, behavior, guarded, deserializer, request, context)

        return grpc.unary_unary_rpc_method_handler(
            around, request_deserializer=None, response_serializer=handler.response_serializer
        )

    def _around(
        self,
        method: str,
        behavior: Behavior,
        guarded: bool,
        deserializer: Deserializer | None,
        request: Any,
        context: grpc.ServicerContext,
    ) -> Any:
        metadata = dict(context.invocation_metadata())
        request_id = _request_id_of(metadata)
        context.send_initial_metadata(((REQUEST_ID_HEADER, request_id),))
        token = request_id_var.set(request_id)
        try:
            started = time.perf_counter()
            with self._tracing.rpc_span(method, metadata) as span:
                try:
                    return self._call(
                        method,
                        behavior,
                        guarded,
                        deserializer,
                        request,
                        context,
                        metadata,
                        request_id,
                    )
                finally:
                    code = self._account(method, context, started, request_id)
                    if isinstance(code, grpc.StatusCode):
                        span.finish(code.name, code.value[0])
        finally:
            request_id_var.reset(token)

    def _call(
        self,
        method: str,
        behavior: Behavior,
        guarded: bool,
        deserializer: Deserializer | None,
        request: Any,
        context: grpc.ServicerContext,
        metadata: dict[str, Any],
        request_id: str,
    ) -> Any:
        """Domain errors (authentication's too) become their rich status; anything unexpected
        becomes INTERNAL with the request id, and its stack trace goes to the log, never to
        the client."""
        try:
            if deserializer is not None:
                request = _decoded(method, deserializer, request)
            # Before the guard: authorization reads ids from the request (and the database
            # must never see a NUL).
            check_request(request)
            if not guarded:
                return behavior(request, context)
            principal = self._guard.check(method, request, metadata, context)
            token = principal_var.set(principal)
            try:
                return behavior(request, context)
            finally:
                principal_var.reset(token)
        except SundialError as error:
            context.abort_with_status(rpc_status.to_status(status_of(error)))
        except Exception:
            logger.exception("unexpected error in %s (request id %s)", method, request_id)
            context.abort_with_status(rpc_status.to_status(internal_status(request_id)))

    def _account(
        self, method: str, context: grpc.ServicerContext, started: float, request_id: str
    ) -> Any:
        """Counts the call and writes its access line: method, code, duration, request id.
        Returns the call's code (a grpc.StatusCode)."""
        seconds = time.perf_counter() - started
        # ServicerContext.code() exists at run time but not in the type stubs.
        code = typing.cast(Any, context).code() or grpc.StatusCode.OK
        code_name = code.name if isinstance(code, grpc.StatusCode) else str(code)
        self._metrics.grpc_call(method, code_name, seconds)
        if not logger.isEnabledFor(self._access_level):
            return code
        duration_ms = round(seconds * 1000, 3)
        # The text formatter appends the extra fields, as the JSON one has them as keys.
        logger.log(
            self._access_level,
            "rpc %s %s",
            method,
            code_name,
            extra={
                "method": method,
                "code": code_name,
                "duration_ms": duration_ms,
                "request_id": request_id,
            },
        )
        return code


def _decoded(method: str, deserializer: Deserializer, request: bytes) -> Any:
    try:
        return deserializer(request)
    except Exception as error:  # protobuf's DecodeError, or its nesting limit
        description = f"the request bytes are not a valid request message of {method}: {error}"
        raise InvalidArgumentError(
            [FieldViolation("request", description)], reason="UNDECODABLE_REQUEST"
        ) from None


def _request_id_of(metadata: dict[str, Any]) -> str:
    """The caller's request id if it sent a usable one, else a new one."""
    given = metadata.get(REQUEST_ID_HEADER, "")
    if isinstance(given, str) and 0 < len(given) <= MAX_REQUEST_ID_LENGTH:
        return given
    return new_id(IdPrefix.REQUEST)
