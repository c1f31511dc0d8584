"""Pieces every workspace-resource repository shares: etags, metadata, listing."""

import hashlib
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.listing import FilterOp, FilterTerm, ListQuery
from sundial.domain.metadata import ResourceMetadata
from sundial.store.models import (
    AgentRow,
    ChainRow,
    ChainRunRow,
    DeliveryRow,
    ObjectiveRow,
    ScheduleRow,
    WebhookRow,
)

ResourceRow = AgentRow | ScheduleRow | WebhookRow | ChainRow
ListedRow = (
    AgentRow | ScheduleRow | ObjectiveRow | WebhookRow | DeliveryRow | ChainRow | ChainRunRow
)
S = TypeVar("S", bound=Select[Any])


def etag_of(resource_id: str, revision: int) -> str:
    """An opaque version tag that changes with every write of the resource."""
    return hashlib.blake2b(f"{resource_id}:{revision}".encode(), digest_size=8).hexdigest()


def metadata_of(row: ResourceRow) -> ResourceMetadata:
    return ResourceMetadata(
        id=row.id,
        account_id=row.account_id,
        workspace_id=row.workspace_id,
        profile_id=row.profile_id,
        name=row.name,
        bundle_key=row.bundle_key,
        external_id=row.external_id,
        labels=dict(row.labels),
        created_at=row.created_at,
        updated_at=row.updated_at,
        etag=etag_of(row.id, row.revision),
    )


def write_metadata(row: ResourceRow, metadata: ResourceMetadata) -> None:
    row.name = metadata.name
    row.bundle_key = metadata.bundle_key
    row.external_id = metadata.external_id
    row.labels = dict(metadata.labels)


def apply_listing(
    statement: S, model: type[ListedRow], query: ListQuery, columns: dict[str, Any]
) -> S:
    """Adds the filter terms, the keyset position and the order to `statement`."""
    for term in query.filters:
        statement = statement.where(_condition(model, term, columns))
    if query.after_id:
        boundary = model.id < query.after_id if query.descending else model.id > query.after_id
        statement = statement.where(boundary)
    order = model.id.desc() if query.descending else model.id.asc()
    return statement.order_by(order).limit(query.limit + 1)


def _condition(
    model: type[ListedRow], term: FilterTerm, columns: dict[str, Any]
) -> ColumnElement[bool]:
    if term.field == "labels" and hasattr(model, "labels"):
        column: Any = model.labels[term.key].as_string()
    elif term.field in columns:
        column = columns[term.field]
    else:
        raise InvalidArgumentError.single("filter", f"cannot filter on {term.field!r}")
    if term.op is FilterOp.EQ:
        return and_(column.is_not(None), column == term.value)
    # A missing label is "not equal" to any value.
    return or_(column.is_(None), column != term.value)
