"""ScheduleService reads and creates against real databases: every Get reads what is
stored now (the future fire times it keeps are keyed so they can never be stale), and
racing creates with one request id make one schedule."""

import concurrent.futures
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from sundial.domain.metadata import MetadataInput
from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import AgentScheduleSpec, ScheduleInterval, ScheduleRules
from sundial.service import schedules as schedule_service
from sundial.service.firing import FiringService
from sundial.store.firing import objectives, schedules
from tests.support.tenants import MINUTE

EVERY_MINUTE = ScheduleRules(intervals=(ScheduleInterval(every=MINUTE),))


def test_get_presents_each_change_of_a_schedule_and_its_objectives(database, tenant, clock):
    schedule_id = tenant.schedule()

    def get() -> Any:
        return tenant.schedules.get(tenant.principal, tenant.workspace_id, "-", schedule_id)

    first = get()
    assert get() == first  # nothing changed
    assert first.info.recent_fires == ()

    clock.advance(MINUTE + timedelta(seconds=1))
    FiringService(database, clock).fire_due()
    fired = get()
    [recent] = fired.info.recent_fires
    assert recent.status is ObjectiveStatus.PENDING
    assert fired.info.running_objective_ids == (recent.objective_id,)
    assert fired.info.future_fire_times[0] == first.info.future_fire_times[1]

    # A worker finishes the objective: only the objectives table changes.
    with database.writer.begin() as connection:
        connection.execute(
            update(objectives)
            .where(objectives.c.id == recent.objective_id)
            .values(status="SUCCEEDED", completed_at=clock.now())
        )
    finished = get()
    assert finished.info.recent_fires[0].status is ObjectiveStatus.SUCCEEDED
    assert finished.info.running_objective_ids == ()
    assert finished.info.last_objective_status is ObjectiveStatus.SUCCEEDED

    # A change the service never makes on its own shows too: nothing decoded is kept.
    with database.writer.begin() as connection:
        connection.execute(
            update(schedules).where(schedules.c.id == schedule_id).values(name="renamed")
        )
    assert get().metadata.name == "renamed"


def test_an_edit_gives_the_next_get_its_new_etag_and_future_times(tenant, clock):
    schedule_id = tenant.schedule()
    service, principal, workspace_id = tenant.schedules, tenant.principal, tenant.workspace_id
    before = service.get(principal, workspace_id, "-", schedule_id)
    assert service.get(principal, workspace_id, "-", schedule_id) == before
    assert len(before.info.future_fire_times) == 10

    # The same rules, ending after three more fires: the pending fire stays where it was,
    # so only the etag tells the kept future times from the new ones.
    ending = replace(EVERY_MINUTE, end_time=clock.now() + 3 * MINUTE)
    service.update(
        principal,
        workspace_id,
        "-",
        schedule_id,
        MetadataInput(),
        AgentScheduleSpec(schedule=ending),
        update_mask=["spec.schedule"],
    )
    after = service.get(principal, workspace_id, "-", schedule_id)

    assert after.metadata.etag != before.metadata.etag
    assert after.info.next_nominal_at == before.info.next_nominal_at
    assert after.info.future_fire_times == before.info.future_fire_times[:3]


def _schedule_count(database) -> int:
    with database.reader.connect() as connection:
        return connection.scalar(select(func.count()).select_from(schedules))


def test_a_create_that_loses_the_race_for_its_request_id_returns_the_winners(
    database, tenant, monkeypatch
):
    spec = AgentScheduleSpec(initial_message="hello", schedule=EVERY_MINUTE)

    def create() -> Any:
        return tenant.schedules.create(
            tenant.principal,
            tenant.workspace_id,
            tenant.agent_id,
            MetadataInput(name="raced"),
            spec,
            request_id="raced-1",
        )

    winner = create()
    count = _schedule_count(database)

    # The loser checked for the request id before the winner committed it: its first
    # attempt misses the record, and its commit then meets the winner's key.
    real = schedule_service.find_replay
    missed: list[str] = []

    def find_replay_after_the_winner(uow: Any, clock: Any, key: Any) -> str | None:
        if not missed:
            missed.append(key.request_id)
            return None
        return real(uow, clock, key)

    monkeypatch.setattr(schedule_service, "find_replay", find_replay_after_the_winner)
    loser = create()

    assert missed == ["raced-1"]
    assert loser == winner
    assert _schedule_count(database) == count


def test_racing_creates_with_one_request_id_make_one_schedule(database, tenant):
    threads = 8
    spec = AgentScheduleSpec(initial_message="hello", schedule=EVERY_MINUTE)
    count = _schedule_count(database)

    def create(_: int) -> str:
        created = tenant.schedules.create(
            tenant.principal,
            tenant.workspace_id,
            tenant.agent_id,
            MetadataInput(name="burst"),
            spec,
            request_id="burst-threads",
        )
        return created.metadata.id

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        ids = set(pool.map(create, range(threads * 2)))
    assert len(ids) == 1
    assert _schedule_count(database) == count + 1
