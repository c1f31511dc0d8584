"""Every error a statement meets reaches the database's error listeners (the metrics'
sundial_database_errors_total), by kind, on real SQLite and PostgreSQL databases."""

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from sundial.store.database import Database
from sundial.store.duplicate_keys import DuplicateKeyError
from sundial.store.errors import DatabaseUnavailableError
from sundial.store.models import IdempotencyKeyRow
from sundial.store.unit_of_work import UnitOfWork


def _key(tenant, resource_id):
    return IdempotencyKeyRow(
        workspace_id=tenant.workspace_id,
        operation="CreateAgentSchedule",
        request_id="dup-1",
        fingerprint="f",
        resource_id=resource_id,
        created_at=tenant.clock.now(),
    )


@pytest.fixture
def kinds(database):
    heard: list[str] = []
    database.add_error_listener(heard.append)
    return heard


def test_a_duplicate_key_is_a_constraint_error(database, tenant, kinds):
    with UnitOfWork(database, write=True) as uow:
        uow.session.add(_key(tenant, "sched_a"))
        uow.commit()
    assert kinds == []
    with UnitOfWork(database, write=True) as uow:
        uow.session.add(_key(tenant, "sched_b"))
        with pytest.raises((DuplicateKeyError, IntegrityError)):
            uow.commit()
    assert kinds == ["constraint"]


def test_a_bad_statement_is_another_error(database, kinds):
    with database.reader.connect() as connection, pytest.raises(DBAPIError, match="no_such_table"):
        connection.exec_driver_sql("SELECT * FROM no_such_table")
    assert kinds == ["other"]


def test_a_database_out_of_reach_is_unavailable():
    # Port 1 on the loopback: nothing listens, the connection is refused at once.
    database = Database("postgresql+psycopg://sundial:x@127.0.0.1:1/sundial")
    kinds: list[str] = []
    database.add_error_listener(kinds.append)
    try:
        with pytest.raises(DatabaseUnavailableError):
            database.ping()
    finally:
        database.dispose()
    assert kinds == ["unavailable"]
