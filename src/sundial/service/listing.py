"""Turns a List request's paging fields into a store query and the store's rows into a page."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.listing import ListQuery, Page
from sundial.domain.metadata import ResourceMetadata
from sundial.service.filtering import ValueNormalizer, parse_filter
from sundial.service.pagination import (
    PageRequest,
    decode_page_token,
    effective_page_size,
    encode_page_token,
    query_fingerprint,
)

# The agent id that lists the children of every agent (AIP-159).
ALL_AGENTS = "-"


class _Resource(Protocol):
    @property
    def metadata(self) -> ResourceMetadata: ...


R = TypeVar("R", bound=_Resource)


@dataclass(frozen=True, slots=True)
class PreparedQuery:
    query: ListQuery
    fingerprint: str


def prepare_query(
    request: PageRequest,
    fields: Mapping[str, ValueNormalizer | None],
    *,
    scope: Sequence[str],
    show_archived: bool = False,
    newest_first: bool = False,
) -> PreparedQuery:
    """Validates the paging fields; `scope` (workspace, parent, flags) binds the token."""
    limit = effective_page_size(request.page_size)
    descending = newest_first or _parse_order_by(request.order_by)
    filters = parse_filter(request.filter, fields)
    fingerprint = query_fingerprint(
        *scope, request.filter, request.order_by.strip(), str(show_archived)
    )
    after_id = decode_page_token(request.page_token, fingerprint)
    query = ListQuery(filters, after_id, descending, limit, show_archived)
    return PreparedQuery(query, fingerprint)


def page_of(
    prepared: PreparedQuery, rows: list[R], convert: Callable[[R], R] | None = None
) -> Page[R]:
    """The page: the store returns one row more than asked when there is a next page."""
    limit = prepared.query.limit
    items = rows[:limit]
    token = ""
    if len(rows) > limit:
        token = encode_page_token(items[-1].metadata.id, prepared.fingerprint)
    if convert is not None:
        items = [convert(item) for item in items]
    return Page(items, token)


def _parse_order_by(order_by: str) -> bool:
    words = order_by.replace(",", " ").split()
    if not words or words in (["created_at"], ["created_at", "asc"]):
        return False
    if words == ["created_at", "desc"]:
        return True
    raise InvalidArgumentError.single(
        "order_by", f"cannot order by {order_by!r}: use 'created_at' or 'created_at desc'"
    )
