"""Which database failures mean "the database is unavailable" (a connection that fails or
broke, a SQLite file that is gone or no longer writable), as opposed to a bad statement or a
constraint: the first become DatabaseUnavailableError, which callers may retry."""

import sqlite3

import psycopg
from sqlalchemy import exc

from sundial.domain.errors import UnavailableError

RETRY_AFTER_SECONDS = 1.0
# sqlite3 reports these as OperationalError, as it does bad SQL: told apart by the message.
_SQLITE_UNAVAILABLE = ("disk i/o error", "unable to open database", "readonly")
# PostgreSQL's SQLSTATE classes for a connection lost or refused: connection exceptions,
# and the server shutting down or not yet accepting connections.
_POSTGRES_UNAVAILABLE_PREFIXES = ("08", "57P01", "57P02", "57P03")


class DatabaseUnavailableError(UnavailableError):
    """The database cannot be read or written now (it is down, unreachable, or its file is
    no longer the one the server opened)."""

    reason = "DATABASE_UNAVAILABLE"

    def __init__(self, detail: str) -> None:
        # The detail (which may name the database's host) goes to the log, not to clients.
        super().__init__(
            "the database is unavailable; retry later", retry_after_seconds=RETRY_AFTER_SECONDS
        )
        self.detail = detail


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` (a SQLAlchemy or DB-API error) says the database is out of reach."""
    if isinstance(error, DatabaseUnavailableError):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if error.orig is not None:
            return _is_driver_unavailable(error.orig)
        return False
    return _is_driver_unavailable(error)


def _is_driver_unavailable(error: BaseException) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return any(part in message for part in _SQLITE_UNAVAILABLE)
    if isinstance(error, psycopg.OperationalError):
        # No SQLSTATE: the client itself could not connect or lost the connection.
        return error.sqlstate is None or error.sqlstate.startswith(_POSTGRES_UNAVAILABLE_PREFIXES)
    return isinstance(error, psycopg.InterfaceError)


def describe(error: BaseException) -> str:
    """A short, URL-free description of a driver error for the client and the log."""
    original = error.orig if isinstance(error, exc.DBAPIError) else error
    first_line = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"{type(original).__name__}: {first_line}" if first_line else type(original).__name__
