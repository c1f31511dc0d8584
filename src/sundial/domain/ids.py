"""Prefixed ULIDs: `sched_01HXK...`. Lexicographic order is creation order: by millisecond
across processes, strictly within one process (ids of one millisecond count up)."""

import random
import re
import threading
import time
from enum import StrEnum


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
    WEBHOOK = "whk"
    # A delivery's id is its `webhook-id` header; Standard Webhooks' examples use msg_.
    DELIVERY = "msg"
    CHAIN = "chain"
    CHAIN_RUN = "crun"


_ID_PATTERN = re.compile(r"^(?P<prefix>[a-z]+)_(?P<ulid>[0-9A-HJKMNP-TV-Z]{26})$")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every 10-bit group as its two Crockford digits: a ULID is 13 lookups.
_PAIRS = tuple(high + low for high in _CROCKFORD for low in _CROCKFORD)
_RANDOM_BITS = 80
_RANDOM_LIMIT = 1 << _RANDOM_BITS


class _UlidSource:
    """ULIDs (48-bit millisecond time, 80 random bits) made in a few C calls, about ten times
    cheaper than python-ulid's; the firing engine makes one per fire. Within a millisecond
    the random part counts up from its first value, as the ULID spec's monotonic mode does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._millis = 0
        self._random = 0
        self._time_digits = ""

    def next(self) -> str:
        millis = time.time_ns() // 1_000_000
        with self._lock:
            if millis > self._millis:
                self._start(millis)
            else:
                # Same millisecond (or the clock stepped back): count up; on overflow, borrow
                # the next millisecond rather than repeat or go backwards.
                self._random += 1
                if self._random == _RANDOM_LIMIT:
                    self._start(self._millis + 1)
            head, random = self._time_digits, self._random
        pairs = _PAIRS
        return (
            head
            + pairs[random >> 70]
            + pairs[random >> 60 & 1023]
            + pairs[random >> 50 & 1023]
            + pairs[random >> 40 & 1023]
            + pairs[random >> 30 & 1023]
            + pairs[random >> 20 & 1023]
            + pairs[random >> 10 & 1023]
            + pairs[random & 1023]
        )

    def _start(self, millis: int) -> None:
        self._millis = millis
        # Not os.urandom: ids need to be unique, not secret, and its system call would let go
        # of the GIL on every call (a thread switch under load). The module's generator is
        # seeded from the system and reseeded in a forked child.
        self._random = random.getrandbits(_RANDOM_BITS)
        # 48 bits of time in 10 digits (the first holds 3 bits).
        self._time_digits = "".join(_PAIRS[millis >> shift & 1023] for shift in (40, 30, 20, 10, 0))


_source = _UlidSource()


def new_id(prefix: IdPrefix) -> str:
    """A fresh id of the given kind."""
    return f"{prefix}_{_source.next()}"


def is_id(value: str, prefix: IdPrefix) -> bool:
    """Whether `value` is well formed as an id of the given kind."""
    match = _ID_PATTERN.match(value)
    return match is not None and match["prefix"] == prefix
