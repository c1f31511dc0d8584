"""What `sundial` exits with (README, "Exit codes"): one table for the gRPC status codes a
client command receives, one for the domain errors an admin command meets."""

from sundial.domain.errors import (
    AlreadyExistsError,
    ConflictError,
    EtagMismatchError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SundialError,
    UnauthenticatedError,
)

OK = 0
# The server failed or could not be reached (INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, ...).
FAILED = 1
# The command line or a file given to it was wrong, or the server refused the input.
USAGE = 2
NOT_FOUND = 3
# The credentials are missing, wrong, or do not allow this.
DENIED = 4
# The resource's state stops it: etag mismatch, already exists, wrong status.
CONFLICT = 5

_BY_STATUS_CODE = {
    "INVALID_ARGUMENT": USAGE,
    "OUT_OF_RANGE": USAGE,
    "NOT_FOUND": NOT_FOUND,
    "UNAUTHENTICATED": DENIED,
    "PERMISSION_DENIED": DENIED,
    "ABORTED": CONFLICT,
    "ALREADY_EXISTS": CONFLICT,
    "FAILED_PRECONDITION": CONFLICT,
}

_BY_DOMAIN_ERROR: tuple[tuple[type[SundialError], int], ...] = (
    (InvalidArgumentError, USAGE),
    (NotFoundError, NOT_FOUND),
    (PermissionDeniedError, DENIED),
    (UnauthenticatedError, DENIED),
    (EtagMismatchError, CONFLICT),
    (ConflictError, CONFLICT),
    (AlreadyExistsError, CONFLICT),
    (FailedPreconditionError, CONFLICT),
)


def for_status_code(code: str) -> int:
    """The exit code of a call that failed with the gRPC status code named `code`."""
    return _BY_STATUS_CODE.get(code, FAILED)


def for_domain_error(error: SundialError) -> int:
    for error_type, exit_code in _BY_DOMAIN_ERROR:
        if isinstance(error, error_type):
            return exit_code
    return FAILED
