"""Rows stored before input validation refused them (absurd durations, a spec the code
cannot decode) never fail a firing pass or a worker's call for the other rows: times past
what a datetime holds are clamped to LATEST, a schedule whose fires cannot be computed is
set aside (counted, logged once) while the rest of its batch fires."""

import logging
from datetime import UTC, timedelta
from typing import Any

import pytest
from google.protobuf import duration_pb2
from sqlalchemy import select, update

from sundial.domain.clock import LATEST
from sundial.server import SundialServer
from sundial.service.firing import SET_ASIDE_FOR
from sundial.store.firing import agents as agent_rows
from sundial.store.firing import objectives as objective_rows
from sundial.store.firing import schedules
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_service_pb2 as ap
from sundial.v1 import metadata_pb2
from sundial.v1 import objective_pb2 as op
from sundial.v1 import objective_service_pb2 as ob
from tests.api.schedule_requests import create_request, schedule_spec

HOUR = timedelta(hours=1)
# 10^12 s: a timedelta holds it, a datetime plus it does not.
ABSURD = 10**12 * 1_000_000  # microseconds, as the codec stores durations
# Past what a timedelta holds at all: decoding the stored spec raises.
UNDECODABLE = 10**21


class Workspace:
    def __init__(self, server, schedules_stub, objectives_stub, workspace_id, agent, clock):
        self.server, self.schedules, self.objectives = server, schedules_stub, objectives_stub
        self.workspace_id, self.agent_id, self.clock = workspace_id, agent.metadata.id, clock

    def create(self, **spec_fields: Any) -> str:
        spec_fields.setdefault("overlap_policy", sp.OVERLAP_POLICY_ALLOW)
        spec_fields.setdefault(
            "schedule",
            sp.AgentScheduleSpecSchedule(
                intervals=[sp.ScheduleInterval(every=duration_pb2.Duration(seconds=3600))]
            ),
        )
        request = create_request(
            self.workspace_id, self.agent_id, spec=schedule_spec(**spec_fields)
        )
        schedule_id: str = self.schedules.CreateAgentSchedule(request).metadata.id
        return schedule_id

    def store_spec(self, schedule_id: str, **values: Any) -> None:
        """Changes the stored spec document past the API (and its validation)."""
        database = self.server.database
        with database.writer.begin() as connection:
            spec, revision = connection.execute(
                select(schedules.c.spec, schedules.c.revision).where(schedules.c.id == schedule_id)
            ).one()
            connection.execute(
                update(schedules)
                .where(schedules.c.id == schedule_id)
                .values(spec={**spec, **values}, revision=revision + 1)
            )

    def next_fire_at(self, schedule_id: str) -> Any:
        with self.server.database.reader.connect() as connection:
            return connection.execute(
                select(schedules.c.next_fire_at).where(schedules.c.id == schedule_id)
            ).scalar_one()

    def objectives_of(self, schedule_id: str) -> list[op.Objective]:
        response = self.objectives.ListObjectives(
            ob.ListObjectivesRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                page_size=100,
                filter=f'schedule_id = "{schedule_id}"',
            )
        )
        return list(response.objectives)

    def claim(self, count: int) -> list[op.Objective]:
        request = ob.ClaimObjectivesRequest(
            workspace_id=self.workspace_id,
            agent_id=self.agent_id,
            worker_id="w1",
            max_objectives=count,
        )
        return list(self.objectives.ClaimObjectives(request).objectives)


@pytest.fixture
def workspace(server, schedules, objectives, workspace_id, agent, clock):
    return Workspace(server, schedules, objectives, workspace_id, agent, clock)


def _warnings(caplog: pytest.LogCaptureFixture, schedule_id: str) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.levelno == logging.WARNING and schedule_id in r.getMessage()
    ]


def test_an_absurd_catchup_window_neither_fails_planning_ahead_nor_the_pass(workspace):
    server: SundialServer = workspace.server
    poisoned, healthy = workspace.create(), workspace.create()
    workspace.store_spec(poisoned, catchup_window=ABSURD)
    workspace.clock.advance(HOUR)
    # The idle loop plans the next batch ahead: the catch-up end is clamped, not overflowing.
    assert server.firing.earliest_due() is not None
    result = server.firing.fire_due()
    assert (result.created, result.set_aside) == (2, 0)
    assert len(workspace.objectives_of(poisoned)) == len(workspace.objectives_of(healthy)) == 1


def test_a_schedule_that_cannot_be_fired_is_set_aside_and_logged_once(workspace, caplog):
    server: SundialServer = workspace.server
    poisoned, healthy = workspace.create(), workspace.create()
    workspace.store_spec(poisoned, catchup_window=UNDECODABLE)
    workspace.clock.advance(HOUR)
    caplog.set_level(logging.WARNING, logger="sundial.engine")

    assert server.firing.earliest_due() is not None  # planning ahead leaves it to the batch
    result = server.firing.fire_due()

    assert (result.schedules, result.created, result.set_aside) == (2, 1, 1)
    assert workspace.objectives_of(poisoned) == []
    assert len(workspace.objectives_of(healthy)) == 1
    assert workspace.next_fire_at(poisoned) == workspace.clock.now() + SET_ASIDE_FOR
    # Tried again when it is due again, and again at every later pass: logged only once.
    workspace.clock.advance(SET_ASIDE_FOR)
    server.engine.run_pass()
    workspace.clock.advance(HOUR)
    server.engine.run_pass()
    assert len(workspace.objectives_of(healthy)) == 2
    assert workspace.objectives_of(poisoned) == []
    assert server.firing.schedules_set_aside == 3
    [warning] = _warnings(caplog, poisoned)
    assert "set aside" in warning.getMessage()
    assert warning.exc_info is None  # one line, no traceback


def test_an_absurd_execution_timeout_does_not_fail_the_agents_claims(workspace):
    poisoned, healthy = workspace.create(), workspace.create()
    workspace.store_spec(poisoned, execution_timeout=315_576_000_000 * 1_000_000)
    workspace.clock.advance(HOUR)
    workspace.server.engine.run_pass()

    claimed = workspace.claim(2)

    assert len(claimed) == 2
    deadlines = {
        o.spec.schedule_id: o.info.deadline.ToDatetime(tzinfo=UTC)
        if o.info.HasField("deadline")
        else None
        for o in claimed
    }
    assert deadlines == {poisoned: LATEST, healthy: None}


def test_an_absurd_retry_backoff_does_not_fail_the_failure(workspace):
    poisoned = workspace.create(
        retry_policy=sp.RetryPolicy(
            max_attempts=3, initial_backoff=duration_pb2.Duration(seconds=1)
        )
    )
    workspace.store_spec(
        poisoned,
        retry_policy={
            "max_attempts": 3,
            "initial_backoff": ABSURD,
            "max_backoff": ABSURD,
            "backoff_multiplier": 1e308,
        },
    )
    workspace.clock.advance(HOUR)
    workspace.server.engine.run_pass()
    [first] = workspace.claim(1)

    workspace.objectives.FailObjective(
        ob.FailObjectiveRequest(
            workspace_id=workspace.workspace_id,
            agent_id=workspace.agent_id,
            objective_id=first.metadata.id,
            worker_id="w1",
            error="boom",
            retryable=True,
        )
    )

    retries = [o for o in workspace.objectives_of(poisoned) if o.info.retry_of]
    [retry] = retries
    assert retry.info.available_at.ToDatetime(tzinfo=UTC) == LATEST


def test_a_schedule_that_cannot_be_read_does_not_fail_the_agents_claims(workspace):
    poisoned, healthy = workspace.create(), workspace.create()
    workspace.clock.advance(HOUR)
    workspace.server.engine.run_pass()
    workspace.store_spec(poisoned, execution_timeout=UNDECODABLE)

    claimed = workspace.claim(2)

    assert {o.spec.schedule_id for o in claimed} == {poisoned, healthy}


def test_an_agent_that_cannot_be_read_sets_aside_only_its_own_schedules(
    workspace, agents: Any, caplog
):
    server: SundialServer = workspace.server
    healthy = workspace.create()
    other = agents.CreateAgent(
        ap.CreateAgentRequest(
            workspace_id=workspace.workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="unreadable"),
        )
    )
    workspace.agent_id = other.metadata.id
    poisoned = workspace.create()
    with server.database.writer.begin() as connection:
        connection.execute(
            update(agent_rows)
            .where(agent_rows.c.id == other.metadata.id)
            .values(spec={"variations": 5})
        )
    workspace.clock.advance(HOUR)
    caplog.set_level(logging.WARNING, logger="sundial.engine")

    result = server.firing.fire_due()

    assert (result.created, result.set_aside) == (1, 1)
    with server.database.reader.connect() as connection:
        fired = connection.execute(select(objective_rows.c.schedule_id)).scalars().all()
    assert fired == [healthy]
    [warning] = _warnings(caplog, poisoned)
    assert "TypeError" in warning.getMessage()
    assert healthy not in warning.getMessage()
