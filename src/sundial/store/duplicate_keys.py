"""The one database error a use case handles: a write that meets a key a concurrent
transaction wrote first (a Create's request id, a user's first sign-in). Everything else
the driver raises stays an unexpected failure."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError


class DuplicateKeyError(Exception):
    """A write met a primary key or unique constraint that a concurrent transaction had just
    written: the use case may run again and find that row."""


@contextmanager
def duplicate_keys_raised() -> Iterator[None]:
    """Raises DuplicateKeyError for a duplicate key met inside (not for other constraint
    violations, such as a foreign key's)."""
    try:
        yield
    except IntegrityError as error:
        if _is_duplicate_key(error):
            raise DuplicateKeyError(str(error.orig)) from error
        raise


def _is_duplicate_key(error: IntegrityError) -> bool:
    driver_error = error.orig
    # PostgreSQL's SQLSTATE unique_violation; sqlite3's extended result codes.
    if getattr(driver_error, "sqlstate", None) == "23505":
        return True
    return getattr(driver_error, "sqlite_errorname", "") in (
        "SQLITE_CONSTRAINT_PRIMARYKEY",
        "SQLITE_CONSTRAINT_UNIQUE",
    )
