"""Webhooks (where Sundial posts events and results) and deliveries (the outbox: one event
or result on its way to one webhook). Mirrors sundial/v1/webhook.proto."""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sundial.domain.metadata import ResourceMetadata
from sundial.domain.tenancy import Profile


class EventType(enum.Enum):
    """Mirrors sundial.v1.EventType; `wire_name` is the payload's `type`."""

    UNSPECIFIED = 0
    OBJECTIVE_SUCCEEDED = 1
    OBJECTIVE_FAILED = 2
    OBJECTIVE_TIMED_OUT = 3
    OBJECTIVE_CANCELLED = 4
    SCHEDULE_AUTO_PAUSED = 5
    FIRE_MISSED = 6
    FIRE_SKIPPED = 7
    SCHEDULE_FINISHED = 8
    WEBHOOK_DISABLED = 9
    CHAIN_RUN_STARTED = 10
    CHAIN_RUN_SUCCEEDED = 11
    CHAIN_RUN_FAILED = 12

    @property
    def wire_name(self) -> str:
        """`objective.succeeded`, `fire.missed`, `chain_run.started`, ...: the subject, then
        what happened to it."""
        name = self.name.lower()
        for subject in _TWO_WORD_SUBJECTS:
            if name.startswith(subject + "_"):
                return f"{subject}.{name.removeprefix(subject + '_')}"
        subject, _, rest = name.partition("_")
        return f"{subject}.{rest}"


# Subjects whose name is two words (the first `_` of the member name is not the dot).
_TWO_WORD_SUBJECTS = ("chain_run",)

# The payload type of a result delivery (a schedule's or agent's `deliveries`).
RESULT_TYPE = "objective.result"


class WebhookFormat(enum.Enum):
    """Mirrors sundial.v1.WebhookFormat."""

    UNSPECIFIED = 0
    JSON = 1
    SLACK_MARKDOWN = 2
    SLACK_PLAIN = 3


class WebhookState(enum.Enum):
    """Mirrors sundial.v1.WebhookState."""

    UNSPECIFIED = 0
    ENABLED = 1
    DISABLED = 2


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    event_types: tuple[EventType, ...] = ()
    agent_ids: tuple[str, ...] = ()
    schedule_ids: tuple[str, ...] = ()
    condition: str = ""
    format: WebhookFormat = WebhookFormat.UNSPECIFIED


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    # Only in the answers of the calls that make a secret (create, rotate).
    secret: str = ""
    secret_hint: str = ""
    state: WebhookState = WebhookState.UNSPECIFIED
    disabled_reason: str = ""
    disabled_at: datetime | None = None
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    created_by: Profile | None = None


@dataclass(frozen=True, slots=True)
class Webhook:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: WebhookSpec = field(default_factory=WebhookSpec)
    info: WebhookInfo = field(default_factory=WebhookInfo)


@dataclass(frozen=True, slots=True)
class ResultDelivery:
    """One entry of a schedule's (or agent's) `deliveries`."""

    webhook_id: str = ""
    format: WebhookFormat = WebhookFormat.UNSPECIFIED
    condition: str = ""


class DeliveryStatus(enum.Enum):
    """Mirrors sundial.v1.DeliveryStatus."""

    UNSPECIFIED = 0
    PENDING = 1
    DELIVERED = 2
    DEAD_LETTER = 3
    CONDITION_ERROR = 4


@dataclass(frozen=True, slots=True)
class DeliverySpec:
    webhook_id: str = ""
    # UNSPECIFIED for a result delivery.
    event_type: EventType = EventType.UNSPECIFIED
    result: bool = False
    objective_id: str = ""
    schedule_id: str = ""
    agent_id: str = ""
    format: WebhookFormat = WebhookFormat.JSON
    # The rendered body: the WebhookEvent's ProtoJSON, or a Slack message.
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    status: DeliveryStatus = DeliveryStatus.UNSPECIFIED
    attempts: int = 0
    last_http_status: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: DeliverySpec = field(default_factory=DeliverySpec)
    info: DeliveryInfo = field(default_factory=DeliveryInfo)
