"""Prefixed ULIDs: `sched_01HXK...`. Lexicographic order is creation order (to the millisecond)."""

import re
from enum import StrEnum

from ulid import ULID


class IdPrefix(StrEnum):
    """The prefix of each kind of id."""

    ACCOUNT = "acct"
    WORKSPACE = "ws"
    PROFILE = "prof"
    AGENT = "agent"
    SCHEDULE = "sched"
    OBJECTIVE = "obj"
    API_KEY = "key"
    REQUEST = "req"


_ID_PATTERN = re.compile(r"^(?P<prefix>[a-z]+)_(?P<ulid>[0-9A-HJKMNP-TV-Z]{26})$")


def new_id(prefix: IdPrefix) -> str:
    """A fresh id of the given kind."""
    return f"{prefix}_{ULID()}"


def is_id(value: str, prefix: IdPrefix) -> bool:
    """Whether `value` is well formed as an id of the given kind."""
    match = _ID_PATTERN.match(value)
    return match is not None and match["prefix"] == prefix
