"""Which database failures mean "unavailable" (retry later) and which are plain errors."""

import sqlite3

import psycopg
import pytest
from psycopg import errors as pg_errors
from sqlalchemy import exc

from sundial.store.errors import DatabaseUnavailableError, describe, is_unavailable

CASES = [
    ("sqlite disk I/O", sqlite3.OperationalError("disk I/O error"), True),
    ("sqlite cannot open", sqlite3.OperationalError("unable to open database file"), True),
    ("sqlite readonly", sqlite3.OperationalError("attempt to write a readonly database"), True),
    ("sqlite no table", sqlite3.OperationalError("no such table: agents"), False),
    ("sqlite locked", sqlite3.OperationalError("database is locked"), False),
    ("sqlite constraint", sqlite3.IntegrityError("UNIQUE constraint failed"), False),
    ("pg refused", psycopg.OperationalError("connection failed: Connection refused"), True),
    ("pg shutdown", pg_errors.AdminShutdown("terminating connection"), True),
    ("pg statement timeout", pg_errors.QueryCanceled("canceling statement"), False),
    ("pg closed", psycopg.InterfaceError("the connection is closed"), True),
    ("pg unique", pg_errors.UniqueViolation("duplicate key"), False),
    ("translated", DatabaseUnavailableError("gone"), True),
    ("other", ValueError("no"), False),
]


@pytest.mark.parametrize(("error", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_driver_errors(error, expected):
    assert is_unavailable(error) is expected
    wrapped = exc.DBAPIError.instance("SELECT 1", {}, error, Exception)
    if isinstance(error, sqlite3.Error | psycopg.Error):
        assert is_unavailable(wrapped) is expected


def test_an_invalidated_connection_is_unavailable_whatever_the_driver_said():
    wrapped = exc.DBAPIError("SELECT 1", {}, Exception("?"), connection_invalidated=True)
    assert is_unavailable(wrapped)


def test_the_client_message_does_not_name_the_database():
    error = DatabaseUnavailableError(
        describe(psycopg.OperationalError('connection to server at "db.internal" failed'))
    )
    assert "db.internal" not in error.message
    assert "db.internal" in error.detail
    assert error.retry_after_seconds > 0
