"""Server interceptors, outermost first: request id, logging, error mapping (then, in
api.auth, authentication and authorization)."""

from __future__ import annotations

import contextvars
import logging
import time
import typing
from collections.abc import Callable
from typing import Any

import grpc
from grpc_status import rpc_status

from sundial.api.errors import internal_status, status_of
from sundial.domain.errors import SundialError
from sundial.domain.ids import IdPrefix, new_id

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 128

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
logger = logging.getLogger("sundial.rpc")

Behavior = Callable[[Any, grpc.ServicerContext], Any]


class UnaryInterceptor(grpc.ServerInterceptor):
    """Wraps the behavior of unary-unary methods; streaming methods (health Watch,
    reflection) pass through untouched."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        behavior = handler.unary_unary
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: self.around(method, behavior, request, context),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def around(
        self, method: str, behavior: Behavior, request: Any, context: grpc.ServicerContext
    ) -> Any:
        raise NotImplementedError


class RequestIdInterceptor(UnaryInterceptor):
    """Takes the caller's `x-request-id` (or makes one) and echoes it in the response headers."""

    def around(
        self, method: str, behavior: Behavior, request: Any, context: grpc.ServicerContext
    ) -> Any:
        given = dict(context.invocation_metadata()).get(REQUEST_ID_HEADER, "")
        request_id = (
            given if isinstance(given, str) and 0 < len(given) <= MAX_REQUEST_ID_LENGTH else ""
        )
        request_id = request_id or new_id(IdPrefix.REQUEST)
        context.send_initial_metadata(((REQUEST_ID_HEADER, request_id),))
        token = request_id_var.set(request_id)
        try:
            return behavior(request, context)
        finally:
            request_id_var.reset(token)


class LoggingInterceptor(UnaryInterceptor):
    """One structured log line per call: method, status code, duration, request id."""

    def around(
        self, method: str, behavior: Behavior, request: Any, context: grpc.ServicerContext
    ) -> Any:
        started = time.perf_counter()
        try:
            return behavior(request, context)
        finally:
            # ServicerContext.code() exists at run time but not in the type stubs.
            code = typing.cast(Any, context).code() or grpc.StatusCode.OK
            code_name = code.name if isinstance(code, grpc.StatusCode) else str(code)
            logger.info(
                "rpc %s %s",
                method,
                code_name,
                extra={
                    "method": method,
                    "code": code_name,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "request_id": request_id_var.get(),
                },
            )


class ErrorMappingInterceptor(UnaryInterceptor):
    """Domain errors become their rich status; anything unexpected becomes INTERNAL with the
    request id, and its stack trace goes to the log, never to the client."""

    def around(
        self, method: str, behavior: Behavior, request: Any, context: grpc.ServicerContext
    ) -> Any:
        try:
            return behavior(request, context)
        except SundialError as error:
            context.abort_with_status(rpc_status.to_status(status_of(error)))
        except Exception:
            request_id = request_id_var.get()
            logger.exception("unexpected error in %s (request id %s)", method, request_id)
            context.abort_with_status(rpc_status.to_status(internal_status(request_id)))


def server_interceptors() -> list[grpc.ServerInterceptor]:
    return [RequestIdInterceptor(), LoggingInterceptor(), ErrorMappingInterceptor()]
