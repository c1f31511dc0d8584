"""Webhooks and outbox rows written straight into the store, for the dispatcher's tests:
what the webhook API and the outbox writers store, without depending on either."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.webhooks import DeliveryStatus, EventType, WebhookSpec, WebhookState
from sundial.service.webhook_signing import generate_secret
from sundial.store.codec import to_json
from sundial.store.models import DeliveryRow, WebhookRow
from tests.support.tenants import Tenant


def add_webhook(
    tenant: Tenant,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    state: WebhookState = WebhookState.ENABLED,
    secret: str | None = None,
    event_types: tuple[EventType, ...] = (),
) -> tuple[str, str]:
    """A webhook of the tenant's workspace posting to `url`; returns its id and secret."""
    now = tenant.clock.now()
    webhook_id = new_id(IdPrefix.WEBHOOK)
    secret = secret or generate_secret()
    row = WebhookRow(
        id=webhook_id,
        account_id=tenant.principal.account_id,
        workspace_id=tenant.workspace_id,
        profile_id=tenant.principal.profile_id,
        name="hook",
        bundle_key="",
        external_id="",
        labels={},
        spec=to_json(WebhookSpec(url=url, headers=headers or {}, event_types=event_types)),
        revision=1,
        secret=secret,
        state=state.name,
        disabled_reason="",
        created_at=now,
        updated_at=now,
    )
    with Session(tenant.database.writer) as session, session.begin():
        session.add(row)
    return webhook_id, secret


def add_delivery(
    tenant: Tenant,
    webhook_id: str,
    body: dict[str, Any] | None = None,
    *,
    due_at: datetime | None = None,
) -> str:
    """A PENDING delivery to the webhook, due at `due_at` (default now); returns its id."""
    now = tenant.clock.now()
    delivery_id = new_id(IdPrefix.DELIVERY)
    row = DeliveryRow(
        id=delivery_id,
        account_id=tenant.principal.account_id,
        workspace_id=tenant.workspace_id,
        webhook_id=webhook_id,
        event_type="OBJECTIVE_SUCCEEDED",
        objective_id="",
        schedule_id="",
        agent_id="",
        format="JSON",
        body=body if body is not None else {"type": "objective.succeeded", "n": 1},
        status=DeliveryStatus.PENDING.name,
        attempts=0,
        last_http_status=0,
        last_error="",
        next_attempt_at=due_at or now,
        window_started_at=now,
        created_at=now,
        updated_at=now,
    )
    with Session(tenant.database.writer) as session, session.begin():
        session.add(row)
    return delivery_id


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
