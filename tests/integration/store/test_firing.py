"""The firing engine's SQL against real SQLite and PostgreSQL: the rows its fast write path
stores are the rows Core would store, each fire time is written once, a batch is one
transaction, and the times it reads back are the stored instants in UTC."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sundial.domain.schedules import OverlapPolicy
from sundial.service import firing as firing_service
from sundial.service.firing import FiringService
from sundial.store.database import Database
from sundial.store.firing import (
    FiringRepository,
    NewFire,
    ScheduleAdvance,
    new_objective_row,
    objective_spec_of,
    objectives,
    schedules,
)
from tests.support.tenants import START

MINUTE = timedelta(minutes=1)


def _schedule_row(database: Database, schedule_id: str) -> dict[str, Any]:
    with database.reader.connect() as connection:
        row = connection.execute(select(schedules).where(schedules.c.id == schedule_id)).one()
    return dict(row._mapping)


def _objective_rows(database: Database, schedule_id: str) -> list[dict[str, Any]]:
    with database.reader.connect() as connection:
        rows = connection.execute(
            select(objectives)
            .where(objectives.c.schedule_id == schedule_id)
            .order_by(objectives.c.scheduled_time)
        )
        return [dict(row._mapping) for row in rows]


def test_a_fire_stores_the_row_core_would_store(database, tenant, clock):
    schedule_id = tenant.schedule()
    before = _schedule_row(database, schedule_id)
    due = before["next_fire_at"]
    clock.set(due + timedelta(seconds=1, microseconds=7))
    now = clock.now()

    result = FiringService(database, clock).fire_due()

    assert (result.schedules, result.created) == (1, 1)
    [stored] = _objective_rows(database, schedule_id)
    expected = new_objective_row(
        objective_id=stored["id"],
        account_id=before["account_id"],
        workspace_id=before["workspace_id"],
        agent_id=before["agent_id"],
        schedule_id=schedule_id,
        profile_id=before["profile_id"],
        scheduled_time=due,
        trigger_kind="SCHEDULED",
        status="PENDING",
        spec=objective_spec_of(before["spec"]),
        now=now,
    )
    assert stored == expected
    assert stored["scheduled_time"].tzinfo is UTC
    after = _schedule_row(database, schedule_id)
    assert after["next_nominal_at"] == after["next_fire_at"] == due + MINUTE
    assert (after["total_fires"], after["scheduled_fires"]) == (1, 1)
    assert (after["missed_fires"], after["skipped_fires"]) == (0, 0)
    assert after["last_fire_at"] == now
    assert after["last_objective_id"] == stored["id"]
    assert (after["last_skipped_at"], after["last_skip_reason"]) == (None, "")


def test_each_fire_time_is_written_once(database, tenant, clock):
    schedule_id = tenant.schedule()
    due = _schedule_row(database, schedule_id)["next_fire_at"]
    clock.set(due)
    service = FiringService(database, clock)
    assert service.fire_due().created == 1
    assert service.fire_due().created == 0

    # The same fire again, under a new objective id: the unique fire key leaves it out.
    with database.writer.begin() as connection:
        repository = FiringRepository(connection)
        [row] = [r for r in repository.lock_due(due + MINUTE, 10) if r.id == schedule_id]
        fire = NewFire("obj_again", row, due, "PENDING", "{}")
        repository.insert_fires([fire], clock.now())
    assert [r["id"] for r in _objective_rows(database, schedule_id)] != ["obj_again"]
    assert len(_objective_rows(database, schedule_id)) == 1


def test_a_catch_up_pass_writes_each_missed_time_once(database, tenant, clock):
    schedule_id = tenant.schedule()
    due = _schedule_row(database, schedule_id)["next_fire_at"]
    clock.set(due + 4 * MINUTE + timedelta(seconds=30))
    service = FiringService(database, clock)
    assert service.fire_due().created == 5
    times = [row["scheduled_time"] for row in _objective_rows(database, schedule_id)]
    assert times == [due + n * MINUTE for n in range(5)]
    after = _schedule_row(database, schedule_id)
    assert after["next_fire_at"] == due + 5 * MINUTE
    assert after["total_fires"] == after["scheduled_fires"] == 5
    assert service.fire_due().created == 0


def test_fires_superseded_within_a_pass_are_stored_cancelled(database, tenant, clock):
    schedule_id = tenant.schedule(OverlapPolicy.CANCEL_OTHER)
    due = _schedule_row(database, schedule_id)["next_fire_at"]
    clock.set(due + 2 * MINUTE)
    FiringService(database, clock).fire_due()
    rows = _objective_rows(database, schedule_id)
    assert [row["status"] for row in rows] == ["CANCELLED", "CANCELLED", "PENDING"]
    assert [row["completed_at"] for row in rows] == [clock.now(), clock.now(), None]


def test_a_newer_fire_cancels_the_one_in_flight(database, tenant, clock):
    schedule_id = tenant.schedule(OverlapPolicy.CANCEL_OTHER)
    due = _schedule_row(database, schedule_id)["next_fire_at"]
    service = FiringService(database, clock)
    clock.set(due)
    service.fire_due()
    clock.set(due + MINUTE)
    service.fire_due()
    rows = _objective_rows(database, schedule_id)
    assert [row["status"] for row in rows] == ["CANCELLED", "PENDING"]
    assert rows[0]["completed_at"] == clock.now()


def test_overlap_skips_and_buffers_are_counted(database, tenant, clock):
    skipping = tenant.schedule(OverlapPolicy.SKIP)
    buffering = tenant.schedule(OverlapPolicy.BUFFER_ONE)
    due = _schedule_row(database, skipping)["next_fire_at"]
    service = FiringService(database, clock)
    clock.set(due)
    service.fire_due()
    first_fire = clock.now()
    clock.set(due + MINUTE)
    service.fire_due()

    skipped = _schedule_row(database, skipping)
    assert (skipped["total_fires"], skipped["skipped_fires"]) == (1, 1)
    assert skipped["last_skipped_at"] == clock.now()
    assert skipped["last_skip_reason"] == "previous objective still in flight"
    # A pass that only skipped keeps the last fire as it was.
    assert skipped["last_fire_at"] == first_fire
    assert skipped["last_objective_id"] == _objective_rows(database, skipping)[0]["id"]
    assert [row["status"] for row in _objective_rows(database, buffering)] == [
        "PENDING",
        "BUFFERED",
    ]


def test_advance_leaves_unset_last_values_alone(database, tenant, clock):
    schedule_id = tenant.schedule()
    row = _schedule_row(database, schedule_id)
    later = START + timedelta(hours=1)
    with database.writer.begin() as connection:
        FiringRepository(connection).advance(
            [
                ScheduleAdvance(
                    id=schedule_id,
                    next_nominal_at=None,
                    next_fire_at=None,
                    scheduled_fires=3,
                    fired=0,
                    missed=2,
                    skipped=0,
                    skip_reason="",
                    last_fire_at=None,
                    last_objective_id="",
                )
            ],
            later,
        )
    after = _schedule_row(database, schedule_id)
    assert (after["next_fire_at"], after["next_nominal_at"]) == (None, None)
    assert (after["scheduled_fires"], after["missed_fires"]) == (3, 2)
    for column in ("last_fire_at", "last_objective_id", "last_skipped_at", "last_skip_reason"):
        assert after[column] == row[column]


def test_a_failed_batch_writes_nothing(database, tenant, clock, monkeypatch):
    schedule_id = tenant.schedule()
    before = _schedule_row(database, schedule_id)
    clock.set(before["next_fire_at"])

    def fail(self: FiringRepository, advances: Any, now: datetime) -> None:
        raise RuntimeError("crash between the insert and the advance")

    monkeypatch.setattr(FiringRepository, "advance", fail)
    with pytest.raises(RuntimeError, match="crash"):
        FiringService(database, clock).fire_due()
    assert _objective_rows(database, schedule_id) == []
    assert _schedule_row(database, schedule_id) == before


def test_lock_due_reads_the_earliest_as_stored_utc_instants(database, tenant, clock):
    ids = [tenant.schedule() for _ in range(3)]
    # Spread their next fires apart and out of creation order.
    moments = [START + timedelta(minutes=3), START + timedelta(minutes=1, microseconds=5), START]
    with database.writer.begin() as connection:
        for schedule_id, moment in zip(ids, moments, strict=True):
            connection.execute(
                schedules.update()
                .where(schedules.c.id == schedule_id)
                .values(next_fire_at=moment, next_nominal_at=moment - timedelta(seconds=1))
            )
    with database.writer.begin() as connection:
        due = FiringRepository(connection).lock_due(START + timedelta(minutes=2), 2)
    assert [row.id for row in due] == [ids[2], ids[1]]
    assert [row.next_fire_at for row in due] == [moments[2], moments[1]]
    assert all(row.next_fire_at.tzinfo is UTC and row.next_nominal_at.tzinfo is UTC for row in due)
    assert due[1].next_nominal_at == moments[1] - timedelta(seconds=1)


def _planned_ahead(service: FiringService) -> set[str]:
    return set(service._ahead)


def test_a_batch_planned_ahead_writes_what_it_would_have_planned(
    database, tenant, clock, monkeypatch
):
    first, second = tenant.schedule(), tenant.schedule()
    service = FiringService(database, clock)
    due = service.earliest_due()
    assert due == _schedule_row(database, first)["next_fire_at"]
    assert _planned_ahead(service) == {first, second}

    def no_planning(*args: Any) -> None:
        raise AssertionError("the batch planned a schedule that was planned ahead")

    monkeypatch.setattr(firing_service, "_plan", no_planning)
    clock.set(due + timedelta(milliseconds=3))
    assert service.fire_due().created == 2
    monkeypatch.undo()
    for schedule_id in (first, second):
        [stored] = _objective_rows(database, schedule_id)
        assert (stored["scheduled_time"], stored["created_at"]) == (due, clock.now())
        after = _schedule_row(database, schedule_id)
        assert after["next_fire_at"] == due + MINUTE
        assert (after["last_fire_at"], after["last_objective_id"]) == (clock.now(), stored["id"])
    # A plan is used once: the next batch plans for itself.
    assert _planned_ahead(service) == set()
    assert service.fire_due().created == 0


def test_a_plan_made_ahead_is_dropped_when_the_row_changed(database, tenant, clock):
    schedule_id = tenant.schedule()
    service = FiringService(database, clock)
    due = service.earliest_due()
    assert _planned_ahead(service) == {schedule_id}
    # Edited after the plan: the next fire moved 30 s on.
    with database.writer.begin() as connection:
        connection.execute(
            schedules.update()
            .where(schedules.c.id == schedule_id)
            .values(
                next_fire_at=due + timedelta(seconds=30),
                next_nominal_at=due + timedelta(seconds=30),
                revision=schedules.c.revision + 1,
            )
        )
    clock.set(due)
    assert service.fire_due().created == 0
    assert service.earliest_due() == due + timedelta(seconds=30)
    clock.set(due + timedelta(seconds=30))
    assert service.fire_due().created == 1
    [stored] = _objective_rows(database, schedule_id)
    assert stored["scheduled_time"] == due + timedelta(seconds=30)


def test_a_plan_made_ahead_is_redone_when_more_fires_fell_due(database, tenant, clock):
    schedule_id = tenant.schedule()
    service = FiringService(database, clock)
    due = service.earliest_due()
    assert due is not None
    clock.set(due + 2 * MINUTE + timedelta(seconds=1))
    assert service.fire_due().created == 3
    times = [row["scheduled_time"] for row in _objective_rows(database, schedule_id)]
    assert times == [due, due + MINUTE, due + 2 * MINUTE]


def test_a_plan_made_ahead_is_redone_when_a_fire_left_the_catch_up_window(database, tenant, clock):
    schedule_id = tenant.schedule(catchup_window=timedelta(seconds=30))
    service = FiringService(database, clock)
    due = service.earliest_due()
    assert due is not None
    assert _planned_ahead(service) == {schedule_id}
    clock.set(due + timedelta(seconds=45))
    assert service.fire_due().created == 0
    after = _schedule_row(database, schedule_id)
    assert (after["missed_fires"], after["total_fires"]) == (1, 0)
    assert after["next_fire_at"] == due + MINUTE


def test_only_allow_schedules_are_planned_ahead(database, tenant, clock):
    allowing = tenant.schedule(OverlapPolicy.ALLOW)
    tenant.schedule(OverlapPolicy.SKIP)
    tenant.schedule(OverlapPolicy.CANCEL_OTHER)
    service = FiringService(database, clock)
    service.earliest_due()
    assert _planned_ahead(service) == {allowing}
