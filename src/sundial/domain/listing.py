"""What a List use case asks the store for: parsed filter terms and a keyset page."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class FilterOp(StrEnum):
    EQ = "="
    NE = "!="


@dataclass(frozen=True, slots=True)
class FilterTerm:
    """`field op value`; for `labels.<key>` the field is "labels" and `key` is set."""

    field: str
    op: FilterOp
    value: str
    key: str = ""


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One page of a keyset-paginated listing, ordered by id (= creation order)."""

    filters: tuple[FilterTerm, ...] = ()
    after_id: str = ""
    descending: bool = False
    limit: int = 50
    show_archived: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of any List: its items, and the token of the next page ("" after the last)."""

    items: list[T]
    next_page_token: str
