"""Deliveries written straight into the outbox table, for tests of the read side (the outbox
and the dispatcher write them in production)."""

from datetime import datetime
from typing import Any

from sqlalchemy import update

from sundial.domain.ids import IdPrefix, new_id
from sundial.store.database import Database
from sundial.store.models import DeliveryRow, ScheduleRow
from sundial.store.unit_of_work import UnitOfWork


def insert_delivery(
    database: Database,
    *,
    account_id: str,
    workspace_id: str,
    webhook_id: str,
    at: datetime,
    **columns: Any,
) -> str:
    """A PENDING objective.succeeded delivery due at `at`; `columns` change any column."""
    delivery_id = columns.pop("id", None) or new_id(IdPrefix.DELIVERY)
    values: dict[str, Any] = {
        "event_type": "OBJECTIVE_SUCCEEDED",
        "format": "JSON",
        "body": {"type": "objective.succeeded"},
        "status": "PENDING",
        "next_attempt_at": at,
        "window_started_at": at,
        "created_at": at,
        "updated_at": at,
    }
    values.update(columns)
    with UnitOfWork(database, write=True) as uow:
        uow.session.add(
            DeliveryRow(
                id=delivery_id,
                account_id=account_id,
                workspace_id=workspace_id,
                webhook_id=webhook_id,
                **values,
            )
        )
        uow.commit()
    return delivery_id


def name_in_schedule_deliveries(database: Database, schedule_id: str, webhook_id: str) -> None:
    """Makes the schedule's stored spec list the webhook in its `deliveries`, as a schedule
    written with result deliveries stores it."""
    with UnitOfWork(database, write=True) as uow:
        row = uow.session.get_one(ScheduleRow, schedule_id)
        spec = dict(row.spec)
        spec["deliveries"] = [{"webhook_id": webhook_id, "format": "JSON", "condition": ""}]
        uow.session.execute(
            update(ScheduleRow).where(ScheduleRow.id == schedule_id).values(spec=spec)
        )
        uow.commit()
