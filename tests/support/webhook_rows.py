"""Webhooks written straight into the store, for tests of what reads them (the outbox, the
delivery checks) that must not depend on the webhook API."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.principals import Principal
from sundial.domain.webhooks import WebhookSpec, WebhookState
from sundial.store.codec import to_json
from sundial.store.database import Database
from sundial.store.models import DeliveryRow, WebhookRow


def add_webhook(
    database: Database,
    principal: Principal,
    workspace_id: str,
    spec: WebhookSpec | None = None,
    *,
    now: datetime,
    state: WebhookState = WebhookState.ENABLED,
    name: str = "hook",
) -> str:
    webhook_id = new_id(IdPrefix.WEBHOOK)
    with Session(database.writer) as session:
        session.add(
            WebhookRow(
                id=webhook_id,
                account_id=principal.account_id,
                workspace_id=workspace_id,
                profile_id=principal.profile_id,
                name=name,
                labels={},
                spec=to_json(spec or WebhookSpec(url="https://example.com/hook")),
                secret="whsec_" + "A" * 32,
                state=state.name,
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    return webhook_id


def delivery_rows(database: Database) -> list[DeliveryRow]:
    """Every delivery, oldest first (ids are time-ordered within a test's clock)."""
    with Session(database.reader) as session:
        return list(
            session.scalars(
                select(DeliveryRow).order_by(DeliveryRow.created_at, DeliveryRow.webhook_id)
            )
        )
