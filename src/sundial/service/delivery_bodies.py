"""What a delivery's body says and how it reads: the subject of one event (its type, the
ids its filters and rows use, the data of its ProtoJSON body, the facts of its Slack message
and the input its condition sees) and its rendering in the delivery's format. outbox.py
decides which rows are written for which state change; this module renders their bodies,
once, when the row is written, so every attempt sends the same bytes: the ProtoJSON of a
sundial.v1.WebhookEvent, or a Slack message. An objective's ProtoJSON needs the generated
code, which this layer cannot import, so the server hands a renderer in (gateway/bodies.py
objective_json)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sundial.domain.chains import ChainRun
from sundial.domain.conditions import ConditionInput, EventInput
from sundial.domain.objectives import Objective
from sundial.domain.webhooks import EventType, Webhook, WebhookFormat
from sundial.service.slack_messages import MessageFacts, slack_message
from sundial.store.codec import to_json

ObjectiveRenderer = Callable[[Objective], dict[str, Any]]
# Fire times listed in one event body (a long outage can miss thousands; `count` has all).
MAX_EVENT_TIMES = 100


def domain_objective_json(objective: Objective) -> dict[str, Any]:
    """The objective's stored form: for services built without the server's wiring (the
    server renders the API's ProtoJSON instead)."""
    encoded: dict[str, Any] = to_json(objective)
    return encoded


@dataclass(frozen=True, slots=True)
class EventSubject:
    """What one event is about, for the filters, the conditions and the bodies."""

    type: str
    account_id: str
    workspace_id: str
    timestamp: datetime
    data: dict[str, Any]
    facts: MessageFacts
    # A result's condition sees VARIABLES (ConditionInput), an event's EVENT_VARIABLES.
    condition_input: ConditionInput | EventInput
    event_type: EventType = EventType.UNSPECIFIED
    objective_id: str = ""
    schedule_id: str = ""
    agent_id: str = ""


def objective_facts(objective: Objective, schedule_name: str, agent_name: str) -> MessageFacts:
    """What a Slack message about an objective's end says."""
    return MessageFacts(
        headline=f"Objective {objective.info.status.name}",
        schedule_name=schedule_name,
        schedule_id=objective.spec.schedule_id,
        agent_name=agent_name,
        agent_id=objective.spec.agent_id,
        scheduled_time=objective.spec.scheduled_time,
        output=objective.info.output,
        error=objective.info.error,
    )


def objective_subject(
    objective: Objective,
    rendered: dict[str, Any],
    facts: MessageFacts,
    now: datetime,
    kind: EventType,
    condition_input: ConditionInput | EventInput,
) -> EventSubject:
    """An objective's end as its event (`kind`, an EventInput) or as its result (a
    ConditionInput of type RESULT_TYPE, kind UNSPECIFIED); `rendered`: its ProtoJSON."""
    return EventSubject(
        type=condition_input.type,
        account_id=objective.metadata.account_id,
        workspace_id=objective.metadata.workspace_id,
        timestamp=now,
        data={"objective": rendered},
        facts=facts,
        condition_input=condition_input,
        event_type=kind,
        objective_id=objective.metadata.id,
        schedule_id=objective.spec.schedule_id,
        agent_id=objective.spec.agent_id,
    )


def chain_run_summary(run: ChainRun) -> dict[str, Any]:
    """What a chain run event says of its run (camelCase, as the API's JSON)."""
    return {
        "id": run.metadata.id,
        "chainId": run.spec.chain_id,
        "status": run.info.status.name,
        "triggerKind": run.spec.trigger_kind.name,
        "scheduleId": run.spec.schedule_id,
        "nodes": [
            {"name": n.name, "status": n.status.name, "objectiveIds": list(n.objective_ids)}
            for n in run.info.nodes
        ],
    }


def delivery_format(chosen: WebhookFormat, webhook: Webhook) -> WebhookFormat:
    """The delivery's format, else the webhook's, else JSON."""
    for candidate in (chosen, webhook.spec.format):
        if candidate is not WebhookFormat.UNSPECIFIED:
            return candidate
    return WebhookFormat.JSON


def render_body(subject: EventSubject, body_format: WebhookFormat) -> dict[str, Any]:
    """The body a delivery of `subject` sends: a WebhookEvent's ProtoJSON, or a Slack message."""
    if body_format is WebhookFormat.JSON:
        return {
            "type": subject.type,
            "timestamp": rfc3339(subject.timestamp),
            "workspaceId": subject.workspace_id,
            "data": subject.data,
        }
    return slack_message(subject.facts, markdown=body_format is WebhookFormat.SLACK_MARKDOWN)


def rfc3339(moment: datetime) -> str:
    """A Timestamp's ProtoJSON: UTC, `Z`, and 0, 3 or 6 fractional digits as needed."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    micros = moment.microsecond
    if micros % 1000 == 0 and micros:
        text += f".{micros // 1000:03d}"
    elif micros:
        text += f".{micros:06d}"
    return text + "Z"
