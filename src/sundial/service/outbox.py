"""The outbox's writers: for each state change (an objective ending, a schedule pausing
itself, fires missed or skipped, a schedule finishing, a webhook disabled) the delivery rows
of the webhooks it goes to, written by the caller's transaction (DESIGN.md section 9) and
sent later by the dispatcher.

An event goes to each webhook of the workspace that subscribes to its type, passes the
webhook's agent and schedule filters and whose condition is true (over EVENT_VARIABLES:
`type`, and the `objective`, `schedule`, `agent` and `fire` the event is about, the objective
as its body shows it). An objective's result goes
to each webhook its schedule's `deliveries` name (the agent's when the schedule names none)
whose condition is true. A condition that cannot be decided writes a CONDITION_ERROR row
saying why, so the user sees it over the API instead of a result that silently never came.

Each row's body is rendered when it is written (delivery_bodies.py)."""

import functools
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from sundial.domain.chains import ChainRun
from sundial.domain.conditions import (
    EVENT_VARIABLES,
    VARIABLES,
    Condition,
    ConditionInput,
    ConditionResult,
    EventInput,
    compile_condition,
)
from sundial.domain.errors import InvalidArgumentError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import AgentSchedule
from sundial.domain.webhooks import (
    RESULT_TYPE,
    Delivery,
    DeliveryInfo,
    DeliverySpec,
    DeliveryStatus,
    EventType,
    ResultDelivery,
    Webhook,
    WebhookFormat,
)
from sundial.metrics import Metrics
from sundial.service.delivery_bodies import (
    MAX_EVENT_TIMES,
    EventSubject,
    ObjectiveRenderer,
    chain_run_summary,
    delivery_format,
    domain_objective_json,
    objective_facts,
    objective_subject,
    render_body,
    rfc3339,
)
from sundial.service.slack_messages import MessageFacts
from sundial.store.repositories.agents import AgentRepository
from sundial.store.repositories.objectives import ObjectiveRepository
from sundial.store.repositories.outbox import OutboxRepository

logger = logging.getLogger("sundial.outbox")

# How an objective's final status is announced.
ENDED_EVENTS = {
    ObjectiveStatus.SUCCEEDED: EventType.OBJECTIVE_SUCCEEDED,
    ObjectiveStatus.FAILED: EventType.OBJECTIVE_FAILED,
    ObjectiveStatus.TIMED_OUT: EventType.OBJECTIVE_TIMED_OUT,
    ObjectiveStatus.CANCELLED: EventType.OBJECTIVE_CANCELLED,
}
# Distinct condition texts kept compiled (webhook conditions are evaluated at every event).
_COMPILED_CONDITIONS = 1024


class OutboxReads(Protocol):
    """What objective_ended reads and writes with: a UnitOfWork, or the firing pass's
    JoinedWork."""

    outbox: OutboxRepository
    objectives: ObjectiveRepository
    agents: AgentRepository


@dataclass(frozen=True, slots=True)
class ScheduleEvent:
    """A fire or schedule event (missed, skipped, finished, auto-paused) of one schedule."""

    type: EventType
    account_id: str
    workspace_id: str
    schedule_id: str
    agent_id: str
    scheduled_times: tuple[datetime, ...] = ()
    count: int = 0
    reason: str = ""
    schedule_name: str = ""
    schedule_labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class OutboxReport:
    """What the writers decided, for `record` to tell once the transaction committed: the
    metrics, and (`on_written`) the dispatcher, woken when there is something to send."""

    decisions: Counter[tuple[str, str]] = field(default_factory=Counter)
    on_written: Callable[[], None] | None = None

    def count(self, kind: str, outcome: str) -> None:
        self.decisions[(kind, outcome)] += 1

    def record(self, metrics: Metrics) -> None:
        for (kind, outcome), count in self.decisions.items():
            metrics.outbox.labels(kind, outcome).inc(count)
        written = self.decisions[("event", "written")] + self.decisions[("result", "written")]
        if written and self.on_written is not None:
            self.on_written()

    def merge(self, other: "OutboxReport") -> None:
        self.decisions.update(other.decisions)
        self.on_written = self.on_written or other.on_written


class Outbox:
    """Decides and writes deliveries inside the caller's transaction; returns an
    OutboxReport for the caller to record once it committed."""

    def __init__(
        self,
        render_objective: ObjectiveRenderer = domain_objective_json,
        *,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        self._render_objective = render_objective
        # Called (by OutboxReport.record, after the commit) when deliveries are due to send.
        self._on_written = on_written

    # --- writers --------------------------------------------------------------------------

    def objective_ended(
        self,
        uow: OutboxReads,
        objective_id: str,
        workspace_id: str,
        schedule: AgentSchedule | None,
        now: datetime,
        *,
        webhooks: Sequence[Webhook] | None = None,
    ) -> OutboxReport:
        """The event of an objective's final status and its result deliveries. Reads the
        objective as it ended, and its agent, only when the workspace has a webhook
        (`webhooks`: the workspace's, if the caller read them already)."""
        report = OutboxReport(on_written=self._on_written)
        if webhooks is None:
            webhooks = uow.outbox.webhooks_in([workspace_id])
        if not webhooks:
            return report
        objective = uow.objectives.get(workspace_id, objective_id)
        if objective is None:
            return report
        agent = uow.agents.get(workspace_id, objective.spec.agent_id)
        event_type = ENDED_EVENTS[objective.info.status]
        schedule_map = _resource_map(schedule.metadata if schedule else None, objective.spec)
        agent_map = _resource_map(agent.metadata if agent else None, None)
        agent_map.setdefault("id", objective.spec.agent_id)
        rendered = self._render_objective(objective)
        facts = objective_facts(
            objective,
            schedule.metadata.name if schedule else "",
            agent.metadata.name if agent else "",
        )
        event = EventInput(
            type=event_type.wire_name, objective=rendered, schedule=schedule_map, agent=agent_map
        )
        subject = objective_subject(objective, rendered, facts, now, event_type, event)
        rows = _event_rows(webhooks, subject, report)
        deliveries: Sequence[ResultDelivery] = ()
        if schedule is not None and schedule.spec.deliveries:
            deliveries = schedule.spec.deliveries
        elif agent is not None:
            deliveries = agent.spec.deliveries
        if deliveries:
            result_input = ConditionInput(
                output=objective.info.output,
                data=objective.spec.data if isinstance(objective.spec.data, dict) else {},
                status=objective.info.status,
                schedule=schedule_map,
                agent=agent_map,
                type=RESULT_TYPE,
            )
            result = objective_subject(
                objective, rendered, facts, now, EventType.UNSPECIFIED, result_input
            )
            rows.extend(_result_rows(webhooks, deliveries, result, report))
        uow.outbox.add(rows, now)
        return report

    def schedule_events(
        self,
        repository: OutboxRepository,
        events: Sequence[ScheduleEvent],
        now: datetime,
        *,
        webhooks: Sequence[Webhook] | None = None,
    ) -> OutboxReport:
        """The deliveries of fire and schedule events, in one insert. `webhooks`: those of
        the events' workspaces if the caller read them already; else one query reads them
        (and, when there are any, one more the schedules' names and labels)."""
        report = OutboxReport(on_written=self._on_written)
        if not events:
            return report
        if webhooks is None:
            webhooks = repository.webhooks_in({e.workspace_id for e in events})
        if not webhooks:
            return report
        by_workspace: dict[str, list[Webhook]] = {}
        for webhook in webhooks:
            by_workspace.setdefault(webhook.metadata.workspace_id, []).append(webhook)
        unnamed = {e.schedule_id for e in events if not e.schedule_name}
        facts = repository.schedule_facts(
            {e.schedule_id for e in events if e.workspace_id in by_workspace} & unnamed
        )
        rows: list[Delivery] = []
        for event in events:
            targets = by_workspace.get(event.workspace_id)
            if targets:
                name, labels = facts.get(
                    event.schedule_id, (event.schedule_name, event.schedule_labels)
                )
                named = replace(event, schedule_name=name, schedule_labels=labels)
                rows.extend(schedule_event_deliveries(targets, named, now, report))
        repository.add(rows, now)
        return report

    def webhook_disabled(
        self,
        repository: OutboxRepository,
        webhook: Webhook,
        reason: str,
        now: datetime,
    ) -> OutboxReport:
        """The `webhook.disabled` event of `webhook` (whose target kept failing), to the
        workspace's other webhooks that subscribe to it."""
        report = OutboxReport(on_written=self._on_written)
        meta = webhook.metadata
        others = [
            w for w in repository.webhooks_in([meta.workspace_id]) if w.metadata.id != meta.id
        ]
        if not others:
            return report
        kind = EventType.WEBHOOK_DISABLED
        subject = EventSubject(
            type=kind.wire_name,
            account_id=meta.account_id,
            workspace_id=meta.workspace_id,
            timestamp=now,
            data={"webhookId": meta.id, "reason": reason},
            facts=MessageFacts(headline=f"Webhook {meta.name or meta.id} disabled", reason=reason),
            condition_input=EventInput(type=kind.wire_name),
            event_type=kind,
        )
        repository.add(_event_rows(others, subject, report), now)
        return report

    def chain_run_event(
        self, repository: OutboxRepository, run: ChainRun, kind: EventType, now: datetime
    ) -> OutboxReport:
        """A chain run's `chain_run.started`, `.succeeded` or `.failed`, to the workspace's
        webhooks that subscribe to it (a condition tells them apart by `type`)."""
        report = OutboxReport(on_written=self._on_written)
        meta = run.metadata
        webhooks = repository.webhooks_in([meta.workspace_id])
        if not webhooks:
            return report
        summary = chain_run_summary(run)
        subject = EventSubject(
            type=kind.wire_name,
            account_id=meta.account_id,
            workspace_id=meta.workspace_id,
            timestamp=now,
            data={"chainRun": summary},
            facts=MessageFacts(
                headline=f"Chain run {run.info.status.name}",
                schedule_id=run.spec.schedule_id,
                reason=f"chain {run.spec.chain_id}, run {meta.id}",
            ),
            condition_input=EventInput(type=kind.wire_name),
            event_type=kind,
            schedule_id=run.spec.schedule_id,
        )
        repository.add(_event_rows(webhooks, subject, report), now)
        return report


# --- deciding ---------------------------------------------------------------------------


def schedule_event_deliveries(
    webhooks: Sequence[Webhook], event: ScheduleEvent, now: datetime, report: OutboxReport
) -> list[Delivery]:
    """The deliveries of one fire or schedule event to the webhooks of its workspace (the
    event carries its schedule's name and labels); what was decided is counted in `report`."""
    subject = _schedule_subject(event, event.schedule_name, event.schedule_labels, now)
    return _event_rows(webhooks, subject, report)


def _event_rows(
    webhooks: Sequence[Webhook], subject: EventSubject, report: OutboxReport
) -> list[Delivery]:
    rows = []
    bodies: dict[WebhookFormat, dict[str, Any]] = {}
    for webhook in webhooks:
        spec = webhook.spec
        if subject.event_type not in spec.event_types:
            continue
        if spec.agent_ids and subject.agent_id not in spec.agent_ids:
            continue
        if spec.schedule_ids and subject.schedule_id not in spec.schedule_ids:
            continue
        row = _decided(
            webhook,
            spec.condition,
            delivery_format(WebhookFormat.UNSPECIFIED, webhook),
            subject,
            bodies,
            report,
            "event",
        )
        if row is not None:
            rows.append(row)
    return rows


def _result_rows(
    webhooks: Sequence[Webhook],
    deliveries: Sequence[ResultDelivery],
    subject: EventSubject,
    report: OutboxReport,
) -> list[Delivery]:
    by_id = {webhook.metadata.id: webhook for webhook in webhooks}
    rows = []
    bodies: dict[WebhookFormat, dict[str, Any]] = {}
    for delivery in deliveries:
        # A webhook a delivery names cannot be deleted; one gone all the same is skipped.
        webhook = by_id.get(delivery.webhook_id)
        if webhook is None:
            continue
        row = _decided(
            webhook,
            delivery.condition,
            delivery_format(delivery.format, webhook),
            subject,
            bodies,
            report,
            "result",
        )
        if row is not None:
            rows.append(row)
    return rows


def _decided(
    webhook: Webhook,
    condition: str,
    body_format: WebhookFormat,
    subject: EventSubject,
    bodies: dict[WebhookFormat, dict[str, Any]],
    report: OutboxReport,
    kind: str,
) -> Delivery | None:
    """The delivery of `subject` to `webhook`, or None when the condition is false."""
    outcome = _evaluated(condition, subject.condition_input)
    if outcome.error is None and not outcome.matched:
        report.count(kind, "filtered")
        return None
    body = bodies.get(body_format)
    if body is None:
        body = bodies[body_format] = render_body(subject, body_format)
    if outcome.error is not None:
        report.count(kind, "condition_error")
        status, error = DeliveryStatus.CONDITION_ERROR, f"condition: {outcome.error}"
        logger.info(
            "delivery of %s to webhook %s not sent: its condition failed: %s",
            subject.type,
            webhook.metadata.id,
            outcome.error,
            extra={
                "event": "condition_error",
                "webhook_id": webhook.metadata.id,
                "workspace_id": subject.workspace_id,
                "objective_id": subject.objective_id,
                "schedule_id": subject.schedule_id,
            },
        )
    else:
        report.count(kind, "written")
        status, error = DeliveryStatus.PENDING, ""
    return Delivery(
        metadata=ResourceMetadata(
            id=new_id(IdPrefix.DELIVERY),
            account_id=subject.account_id,
            workspace_id=subject.workspace_id,
        ),
        spec=DeliverySpec(
            webhook_id=webhook.metadata.id,
            event_type=subject.event_type,
            result=kind == "result",
            objective_id=subject.objective_id,
            schedule_id=subject.schedule_id,
            agent_id=subject.agent_id,
            format=body_format,
            body=body,
        ),
        info=DeliveryInfo(status=status, last_error=error),
    )


def _evaluated(condition: str, activation: ConditionInput | EventInput) -> ConditionResult:
    if not condition:
        return ConditionResult(True)
    variables = EVENT_VARIABLES if isinstance(activation, EventInput) else VARIABLES
    try:
        compiled = _compiled(condition, variables)
    except InvalidArgumentError as error:  # stored before a stricter check: say why
        return ConditionResult(False, "; ".join(v.description for v in error.violations))
    return compiled.evaluate(activation)


@functools.lru_cache(maxsize=_COMPILED_CONDITIONS)
def _compiled(condition: str, variables: tuple[str, ...]) -> Condition:
    return compile_condition(condition, "condition", variables)


def _schedule_subject(
    event: ScheduleEvent, name: str, labels: dict[str, str], now: datetime
) -> EventSubject:
    times = event.scheduled_times[:MAX_EVENT_TIMES]
    type_name = event.type.wire_name
    headlines = {
        EventType.FIRE_MISSED: f"{event.count} fire(s) missed",
        EventType.FIRE_SKIPPED: f"{event.count} fire(s) skipped",
        EventType.SCHEDULE_FINISHED: "Schedule finished",
        EventType.SCHEDULE_AUTO_PAUSED: "Schedule paused itself",
    }
    schedule_map: dict[str, Any] = {
        "id": event.schedule_id,
        "name": name,
        "labels": labels,
        "agentId": event.agent_id,
    }
    fire = {
        "scheduledTimes": [rfc3339(t) for t in times],
        "count": event.count,
        "reason": event.reason,
    }
    return EventSubject(
        type=type_name,
        account_id=event.account_id,
        workspace_id=event.workspace_id,
        timestamp=now,
        data={
            "schedule": {"id": event.schedule_id, "name": name, "agentId": event.agent_id},
            **fire,
        },
        facts=MessageFacts(
            headline=headlines.get(event.type, type_name),
            schedule_name=name,
            schedule_id=event.schedule_id,
            agent_id=event.agent_id,
            scheduled_time=times[0] if times else None,
            reason=event.reason,
        ),
        condition_input=EventInput(
            type=type_name, schedule=schedule_map, agent={"id": event.agent_id}, fire=fire
        ),
        event_type=event.type,
        schedule_id=event.schedule_id,
        agent_id=event.agent_id,
    )


def _resource_map(meta: ResourceMetadata | None, spec: Any) -> dict[str, Any]:
    """A schedule or agent as a condition sees it: id, name, labels."""
    if meta is None:
        schedule_id = getattr(spec, "schedule_id", "")
        return {"id": schedule_id} if schedule_id else {}
    return {"id": meta.id, "name": meta.name, "labels": dict(meta.labels)}
