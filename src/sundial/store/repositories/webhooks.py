"""Webhooks: their configuration, state and signing secret."""

from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, delete, select
from sqlalchemy.orm import Session

from sundial.domain.listing import ListQuery
from sundial.domain.webhooks import Webhook, WebhookInfo, WebhookSpec, WebhookState
from sundial.store.codec import from_json, to_json
from sundial.store.models import AgentRow, DeliveryRow, ProfileRow, ScheduleRow, WebhookRow
from sundial.store.repositories.common import apply_listing, metadata_of, write_metadata
from sundial.store.repositories.tenancy import profile_of

_FILTERABLE: dict[str, Any] = {
    "name": WebhookRow.name,
    "external_id": WebhookRow.external_id,
    "bundle_key": WebhookRow.bundle_key,
}


class WebhookRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, webhook: Webhook) -> None:
        """Writes a new webhook with its `info.secret` and `info.state`."""
        meta, info = webhook.metadata, webhook.info
        assert meta.created_at is not None
        row = WebhookRow(
            id=meta.id,
            account_id=meta.account_id,
            workspace_id=meta.workspace_id,
            profile_id=meta.profile_id,
            spec=to_json(webhook.spec),
            secret=info.secret,
            state=info.state.name,
            disabled_reason=info.disabled_reason,
            disabled_at=info.disabled_at,
            revision=1,
            created_at=meta.created_at,
            updated_at=meta.created_at,
        )
        write_metadata(row, meta)
        self._session.add(row)
        self._session.flush()

    def get(
        self, workspace_id: str, webhook_id: str, *, for_update: bool = False
    ) -> Webhook | None:
        """The webhook without its secret (only `secret_hint`)."""
        statement = _GET_FOR_UPDATE if for_update else _GET
        found = self._session.execute(
            statement, {"workspace_id": workspace_id, "webhook_id": webhook_id}
        ).first()
        return None if found is None else _webhook_of(*found)

    def list_all(self, workspace_id: str) -> list[Webhook]:
        """Every webhook of the workspace, oldest first, each WITH its `info.secret`: what
        the code that signs deliveries needs."""
        statement = _select().where(WebhookRow.workspace_id == workspace_id).order_by(WebhookRow.id)
        return [
            _webhook_of(row, profile, with_secret=True)
            for row, profile in self._session.execute(statement)
        ]

    def update(self, webhook: Webhook) -> None:
        """Writes the webhook's metadata and spec and bumps its revision (the row is locked)."""
        row = self._session.get_one(WebhookRow, webhook.metadata.id)
        write_metadata(row, webhook.metadata)
        row.spec = to_json(webhook.spec)
        assert webhook.metadata.updated_at is not None
        row.updated_at = webhook.metadata.updated_at
        row.revision += 1
        self._session.flush()

    def set_state(
        self, webhook_id: str, state: WebhookState, *, reason: str, now: datetime
    ) -> None:
        """ENABLED clears why and when it was disabled and since when it was failing (a
        fresh start); DISABLED records `reason` and `now`. Bumps the revision."""
        row = self._session.get_one(WebhookRow, webhook_id)
        row.state = state.name
        if state is WebhookState.DISABLED:
            row.disabled_reason = reason
            row.disabled_at = now
        else:
            row.disabled_reason = ""
            row.disabled_at = None
            row.failing_since = None
        row.updated_at = now
        row.revision += 1
        self._session.flush()

    def set_secret(self, webhook_id: str, secret: str, *, now: datetime) -> None:
        """Replaces the signing secret; bumps the revision."""
        row = self._session.get_one(WebhookRow, webhook_id)
        row.secret = secret
        row.updated_at = now
        row.revision += 1
        self._session.flush()

    def delete(self, workspace_id: str, webhook_id: str) -> None:
        """Deletes the webhook and its deliveries (pending ones are then never sent)."""
        self._session.execute(
            delete(DeliveryRow).where(
                DeliveryRow.workspace_id == workspace_id, DeliveryRow.webhook_id == webhook_id
            )
        )
        self._session.execute(
            delete(WebhookRow).where(
                WebhookRow.workspace_id == workspace_id, WebhookRow.id == webhook_id
            )
        )

    def referrers(self, workspace_id: str, webhook_id: str) -> list[str]:
        """The ids of the workspace's schedules and agents whose spec's `deliveries` name
        the webhook, schedules first. The specs are JSON documents: a text match on the id
        (random, so it hardly ever matches elsewhere) finds the candidates portably on
        SQLite and PostgreSQL, and each candidate's document is then checked exactly."""
        found: list[str] = []
        for model in (ScheduleRow, AgentRow):
            statement = (
                select(model.id, model.spec)
                .where(
                    model.workspace_id == workspace_id,
                    cast(model.spec, String).contains(webhook_id, autoescape=True),
                )
                .order_by(model.id)
            )
            for resource_id, spec in self._session.execute(statement):
                if _names_webhook(spec, webhook_id):
                    found.append(resource_id)
        return found

    def list(self, workspace_id: str, query: ListQuery) -> list[Webhook]:
        """One page of the workspace's webhooks, without their secrets."""
        statement = apply_listing(
            _select().where(WebhookRow.workspace_id == workspace_id), WebhookRow, query, _FILTERABLE
        )
        return [_webhook_of(*found) for found in self._session.execute(statement)]


def _names_webhook(spec: dict[str, Any], webhook_id: str) -> bool:
    deliveries = spec.get("deliveries") or []
    return any(
        isinstance(item, dict) and item.get("webhook_id") == webhook_id for item in deliveries
    )


def _select() -> Any:
    """A webhook with its creator's profile."""
    return select(WebhookRow, ProfileRow).outerjoin(
        ProfileRow, ProfileRow.id == WebhookRow.profile_id
    )


_GET = _select().where(
    WebhookRow.workspace_id == bindparam("workspace_id"), WebhookRow.id == bindparam("webhook_id")
)
_GET_FOR_UPDATE = _GET.with_for_update(of=WebhookRow)


def _webhook_of(
    row: WebhookRow, profile: ProfileRow | None, *, with_secret: bool = False
) -> Webhook:
    return Webhook(
        metadata=metadata_of(row),
        spec=from_json(WebhookSpec, row.spec),
        info=WebhookInfo(
            secret=row.secret if with_secret else "",
            secret_hint=row.secret[-4:],
            state=WebhookState[row.state],
            disabled_reason=row.disabled_reason,
            disabled_at=row.disabled_at,
            last_success_at=row.last_success_at,
            failing_since=row.failing_since,
            created_by=None if profile is None else profile_of(profile),
        ),
    )
