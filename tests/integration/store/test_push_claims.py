"""The objectives repository's claim of PUSH agents' objectives on both databases: only
PUSH agents' PENDING objectives that are available now, oldest first; and on PostgreSQL a
row one claimer holds is skipped by the others (SKIP LOCKED)."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from sundial.domain.agents import AgentSpec
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import AgentScheduleSpec, ScheduleInterval, ScheduleRules
from sundial.store.unit_of_work import UnitOfWork
from tests.support.push_agents import PushWorld


@pytest.fixture
def world(database, clock) -> Iterator[PushWorld]:
    made = PushWorld(database, clock, "https://agent.example.com/run")
    yield made
    made.close()


def _pull_objective(world: PushWorld) -> str:
    pull = world.agents.create(
        world.principal, world.workspace_id, MetadataInput(name="pull"), AgentSpec()
    )
    schedule = world.schedules.create(
        world.principal,
        world.workspace_id,
        pull.metadata.id,
        MetadataInput(name="p"),
        AgentScheduleSpec(
            initial_message="m",
            schedule=ScheduleRules(intervals=(ScheduleInterval(every=timedelta(hours=1)),)),
        ),
    )
    objective = world.triggers.trigger(
        world.principal, world.workspace_id, pull.metadata.id, schedule.metadata.id
    )
    return objective.metadata.id


def test_only_push_agents_available_pending_objectives_are_claimable(world, database, clock):
    schedule_id = world.schedule()
    first, second = world.trigger(schedule_id), world.trigger(schedule_id)
    _pull_objective(world)
    with UnitOfWork(database, write=False) as uow:
        before = uow.objectives.any_claimable_push(clock.now() - timedelta(seconds=1))
        now = clock.now()
        assert uow.objectives.any_claimable_push(now)
        found = [o.metadata.id for o in uow.objectives.claimable_pushes(now, 10)]
        secret = uow.agents.push_secret_of(world.agent_id)
    assert not before  # not yet available then
    assert found == [first.metadata.id, second.metadata.id]
    assert secret == world.secret


def test_a_push_objective_one_claimer_holds_is_skipped_by_another(world, database, clock):
    schedule_id = world.schedule()
    first, second = world.trigger(schedule_id), world.trigger(schedule_id)
    with UnitOfWork(database, write=True) as holder:
        held = [o.metadata.id for o in holder.objectives.claimable_pushes(clock.now(), 1)]
        assert held == [first.metadata.id]
        if database.dialect == "postgresql":
            with UnitOfWork(database, write=True) as other:
                rest = other.objectives.claimable_pushes(clock.now(), 10)
            assert [o.metadata.id for o in rest] == [second.metadata.id]
