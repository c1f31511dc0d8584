"""The Get path's read on the DB-API connection (store.snapshot) against real SQLite and
PostgreSQL databases: what the unit of work reads, exact caches, reader connections."""

import shutil
from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from sundial.domain.clock import FakeClock
from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import RecentFire
from sundial.service.firing import FiringService
from sundial.store import snapshot
from sundial.store.database import Database
from sundial.store.firing import objectives, schedules
from sundial.store.repositories import objectives as objective_reads
from sundial.store.repositories import schedules as schedule_reads
from sundial.store.unit_of_work import UnitOfWork
from tests.support.tenants import MINUTE


def _fire_twice(database: Database, clock: FakeClock) -> None:
    for _ in range(2):
        clock.advance(MINUTE + timedelta(seconds=1))
        FiringService(database, clock).fire_due()


def test_a_schedule_reads_as_the_unit_of_work_reads_it(database, tenant, clock):
    schedule_id = tenant.schedule()
    _fire_twice(database, clock)

    found = schedule_reads.read_schedule(database, tenant.workspace_id, schedule_id)
    with UnitOfWork(database, write=False) as uow:
        slow = uow.schedules.get(tenant.workspace_id, schedule_id)
        slow_facts = uow.objectives.read_time_facts([schedule_id])

    assert found is not None
    fast, fast_facts = found
    assert fast == slow
    assert fast.info.total_fires == 2
    assert fast.info.last_fire_at is not None
    assert fast.info.last_fire_at.tzinfo is UTC
    assert fast.info.created_by is not None
    assert fast_facts == slow_facts
    assert len(fast_facts.recent[schedule_id]) == 2
    assert all(fire.scheduled_time.tzinfo is UTC for fire in fast_facts.recent[schedule_id])


def _facts_from_all_objectives(database: Database, schedule_id: str) -> Any:
    """What a schedule's read-time facts must be, worked out from all its objectives."""
    with database.reader.connect() as connection:
        rows = connection.execute(
            select(objectives).where(objectives.c.schedule_id == schedule_id)
        ).all()
    newest = sorted(rows, key=lambda row: row.id, reverse=True)
    recent = [
        RecentFire(row.id, row.scheduled_time, row.created_at, ObjectiveStatus[row.status])
        for row in newest[: objective_reads.RECENT_FIRES]
    ]
    running = sorted(row.id for row in rows if row.status in ("PENDING", "RUNNING"))
    return recent, running


def test_fires_beyond_the_recent_ones_still_count_while_running(database, tenant, clock):
    schedule_id = tenant.schedule()
    other_id = tenant.schedule()
    for _ in range(objective_reads.RECENT_FIRES + 2):
        clock.advance(MINUTE + timedelta(seconds=1))
        FiringService(database, clock).fire_due()
    with database.writer.begin() as connection:  # one finished, in the middle
        [middle] = connection.execute(
            select(objectives.c.id)
            .where(objectives.c.schedule_id == schedule_id)
            .order_by(objectives.c.id)
            .offset(5)
            .limit(1)
        ).scalars()
        connection.execute(
            update(objectives).where(objectives.c.id == middle).values(status="SUCCEEDED")
        )

    found = schedule_reads.read_schedule(database, tenant.workspace_id, schedule_id)
    with UnitOfWork(database, write=False) as uow:
        listed = uow.objectives.read_time_facts([schedule_id, other_id])

    recent, running = _facts_from_all_objectives(database, schedule_id)
    assert len(recent) == objective_reads.RECENT_FIRES
    assert len(running) == objective_reads.RECENT_FIRES + 1
    assert found is not None
    for facts in (found[1], listed):
        assert facts.recent[schedule_id] == recent
        assert facts.running[schedule_id] == running
    assert listed.recent[other_id] == _facts_from_all_objectives(database, other_id)[0]


def test_rows_of_other_workspaces_and_missing_ids_are_not_read(database, tenant):
    schedule_id = tenant.schedule()
    assert schedule_reads.read_schedule(database, "ws_other", schedule_id) is None
    assert schedule_reads.read_schedule(database, tenant.workspace_id, "sch_none") is None
    found = schedule_reads.read_schedule(database, tenant.workspace_id, schedule_id)
    assert found is not None
    assert found[1].recent == {}


def test_a_row_is_decoded_once_and_again_whenever_it_changes(database, tenant, clock):
    schedule_id = tenant.schedule()

    def read() -> Any:
        found = schedule_reads.read_schedule(database, tenant.workspace_id, schedule_id)
        assert found is not None
        return found[0]

    first = read()
    assert read() is first  # nothing changed: the decoded schedule is reused

    # The engine changes runtime columns without an edit (no new revision): a new read.
    _fire_twice(database, clock)
    fired = read()
    assert fired is not first
    assert fired.info.total_fires == 2
    assert fired.metadata.etag == first.metadata.etag

    # A change the service never makes on its own still shows: the cache is keyed by the
    # whole stored row, not by what is expected to change.
    with database.writer.begin() as connection:
        connection.execute(
            update(schedules).where(schedules.c.id == schedule_id).values(name="renamed")
        )
    assert read().metadata.name == "renamed"


def _autocommit(connection: Any) -> bool:
    # sqlite3: no implicit transactions; psycopg: autocommit.
    return getattr(connection, "autocommit", None) is True or connection.isolation_level is None


def test_reader_connections_are_autocommit_reused_and_closed_on_dispose(database_url):
    database = Database(database_url)
    first = database.take_reader()
    second = database.take_reader()
    assert second is not first
    assert _autocommit(first)
    database.give_back_reader(first)
    assert database.take_reader() is first
    database.give_back_reader(first)
    database.give_back_reader(second)
    database.dispose()
    for connection in (first, second):
        with pytest.raises(Exception, match="closed"):
            connection.cursor()


def test_a_failed_read_closes_its_connection(database):
    taken = database.take_reader()
    database.give_back_reader(taken)

    # No values for the statement's parameters: KeyError on SQLite, the driver's error on
    # PostgreSQL.
    with pytest.raises(Exception, match=r"workspace_id|schedule_id"):
        snapshot.fetch(database, schedule_reads._GET, {})

    # The connection the failed read held was closed, not handed out again.
    assert database.take_reader() is not taken
    with pytest.raises(Exception, match="closed"):
        taken.cursor()


def test_a_schedules_fires_are_read_by_index_however_long_its_history(tmp_path, sqlite_template):
    # The Get's objectives come from the newest few by (schedule_id, id) and the running
    # ones by (schedule_id, status): no scan of the schedule's whole history.
    path = tmp_path / "plan.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    statement = schedule_reads._GET_WITH_FIRES["sqlite"]
    select = snapshot.prepared(statement, database.reader.dialect)
    values = select.parameters({"workspace_id": "ws_1", "schedule_id": "sched_1"})
    connection = database.take_reader()
    try:
        plan = [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + select.sql, values)]
    finally:
        database.give_back_reader(connection)
        database.dispose()
    objective_steps = [step for step in plan if "objectives" in step]
    assert len(objective_steps) == 2
    assert all(step.startswith("SEARCH objectives USING") for step in objective_steps)
    assert any("ix_objectives_schedule_id_id" in step for step in objective_steps)
    assert not any("TEMP B-TREE" in step for step in plan)


def test_an_agent_spec_is_read_alone(database, tenant):
    with UnitOfWork(database, write=False) as uow:
        spec = uow.agents.spec_of(tenant.workspace_id, tenant.agent_id)
        agent = uow.agents.get(tenant.workspace_id, tenant.agent_id)
        assert uow.agents.spec_of("ws_other", tenant.agent_id) is None
        assert uow.agents.spec_of(tenant.workspace_id, "agent_none") is None
    assert agent is not None
    assert spec == agent.spec
