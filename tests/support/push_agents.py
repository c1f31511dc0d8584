"""A workspace with a PUSH agent whose target is a local receiver, its services, and pushers
over them, for the pusher's service and integration tests."""

from datetime import timedelta
from typing import Any

from sundial.domain.agents import AgentMode, AgentSpec, PushTarget
from sundial.domain.clock import FakeClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.objectives import Objective
from sundial.domain.schedules import AgentScheduleSpec, RetryPolicy, ScheduleInterval, ScheduleRules
from sundial.gateway.bodies import objective_json
from sundial.metrics import Metrics
from sundial.service.agents import AgentService
from sundial.service.notifier import Notifier
from sundial.service.objectives import ObjectiveService
from sundial.service.pagination import PageRequest
from sundial.service.pusher import Pusher
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import TenancyService
from sundial.service.triggers import TriggerService
from sundial.service.webhooks import WebhookSender
from sundial.store.database import Database
from sundial.tracing import Tracing


class PushWorld:
    """A PUSH agent (`agent_id`, its `secret`) posting to `url`, one schedule, the services."""

    def __init__(self, database: Database, clock: FakeClock, url: str, **push: Any) -> None:
        self.database, self.clock = database, clock
        boot = TenancyService(database, clock).bootstrap()
        self.principal, self.workspace_id = boot.principal, boot.default_workspace.id
        self.notifier = Notifier()
        self.metrics = Metrics()
        self.agents = AgentService(database, clock, allow_private_push_targets=True)
        agent = self.agents.create(
            self.principal,
            self.workspace_id,
            MetadataInput(name="pushed"),
            AgentSpec(mode=AgentMode.PUSH, push=PushTarget(url=url, **push)),
        )
        self.agent_id = agent.metadata.id
        self.secret = agent.info.push_secret
        self.schedules = ScheduleService(database, clock, min_fire_interval=timedelta(seconds=1))
        self.objectives = ObjectiveService(database, clock, self.notifier, metrics=self.metrics)
        self.triggers = TriggerService(database, clock, self.schedules, self.notifier)
        self.senders: list[WebhookSender] = []

    def schedule(self, *, max_attempts: int = 1, **spec: Any) -> str:
        created = self.schedules.create(
            self.principal,
            self.workspace_id,
            self.agent_id,
            MetadataInput(name="s"),
            AgentScheduleSpec(
                initial_message="hello",
                data={"k": 1},
                schedule=ScheduleRules(intervals=(ScheduleInterval(every=timedelta(hours=1)),)),
                retry_policy=RetryPolicy(
                    max_attempts=max_attempts, initial_backoff=timedelta(seconds=10)
                ),
                **spec,
            ),
        )
        return created.metadata.id

    def trigger(self, schedule_id: str) -> Objective:
        return self.triggers.trigger(self.principal, self.workspace_id, self.agent_id, schedule_id)

    def pusher(
        self, replica_id: str = "r1", concurrency: int = 4, tracing: Tracing | None = None
    ) -> Pusher:
        sender = WebhookSender(self.clock, allow_private_targets=True, max_concurrency=concurrency)
        self.senders.append(sender)
        return Pusher(
            self.database,
            self.clock,
            self.objectives,
            sender,
            objective_json,
            replica_id=replica_id,
            concurrency=concurrency,
            metrics=self.metrics,
            tracing=tracing,
        )

    def objective(self, objective_id: str) -> Objective:
        return self.objectives.get(self.principal, self.workspace_id, self.agent_id, objective_id)

    def attempts(self) -> list[Objective]:
        """Every objective of the agent, oldest first."""
        page = self.objectives.list_objectives(
            self.principal, self.workspace_id, self.agent_id, PageRequest(page_size=100)
        )
        return sorted(page.items, key=lambda objective: objective.info.attempt)

    def close(self) -> None:
        for sender in self.senders:
            sender.close()
