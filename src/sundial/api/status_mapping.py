"""The one place where domain errors become gRPC statuses (google.rpc.Status with an
ErrorInfo and, for bad input, a BadRequest naming every bad field)."""

import math
from datetime import timedelta

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from sundial.domain.errors import (
    ERROR_DOMAIN,
    AlreadyExistsError,
    ConflictError,
    EtagMismatchError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    SundialError,
    UnauthenticatedError,
    UnavailableError,
)

_CODES: list[tuple[type[SundialError], grpc.StatusCode]] = [
    (InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (EtagMismatchError, grpc.StatusCode.ABORTED),
    (ConflictError, grpc.StatusCode.ABORTED),
    (AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (ResourceExhaustedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (UnavailableError, grpc.StatusCode.UNAVAILABLE),
]


def status_code_of(error: SundialError) -> grpc.StatusCode:
    for error_type, code in _CODES:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.UNKNOWN


def status_of(error: SundialError) -> status_pb2.Status:
    """The rich status a client receives for `error`."""
    code = status_code_of(error)
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN))]
    if isinstance(error, InvalidArgumentError):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        details.append(_pack(bad_request))
    if isinstance(error, ResourceExhaustedError | UnavailableError):
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromTimedelta(timedelta(seconds=math.ceil(error.retry_after_seconds)))
        details.append(_pack(retry))
    return status_pb2.Status(code=code.value[0], message=error.message, details=details)


def internal_status(request_id: str) -> status_pb2.Status:
    """What a client sees of an unexpected exception: no stack trace, a request id to quote."""
    info = error_details_pb2.ErrorInfo(
        reason="INTERNAL", domain=ERROR_DOMAIN, metadata={"request_id": request_id}
    )
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"internal error; quote request id {request_id} when reporting it",
        details=[_pack(info)],
    )


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
