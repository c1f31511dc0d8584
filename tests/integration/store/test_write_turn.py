"""The write turn: on SQLite, one write transaction of the process at a time queues the
others in the process (not in SQLite's busy handler); PostgreSQL writers are not held."""

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork


def _turn_is_free(database: Database) -> bool:
    """Whether another thread can take the write turn now (it gives it back at once)."""
    free: list[bool] = []

    def probe() -> None:
        turn = database.write_turn
        acquire = getattr(turn, "acquire", None)
        if acquire is None:  # PostgreSQL's: nothing to hold
            free.append(True)
            return
        free.append(acquire(blocking=False))
        if free[-1]:
            turn.__exit__(None, None, None)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return free[0]


def test_a_write_unit_of_work_holds_the_turn_until_it_ends(database):
    with UnitOfWork(database, write=True) as uow:
        uow.session.execute(text("SELECT 1"))
        assert _turn_is_free(database) is (not database.is_sqlite)
        # Reentrant in its own thread, as a nested unit of work was before.
        with UnitOfWork(database, write=True) as inner:
            assert inner is not uow
    assert _turn_is_free(database)


def test_a_failed_write_unit_of_work_gives_the_turn_back(database):
    with pytest.raises(DBAPIError), UnitOfWork(database, write=True) as uow:
        uow.session.execute(text("SELECT * FROM no_such_table"))
    assert _turn_is_free(database)


def test_read_units_of_work_do_not_take_the_turn(database):
    with UnitOfWork(database, write=False) as uow:
        uow.session.execute(text("SELECT 1"))
        assert _turn_is_free(database)
