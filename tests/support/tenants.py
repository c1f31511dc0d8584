"""A workspace with one agent, and a way to add schedules to it, for store and service tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sundial.domain.agents import AgentSpec
from sundial.domain.clock import FakeClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import (
    AgentScheduleSpec,
    OverlapPolicy,
    ScheduleInterval,
    ScheduleRules,
)
from sundial.service.agents import AgentService
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import TenancyService
from sundial.store.database import Database

MINUTE = timedelta(minutes=1)
START = datetime(2026, 6, 1, 8, 30, 0, 250_000, tzinfo=UTC)


class Tenant:
    """A workspace with one agent, and a way to add schedules to it."""

    def __init__(self, database: Database, clock: FakeClock) -> None:
        self.database, self.clock = database, clock
        boot = TenancyService(database, clock).bootstrap()
        self.principal, self.workspace_id = boot.principal, boot.default_workspace.id
        agent = AgentService(database, clock).create(
            self.principal, self.workspace_id, MetadataInput(name="agent"), AgentSpec()
        )
        self.agent_id = agent.metadata.id
        self.schedules = ScheduleService(database, clock, min_fire_interval=timedelta(seconds=1))

    def schedule(self, policy: OverlapPolicy = OverlapPolicy.ALLOW, **spec: Any) -> str:
        created = self.schedules.create(
            self.principal,
            self.workspace_id,
            self.agent_id,
            MetadataInput(name="s"),
            AgentScheduleSpec(
                initial_message="hello",
                data={"k": [1, "two", None]},
                schedule=ScheduleRules(intervals=(ScheduleInterval(every=MINUTE),)),
                overlap_policy=policy,
                **spec,
            ),
        )
        return created.metadata.id
