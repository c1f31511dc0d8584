"""Deliveries, the read side (and redelivery): what the API shows of the outbox. Writing
deliveries belongs to the outbox (repositories/outbox.py), taking and recording attempts to
the dispatcher (repositories/dispatch.py)."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sundial.domain.listing import ListQuery
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.webhooks import (
    Delivery,
    DeliveryInfo,
    DeliverySpec,
    DeliveryStatus,
    EventType,
    WebhookFormat,
)
from sundial.store.models import DeliveryRow
from sundial.store.repositories.common import apply_listing

# DeliveryRow.event_type of a result delivery (the others hold an EventType name).
RESULT_EVENT = "RESULT"

_FILTERABLE: dict[str, Any] = {
    "status": DeliveryRow.status,
    "objective_id": DeliveryRow.objective_id,
    "schedule_id": DeliveryRow.schedule_id,
    "event_type": DeliveryRow.event_type,
}


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, workspace_id: str, delivery_id: str) -> Delivery | None:
        row = self._session.execute(
            select(DeliveryRow).where(
                DeliveryRow.workspace_id == workspace_id, DeliveryRow.id == delivery_id
            )
        ).scalar()
        return None if row is None else _delivery_of(row)

    def list(self, workspace_id: str, webhook_id: str | None, query: ListQuery) -> list[Delivery]:
        """One page of the deliveries of one webhook, or of every webhook of the workspace
        when `webhook_id` is None; the query says the order (newest first for the API)."""
        statement = select(DeliveryRow).where(DeliveryRow.workspace_id == workspace_id)
        if webhook_id is not None:
            statement = statement.where(DeliveryRow.webhook_id == webhook_id)
        statement = apply_listing(statement, DeliveryRow, query, _FILTERABLE)
        return [_delivery_of(row) for row in self._session.execute(statement).scalars()]

    def redeliver(self, delivery_id: str, now: datetime) -> None:
        """PENDING again, due now, with a new retry window; its id, body and attempt count
        stay (the receiver sees the same `webhook-id`)."""
        row = self._session.get_one(DeliveryRow, delivery_id, with_for_update=True)
        row.status = DeliveryStatus.PENDING.name
        row.next_attempt_at = now
        row.window_started_at = now
        row.updated_at = now
        self._session.flush()


def _delivery_of(row: DeliveryRow) -> Delivery:
    result = row.event_type == RESULT_EVENT
    return Delivery(
        metadata=ResourceMetadata(
            id=row.id,
            account_id=row.account_id,
            workspace_id=row.workspace_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        ),
        spec=DeliverySpec(
            webhook_id=row.webhook_id,
            event_type=EventType.UNSPECIFIED if result else EventType[row.event_type],
            result=result,
            objective_id=row.objective_id,
            schedule_id=row.schedule_id,
            agent_id=row.agent_id,
            format=WebhookFormat[row.format],
            body=dict(row.body),
        ),
        info=DeliveryInfo(
            status=DeliveryStatus[row.status],
            attempts=row.attempts,
            last_http_status=row.last_http_status,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            last_attempt_at=row.last_attempt_at,
            delivered_at=row.delivered_at,
        ),
    )
