"""One workspace's history on a fake clock, made over gRPC, that the insight tests (gRPC and
REST) read with exact expected numbers.

START is Monday 2026-03-02 12:00 UTC. Schedules: `hourly` (ACTIVE, cron `0 * * * *`,
ALLOW), `daily` (ACTIVE, cron `0 9 * * *`), `paused` (PAUSED). Then:
- 13:00:05 the engine fires hourly's 13:00 (lag 5s): `first`, claimed, completed at 13:00:35
  with output {"score": 1, "tags": ["a"]} (30s);
- 14:00:10 it fires 14:00 (lag 10s): `second`, claimed, failed at 14:01:40 (90s);
- 14:01:40 a manual trigger: `manual` (PENDING); then an engine pass (nothing due).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import duration_pb2, json_format, struct_pb2

from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.v1 import (
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
)

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 14, 1, 40, tzinfo=UTC)
sp = agent_schedule_pb2
sv = agent_schedule_service_pb2
ob = objective_service_pb2


@dataclass(frozen=True)
class Scenario:
    workspace_id: str
    agent_id: str
    hourly_id: str
    daily_id: str
    paused_id: str
    first_id: str
    second_id: str
    manual_id: str


class Actor:
    """Calls the server as the tests' user and worker."""

    def __init__(self, server: SundialServer, clock: FakeClock, channel: grpc.Channel) -> None:
        self.server = server
        self.clock = clock
        self.workspace_id = server.bootstrap.default_workspace.id
        self.agents = agent_service_pb2_grpc.AgentServiceStub(channel)
        self.schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
        self.objectives = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
        self.agent_id = self.agents.CreateAgent(
            agent_service_pb2.CreateAgentRequest(
                workspace_id=self.workspace_id,
                metadata=metadata_pb2.CreateResourceMetadata(name="helper"),
            )
        ).metadata.id

    def create(self, name: str, cron: str, **spec: object) -> str:
        spec.setdefault("overlap_policy", sp.OVERLAP_POLICY_ALLOW)
        return self.schedules.CreateAgentSchedule(
            sv.CreateAgentScheduleRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                metadata=metadata_pb2.CreateResourceMetadata(name=name),
                spec=sp.AgentScheduleSpec(
                    initial_message="go",
                    schedule=sp.AgentScheduleSpecSchedule(cron_expressions=[cron]),
                    **spec,
                ),
            )
        ).metadata.id

    def at(self, moment: datetime) -> None:
        self.clock.advance(moment - self.clock.now())

    def fire(self, moment: datetime) -> None:
        self.at(moment)
        self.server.engine.run_pass()

    def trigger(self, schedule_id: str) -> str:
        return self.schedules.TriggerAgentSchedule(
            sv.TriggerAgentScheduleRequest(
                workspace_id=self.workspace_id, agent_id=self.agent_id, schedule_id=schedule_id
            )
        ).metadata.id

    def claim(self, expected: str) -> None:
        claimed = self.objectives.ClaimObjectives(
            ob.ClaimObjectivesRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                worker_id="w1",
                max_objectives=1,
                lease_duration=duration_pb2.Duration(seconds=600),
            )
        ).objectives
        assert [o.metadata.id for o in claimed] == [expected]

    def complete(self, objective_id: str, output: object) -> None:
        value = json_format.ParseDict(output, struct_pb2.Value())
        self.objectives.CompleteObjective(
            ob.CompleteObjectiveRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                objective_id=objective_id,
                worker_id="w1",
                output=value,
            )
        )

    def fail(self, objective_id: str, *, retryable: bool = False) -> None:
        self.objectives.FailObjective(
            ob.FailObjectiveRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                objective_id=objective_id,
                worker_id="w1",
                error="broke",
                retryable=retryable,
            )
        )

    def newest_objective(self, schedule_id: str) -> str:
        listed = self.objectives.ListObjectives(
            ob.ListObjectivesRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                filter=f'schedule_id = "{schedule_id}"',
            )
        ).objectives
        return listed[0].metadata.id


def build(server: SundialServer, clock: FakeClock, channel: grpc.Channel) -> Scenario:
    """The history the module docstring describes; the clock ends at NOW."""
    actor = Actor(server, clock, channel)
    hourly = actor.create("hourly", "0 * * * *")
    daily = actor.create("daily", "0 9 * * *")
    paused = actor.create("paused", "0 9 * * *", status=sp.AGENT_SCHEDULE_STATUS_PAUSED)
    actor.fire(START + timedelta(hours=1, seconds=5))
    first = actor.newest_objective(hourly)
    actor.claim(first)
    actor.at(START + timedelta(hours=1, seconds=35))
    actor.complete(first, {"score": 1, "tags": ["a"]})
    actor.fire(START + timedelta(hours=2, seconds=10))
    second = actor.newest_objective(hourly)
    actor.claim(second)
    actor.at(NOW)
    actor.fail(second)
    manual = actor.trigger(hourly)
    server.engine.run_pass()
    return Scenario(
        actor.workspace_id, actor.agent_id, hourly, daily, paused, first, second, manual
    )
