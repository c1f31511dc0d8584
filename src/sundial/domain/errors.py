"""Domain errors. Each names what was wrong and with which value; `api.status_mapping` maps them
to gRPC status codes in exactly one place."""

from dataclasses import dataclass

# The `domain` of every google.rpc.ErrorInfo that Sundial sends, over gRPC and REST (AIP-193).
ERROR_DOMAIN = "sundial.dev"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field: its path in the request (`spec.schedule.calendars[0].hour[0].end`)."""

    field: str
    description: str


class SundialError(Exception):
    """Base of every error the service reports to a client."""

    reason: str = "ERROR"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidArgumentError(SundialError, ValueError):
    """The request is malformed; `violations` names every bad field."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], *, reason: str | None = None) -> None:
        fields = ", ".join(v.field for v in violations)
        summary = violations[0].description if len(violations) == 1 else "invalid fields"
        super().__init__(f"{summary} ({fields})", reason=reason)
        self.violations = violations

    @classmethod
    def single(cls, field: str, description: str) -> "InvalidArgumentError":
        return cls([FieldViolation(field, description)])


class NotFoundError(SundialError, LookupError):
    """A resource does not exist (or is not visible to the caller)."""

    reason = "NOT_FOUND"

    def __init__(self, kind: str, resource_id: str) -> None:
        super().__init__(
            f"{kind} {resource_id!r} was not found", reason=f"{kind.upper()}_NOT_FOUND"
        )
        self.kind = kind
        self.resource_id = resource_id


class EtagMismatchError(SundialError):
    """The caller's etag is stale: someone changed the resource since it was read."""

    reason = "ETAG_MISMATCH"

    def __init__(self, resource_id: str, given: str) -> None:
        super().__init__(
            f"etag {given!r} does not match the current version of {resource_id!r}; "
            "read it again and retry"
        )


class ConflictError(SundialError):
    """A concurrent change won the race (ABORTED); retrying may succeed."""

    reason = "CONFLICT"


class AlreadyExistsError(SundialError):
    """The resource (or the idempotency key) already exists with other content."""

    reason = "ALREADY_EXISTS"


class FailedPreconditionError(SundialError):
    """The request is valid but the resource is not in a state that allows it."""

    reason = "FAILED_PRECONDITION"


class PermissionDeniedError(SundialError):
    """The caller may not do this."""

    reason = "PERMISSION_DENIED"


class UnauthenticatedError(SundialError):
    """The caller did not prove who it is."""

    reason = "UNAUTHENTICATED"


class ResourceExhaustedError(SundialError):
    """The caller is over a limit; it may try again after `retry_after_seconds`."""

    reason = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, *, retry_after_seconds: float, reason: str | None = None):
        super().__init__(message, reason=reason)
        self.retry_after_seconds = retry_after_seconds


class UnavailableError(SundialError):
    """A dependency (the database) cannot be reached for now; the same call may succeed
    after `retry_after_seconds`."""

    reason = "UNAVAILABLE"

    def __init__(self, message: str, *, retry_after_seconds: float, reason: str | None = None):
        super().__init__(message, reason=reason)
        self.retry_after_seconds = retry_after_seconds
