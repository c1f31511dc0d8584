"""What a Get reads, through the unit of work and the repositories, against real SQLite and
PostgreSQL databases: the schedule with its creator, its read-time facts, its agent's spec."""

import shutil
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select, update

from sundial.domain.clock import FakeClock
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.metadata import MetadataInput
from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import (
    AgentScheduleSpec,
    RecentFire,
    RetryPolicy,
    ScheduleInterval,
    ScheduleRules,
    ScheduleStatus,
)
from sundial.service.firing import FiringService
from sundial.service.schedule_drafts import draft_schedule
from sundial.store.database import Database
from sundial.store.firing import objectives
from sundial.store.repositories import objectives as objective_reads
from sundial.store.repositories.schedules import new_schedules
from sundial.store.unit_of_work import UnitOfWork
from tests.support.tenants import MINUTE


def _fire(database: Database, clock: FakeClock, times: int) -> None:
    for _ in range(times):
        clock.advance(MINUTE + timedelta(seconds=1))
        FiringService(database, clock).fire_due()


def test_a_schedule_reads_with_its_creator_and_utc_times(database, tenant, clock):
    schedule_id = tenant.schedule()
    _fire(database, clock, 2)

    with UnitOfWork(database, write=False) as uow:
        schedule = uow.schedules.get(tenant.workspace_id, schedule_id)
        facts = uow.objectives.read_time_facts([schedule_id])

    assert schedule is not None
    assert schedule.info.total_fires == 2
    assert schedule.info.last_fire_at is not None
    assert schedule.info.last_fire_at.tzinfo is UTC
    assert schedule.info.created_by is not None
    assert schedule.info.created_by.metadata.id == tenant.principal.profile_id
    assert len(facts.recent[schedule_id]) == 2
    assert all(fire.scheduled_time.tzinfo is UTC for fire in facts.recent[schedule_id])


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
    _fire(database, clock, objective_reads.RECENT_FIRES + 2)
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

    with UnitOfWork(database, write=False) as uow:
        facts = uow.objectives.read_time_facts([schedule_id, other_id])

    recent, running = _facts_from_all_objectives(database, schedule_id)
    assert len(recent) == objective_reads.RECENT_FIRES
    assert len(running) == objective_reads.RECENT_FIRES + 1
    assert facts.recent[schedule_id] == recent
    assert facts.running[schedule_id] == running
    assert facts.recent[other_id] == _facts_from_all_objectives(database, other_id)[0]


def test_rows_of_other_workspaces_and_missing_ids_are_not_read(database, tenant):
    schedule_id = tenant.schedule()
    with UnitOfWork(database, write=False) as uow:
        assert uow.schedules.get("ws_other", schedule_id) is None
        assert uow.schedules.get(tenant.workspace_id, "sch_none") is None
        assert uow.schedules.get(tenant.workspace_id, schedule_id) is not None
        assert uow.objectives.read_time_facts([schedule_id]).recent == {}


def test_a_schedules_fires_are_read_by_index_however_long_its_history(tmp_path, sqlite_template):
    # The newest few objectives come by (schedule_id, id) and the running ones by
    # (schedule_id, status): no scan of the schedule's whole history.
    path = tmp_path / "plan.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    statement = objective_reads.FIRES_OF_ONE["sqlite"].params(schedule_id="sched_1")
    try:
        with database.reader.connect() as connection:
            sql = statement.compile(
                dialect=connection.dialect, compile_kwargs={"literal_binds": True}
            ).string
            plan = [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    finally:
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


def test_what_add_many_returns_is_what_a_read_of_the_rows_gives(database, tenant, clock):
    """add_many builds what it returns from the schedules it was given (it does not decode
    the rows again): that must equal a read, on every field a read gives."""
    specs = [
        AgentScheduleSpec(
            initial_message="hello",
            data={"nested": {"list": [1, 2.5, None, "x"]}},
            schedule=ScheduleRules(
                intervals=(ScheduleInterval(every=MINUTE, offset=timedelta(seconds=7)),),
                timezone="Europe/Berlin",
                jitter=timedelta(seconds=5),
            ),
            catchup_window=timedelta(hours=2),
            retry_policy=RetryPolicy(max_attempts=3, initial_backoff=timedelta(seconds=1)),
            max_fires=4,
            notes="n",
        ),
        AgentScheduleSpec(
            initial_message="paused",
            schedule=ScheduleRules(intervals=(ScheduleInterval(every=MINUTE),)),
            status=ScheduleStatus.PAUSED,
        ),
    ]
    drafts = [
        draft_schedule(
            tenant.principal,
            tenant.workspace_id,
            tenant.agent_id,
            MetadataInput(name=f"s{i}", bundle_key="b", external_id=f"e{i}", labels={"k": "v"}),
            spec,
            schedule_id=new_id(IdPrefix.SCHEDULE),
            now=clock.now(),
            min_interval=timedelta(seconds=1),
        )
        for i, spec in enumerate(specs)
    ]
    with UnitOfWork(database, write=True) as uow:
        creator = uow.tenancy.get_profile(tenant.principal.account_id, tenant.principal.profile_id)
        added = uow.schedules.add_many(
            new_schedules([(d.schedule, d.next_fire) for d in drafts]), creator
        )
        uow.commit()
    with UnitOfWork(database, write=False) as uow:
        read = uow.schedules.get_many(tenant.workspace_id, [s.metadata.id for s in added])
        by_get = [uow.schedules.get(tenant.workspace_id, s.metadata.id) for s in added]
    assert read == by_get
    assert added == read
    assert [s.info.remaining_fires for s in added] == [4, None]
    assert added[1].info.next_fire_at is None
    assert added[0].metadata.etag
    assert added[0].metadata.updated_at == added[0].metadata.created_at
