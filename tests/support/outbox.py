"""The dispatcher tests' view of the store: a tenant's webhooks and due deliveries (written
by tests/support/webhook_rows.py and tests/support/deliveries.py, as the webhook API and
the outbox would), and the rows as the dispatcher left them."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sundial.domain.webhooks import EventType, WebhookSpec, WebhookState
from sundial.store.models import DeliveryRow, WebhookRow
from tests.support import webhook_rows
from tests.support.deliveries import insert_delivery
from tests.support.tenants import Tenant


def add_webhook(
    tenant: Tenant,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    state: WebhookState = WebhookState.ENABLED,
    event_types: tuple[EventType, ...] = (),
) -> tuple[str, str]:
    """A webhook of the tenant's workspace posting to `url`; returns its id and secret."""
    spec = WebhookSpec(url=url, headers=headers or {}, event_types=event_types)
    webhook_id = webhook_rows.add_webhook(
        tenant.database,
        tenant.principal,
        tenant.workspace_id,
        spec,
        now=tenant.clock.now(),
        state=state,
    )
    return webhook_id, webhook_row(tenant, webhook_id).secret


def add_delivery(
    tenant: Tenant,
    webhook_id: str,
    body: dict[str, Any] | None = None,
    *,
    due_at: datetime | None = None,
) -> str:
    """A PENDING delivery to the webhook, its window starting now, due at `due_at` (default
    now); returns its id."""
    now = tenant.clock.now()
    return insert_delivery(
        tenant.database,
        account_id=tenant.principal.account_id,
        workspace_id=tenant.workspace_id,
        webhook_id=webhook_id,
        at=now,
        next_attempt_at=due_at or now,
        body=body if body is not None else {"type": "objective.succeeded", "n": 1},
    )


def deliveries_to(tenant: Tenant, webhook_id: str) -> list[DeliveryRow]:
    with Session(tenant.database.reader, expire_on_commit=False) as session:
        statement = select(DeliveryRow).where(DeliveryRow.webhook_id == webhook_id)
        return list(session.execute(statement.order_by(DeliveryRow.id)).scalars())


def delivery_row(tenant: Tenant, delivery_id: str) -> DeliveryRow:
    with Session(tenant.database.reader, expire_on_commit=False) as session:
        return session.execute(
            select(DeliveryRow).where(DeliveryRow.id == delivery_id)
        ).scalar_one()


def webhook_row(tenant: Tenant, webhook_id: str) -> WebhookRow:
    with Session(tenant.database.reader, expire_on_commit=False) as session:
        return session.execute(select(WebhookRow).where(WebhookRow.id == webhook_id)).scalar_one()
