"""The dispatcher's SQL over the deliveries outbox: take what is due (leased, so a crashed
sender's delivery is taken again and a live one's is not taken twice), record each attempt,
and keep the webhook's success and failure times. Core statements: this is a hot path.

The transaction belongs to the caller (service.dispatcher): `take_due` in one short
transaction of its own; a batch of attempts' rows, their webhooks and any event they cause
in another (service.delivery_attempts)."""

import json
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from sundial.domain.webhooks import DeliveryStatus, WebhookSpec, WebhookState
from sundial.store.codec import from_json
from sundial.store.models import DeliveryRow, WebhookRow

deliveries = typing.cast(Table, DeliveryRow.__table__)
webhooks = typing.cast(Table, WebhookRow.__table__)

# What the text columns hold: a longer error or reason is cut, not refused by the database.
_ERROR_LENGTH = typing.cast(String, deliveries.c.last_error.type).length or 0
_REASON_LENGTH = typing.cast(String, webhooks.c.disabled_reason.type).length or 0
_PENDING = DeliveryStatus.PENDING.name
_ENABLED = WebhookState.ENABLED.name


@dataclass(frozen=True, slots=True)
class TakenDelivery:
    """A delivery leased to this sender until `leased_until`: what one attempt needs."""

    id: str
    workspace_id: str
    webhook_id: str
    event_type: str
    # The JSON text of the stored body, the same bytes on every attempt.
    body: str
    url: str
    headers: dict[str, str]
    secret: str
    # Attempts made before this one.
    attempts: int
    window_started_at: datetime
    leased_until: datetime


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What one attempt at a delivery did, and what follows: DELIVERED, PENDING again at
    `next_attempt_at`, or DEAD_LETTER."""

    delivery: TakenDelivery
    at: datetime
    status: DeliveryStatus
    http_status: int
    error: str
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookHealth:
    """A webhook's state and the start of its failing streak (None: its last attempt
    succeeded)."""

    state: WebhookState
    failing_since: datetime | None


# Built once, with bound parameters: these run for every delivery, and a statement built
# per call spends more in SQLAlchemy's construction and cache keys than in the database.
_DUE = (
    select(
        deliveries.c.id,
        deliveries.c.workspace_id,
        deliveries.c.webhook_id,
        deliveries.c.event_type,
        deliveries.c.body,
        deliveries.c.attempts,
        deliveries.c.window_started_at,
        webhooks.c.spec,
        webhooks.c.secret,
    )
    .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
    .where(
        deliveries.c.status == _PENDING,
        deliveries.c.next_attempt_at <= bindparam("now"),
        webhooks.c.state == _ENABLED,
    )
    .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
    .limit(bindparam("limit"))
)
# Only the deliveries are locked: a webhook row is shared by many of them, and locking it
# would make concurrent takers skip each other's whole targets.
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True, of=deliveries)
_LEASE = (
    update(deliveries)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .values(next_attempt_at=bindparam("leased_until"), updated_at=bindparam("now"))
)
_RECORD = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("taken_id"),
        deliveries.c.status == _PENDING,
        deliveries.c.attempts == bindparam("taken_attempts"),
        deliveries.c.next_attempt_at == bindparam("leased_until"),
    )
    .values(
        attempts=bindparam("attempts"),
        last_http_status=bindparam("last_http_status"),
        last_error=bindparam("last_error"),
        last_attempt_at=bindparam("at"),
        status=bindparam("status"),
        next_attempt_at=bindparam("next_attempt_at"),
        # Kept when NULL: a redelivered delivery that fails still shows its first delivery.
        delivered_at=func.coalesce(bindparam("delivered_at"), deliveries.c.delivered_at),
        updated_at=bindparam("at"),
    )
)


class DispatchRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def take_due(self, now: datetime, limit: int, leased_until: datetime) -> list[TakenDelivery]:
        """Up to `limit` PENDING deliveries due at `now` whose webhook is ENABLED, oldest due
        first, moved to `next_attempt_at = leased_until`. On PostgreSQL the rows are locked
        with SKIP LOCKED, so concurrent takers (other replicas) take disjoint rows; SQLite's
        write lock serializes takers."""
        statement = _DUE_SKIP_LOCKED if self._is_postgresql() else _DUE
        rows = self._session.execute(statement, {"now": now, "limit": limit}).all()
        if not rows:
            return []
        self._session.execute(
            _LEASE, {"ids": [row.id for row in rows], "leased_until": leased_until, "now": now}
        )
        # Decoded once per webhook: a batch mostly goes to a few.
        specs: dict[str, WebhookSpec] = {}
        taken: list[TakenDelivery] = []
        for row in rows:
            spec = specs.get(row.webhook_id)
            if spec is None:
                spec = specs[row.webhook_id] = from_json(WebhookSpec, row.spec)
            taken.append(
                TakenDelivery(
                    id=row.id,
                    workspace_id=row.workspace_id,
                    webhook_id=row.webhook_id,
                    event_type=row.event_type,
                    body=body_text(row.body),
                    url=spec.url,
                    headers=dict(spec.headers),
                    secret=row.secret,
                    attempts=row.attempts,
                    window_started_at=row.window_started_at,
                    leased_until=leased_until,
                )
            )
        return taken

    def earliest_due(self) -> datetime | None:
        """When the next PENDING delivery to an ENABLED webhook falls due (a leased one's
        lease end included: it is taken again then if its sender died)."""
        statement = (
            select(func.min(deliveries.c.next_attempt_at))
            .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
            .where(deliveries.c.status == _PENDING, webhooks.c.state == _ENABLED)
        )
        return typing.cast(datetime | None, self._session.execute(statement).scalar())

    def count_due(self, now: datetime) -> int:
        """PENDING deliveries to ENABLED webhooks due at `now` and not leased: the backlog."""
        statement = (
            select(func.count())
            .select_from(deliveries.join(webhooks, webhooks.c.id == deliveries.c.webhook_id))
            .where(
                deliveries.c.status == _PENDING,
                deliveries.c.next_attempt_at <= now,
                webhooks.c.state == _ENABLED,
            )
        )
        return int(self._session.execute(statement).scalar_one())

    def record(self, attempt: AttemptRecord) -> bool:
        """Writes the attempt's outcome, only while the sender still holds the lease it took:
        the row is PENDING with the attempts and lease end it was taken with. False when the
        lease was lost (it ran out and another sender took the delivery, or it was
        redelivered); then nothing is written."""
        taken = attempt.delivery
        delivered = attempt.status is DeliveryStatus.DELIVERED
        result = self._session.execute(
            _RECORD,
            {
                "taken_id": taken.id,
                "taken_attempts": taken.attempts,
                "leased_until": taken.leased_until,
                "attempts": taken.attempts + 1,
                "last_http_status": attempt.http_status,
                "last_error": attempt.error[:_ERROR_LENGTH],
                "at": attempt.at,
                "status": attempt.status.name,
                "next_attempt_at": attempt.next_attempt_at,
                "delivered_at": attempt.at if delivered else None,
            },
        )
        return bool(typing.cast(Any, result).rowcount)

    def webhook_attempted(
        self, webhook_id: str, at: datetime, *, succeeded: bool, failing: bool
    ) -> None:
        """Notes attempts on the webhook at `at`: one that `succeeded` sets `last_success_at`
        and ends the failing streak; `failing` (the last attempt failed) starts one, or
        keeps the start of the streak under way when none succeeded."""
        values: dict[str, Any] = {}
        if succeeded:
            values["last_success_at"] = at
            values["failing_since"] = at if failing else None
        elif failing:
            values["failing_since"] = func.coalesce(webhooks.c.failing_since, at)
        if values:
            self._session.execute(
                update(webhooks).where(webhooks.c.id == webhook_id).values(**values)
            )

    def webhook_health(self, webhook_id: str) -> WebhookHealth:
        row = self._session.execute(
            select(webhooks.c.state, webhooks.c.failing_since).where(webhooks.c.id == webhook_id)
        ).one()
        return WebhookHealth(state=WebhookState[row.state], failing_since=row.failing_since)

    def count_dead_letters(self, webhook_id: str, since: datetime) -> int:
        """Deliveries to the webhook dead-lettered by an attempt at or after `since`."""
        statement = select(func.count()).where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.status == DeliveryStatus.DEAD_LETTER.name,
            deliveries.c.last_attempt_at >= since,
        )
        return int(self._session.execute(statement).scalar_one())

    def disable_webhook(self, webhook_id: str, at: datetime, reason: str) -> bool:
        """Sets an ENABLED webhook DISABLED with `reason`; False if it was not ENABLED."""
        result = self._session.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.state == _ENABLED)
            .values(
                state=WebhookState.DISABLED.name,
                disabled_reason=reason[:_REASON_LENGTH],
                disabled_at=at,
                updated_at=at,
                revision=webhooks.c.revision + 1,
            )
        )
        return bool(typing.cast(Any, result).rowcount)

    def _is_postgresql(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"


def body_text(body: Any) -> str:
    """The JSON text a stored body is sent as: compact and key-ordered as stored, so every
    attempt (from any replica) signs and sends the same bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
