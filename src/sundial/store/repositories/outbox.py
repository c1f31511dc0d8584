"""The outbox's writes: which webhooks an event may go to, and the delivery rows, inserted
on the connection of the state change that caused them (a unit of work's session, or the
firing engine's connection) so that both commit or neither does."""

import typing
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.orm import Session

from sundial.domain.metadata import ResourceMetadata
from sundial.domain.webhooks import (
    Delivery,
    DeliveryStatus,
    Webhook,
    WebhookInfo,
    WebhookSpec,
    WebhookState,
)
from sundial.store.codec import from_json
from sundial.store.models import DeliveryRow, ScheduleRow, WebhookRow

_webhooks = typing.cast(Table, WebhookRow.__table__)
_deliveries = typing.cast(Table, DeliveryRow.__table__)
_schedules = typing.cast(Table, ScheduleRow.__table__)

# The event_type column of a result delivery (an event's holds its EventType name).
RESULT_EVENT_TYPE = "RESULT"

_INSERT = insert(_deliveries)


class OutboxRepository:
    def __init__(self, connection: Session | Connection) -> None:
        self._connection = connection

    def webhooks_in(self, workspace_ids: Collection[str]) -> list[Webhook]:
        """The webhooks of these workspaces, ENABLED or DISABLED (a disabled one's
        deliveries wait for it to be enabled), with only the fields a delivery needs."""
        if not workspace_ids:
            return []
        rows = self._connection.execute(
            select(
                _webhooks.c.id,
                _webhooks.c.account_id,
                _webhooks.c.workspace_id,
                _webhooks.c.name,
                _webhooks.c.spec,
                _webhooks.c.state,
            )
            .where(_webhooks.c.workspace_id.in_(sorted(workspace_ids)))
            .order_by(_webhooks.c.id)
        )
        return [
            Webhook(
                metadata=ResourceMetadata(
                    id=row.id,
                    account_id=row.account_id,
                    workspace_id=row.workspace_id,
                    name=row.name,
                ),
                spec=from_json(WebhookSpec, row.spec),
                info=WebhookInfo(state=WebhookState[row.state]),
            )
            for row in rows
        ]

    def workspaces_with_webhooks(self, workspace_ids: Collection[str]) -> set[str]:
        """Which of these workspaces have a webhook at all: the one query a firing pass
        makes when none has (most installations)."""
        if not workspace_ids:
            return set()
        rows = self._connection.execute(
            select(_webhooks.c.workspace_id)
            .where(_webhooks.c.workspace_id.in_(sorted(workspace_ids)))
            .distinct()
        )
        return {row[0] for row in rows}

    def webhook_ids_in(self, workspace_id: str, webhook_ids: Collection[str]) -> set[str]:
        """Which of these ids are webhooks of the workspace."""
        if not webhook_ids:
            return set()
        rows = self._connection.execute(
            select(_webhooks.c.id).where(
                _webhooks.c.workspace_id == workspace_id, _webhooks.c.id.in_(sorted(webhook_ids))
            )
        )
        return {row[0] for row in rows}

    def schedule_facts(
        self, schedule_ids: Collection[str]
    ) -> dict[str, tuple[str, dict[str, str]]]:
        """The name and labels of each schedule, for the bodies and conditions of fire events
        (the firing engine reads neither)."""
        if not schedule_ids:
            return {}
        rows = self._connection.execute(
            select(_schedules.c.id, _schedules.c.name, _schedules.c.labels).where(
                _schedules.c.id.in_(sorted(schedule_ids))
            )
        )
        return {row.id: (row.name, dict(row.labels)) for row in rows}

    def add(self, deliveries: Sequence[Delivery], now: datetime) -> None:
        """Inserts the deliveries in one executemany: PENDING ones due now, their retry
        window starting now; CONDITION_ERROR ones never due, with the reason."""
        if not deliveries:
            return
        self._connection.execute(_INSERT, [_row(delivery, now) for delivery in deliveries])


def _row(delivery: Delivery, now: datetime) -> dict[str, Any]:
    meta, spec, info = delivery.metadata, delivery.spec, delivery.info
    pending = info.status is DeliveryStatus.PENDING
    return {
        "id": meta.id,
        "account_id": meta.account_id,
        "workspace_id": meta.workspace_id,
        "webhook_id": spec.webhook_id,
        "event_type": RESULT_EVENT_TYPE if spec.result else spec.event_type.name,
        "objective_id": spec.objective_id,
        "schedule_id": spec.schedule_id,
        "agent_id": spec.agent_id,
        "format": spec.format.name,
        "body": spec.body,
        "status": info.status.name,
        "attempts": 0,
        "last_http_status": 0,
        "last_error": info.last_error[:4096],
        "next_attempt_at": now if pending else None,
        "window_started_at": now,
        "last_attempt_at": None,
        "delivered_at": None,
        "created_at": now,
        "updated_at": now,
    }
