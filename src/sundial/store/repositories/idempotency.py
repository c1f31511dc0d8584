"""Idempotency keys of Create calls (`request_id`)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from sundial.store.duplicate_keys import duplicate_keys_raised
from sundial.store.models import IdempotencyKeyRow


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    fingerprint: str
    resource_id: str
    created_at: datetime
    # A batch Create's resources, in the order of its requests (resource_id is the first).
    resource_ids: tuple[str, ...] = ()


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, workspace_id: str, operation: str, request_id: str) -> IdempotencyRecord | None:
        row = self._session.get(IdempotencyKeyRow, (workspace_id, operation, request_id))
        if row is None:
            return None
        return IdempotencyRecord(
            row.fingerprint, row.resource_id, row.created_at, tuple(row.resource_ids or ())
        )

    def add(
        self,
        workspace_id: str,
        operation: str,
        request_id: str,
        record: IdempotencyRecord,
    ) -> None:
        """Records the key at once: DuplicateKeyError if a concurrent call recorded it first
        (on PostgreSQL, once that call's transaction committed)."""
        self._session.add(
            IdempotencyKeyRow(
                workspace_id=workspace_id,
                operation=operation,
                request_id=request_id,
                fingerprint=record.fingerprint,
                resource_id=record.resource_id,
                resource_ids=list(record.resource_ids) if record.resource_ids else None,
                created_at=record.created_at,
            )
        )
        with duplicate_keys_raised():
            self._session.flush()

    def forget(self, workspace_id: str, operation: str, request_id: str) -> None:
        self._session.execute(
            delete(IdempotencyKeyRow).where(
                IdempotencyKeyRow.workspace_id == workspace_id,
                IdempotencyKeyRow.operation == operation,
                IdempotencyKeyRow.request_id == request_id,
            )
        )

    def purge(self, before: datetime, limit: int) -> int:
        """Deletes up to `limit` keys recorded before `before` (the oldest first); returns how
        many it deleted."""
        key = tuple_(
            IdempotencyKeyRow.workspace_id,
            IdempotencyKeyRow.operation,
            IdempotencyKeyRow.request_id,
        )
        expired = (
            select(
                IdempotencyKeyRow.workspace_id,
                IdempotencyKeyRow.operation,
                IdempotencyKeyRow.request_id,
            )
            .where(IdempotencyKeyRow.created_at < before)
            .order_by(IdempotencyKeyRow.created_at)
            .limit(limit)
        )
        result = self._session.execute(delete(IdempotencyKeyRow).where(key.in_(expired)))
        return int(getattr(result, "rowcount", 0) or 0)
