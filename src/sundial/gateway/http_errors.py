"""Errors the gateway itself reports (bad URL, query or body), and the one mapping from gRPC
status codes to HTTP statuses (grpc-gateway's, after google/rpc/code.proto)."""

import math

from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from sundial.domain.errors import ERROR_DOMAIN

HTTP_STATUS_OF_CODE: dict[int, int] = {
    code_pb2.OK: 200,
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
    code_pb2.UNAUTHENTICATED: 401,
}


def http_status_of(code: int) -> int:
    """The HTTP status for a google.rpc.Code value; unknown codes are 500."""
    return HTTP_STATUS_OF_CODE.get(code, 500)


# Seconds a client is told to wait on UNAVAILABLE when the status carries no RetryInfo.
DEFAULT_RETRY_AFTER_SECONDS = 1
_RETRY_CODES = (code_pb2.UNAVAILABLE, code_pb2.RESOURCE_EXHAUSTED)


def retry_after_of(status: status_pb2.Status) -> str | None:
    """The `Retry-After` header (whole seconds, RFC 9110) for a status a client should retry
    later (503, 429): its RetryInfo's delay rounded up, or a default for UNAVAILABLE."""
    if status.code not in _RETRY_CODES:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            return str(max(1, math.ceil(retry.retry_delay.ToTimedelta().total_seconds())))
    if status.code == code_pb2.UNAVAILABLE:
        return str(DEFAULT_RETRY_AFTER_SECONDS)
    return None


class GatewayError(Exception):
    """A request the gateway rejects before any RPC: rendered as a google.rpc.Status."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        field: str = "",
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.field = field
        self.http_status = http_status if http_status is not None else http_status_of(code)
        self.headers = headers or {}

    def status(self) -> status_pb2.Status:
        info = error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN)
        details = [_pack(info)]
        if self.field:
            violation = error_details_pb2.BadRequest.FieldViolation(
                field=self.field, description=self.message
            )
            details.append(_pack(error_details_pb2.BadRequest(field_violations=[violation])))
        return status_pb2.Status(code=self.code, message=self.message, details=details)


class BadRequestError(GatewayError):
    """Malformed input (400, INVALID_ARGUMENT), naming the field when there is one."""

    def __init__(self, reason: str, message: str, *, field: str = "") -> None:
        super().__init__(code_pb2.INVALID_ARGUMENT, reason, message, field=field)


def _pack(message: error_details_pb2.ErrorInfo | error_details_pb2.BadRequest) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
