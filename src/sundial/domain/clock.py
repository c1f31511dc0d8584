"""Time as a dependency: the engine and the services read "now" from a Clock, so tests
drive a FakeClock through DST changes and outages without sleeping."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

# The latest moment the service computes: a deadline, backoff or catch-up end past it (from a
# stored duration absurdly long) is clamped to it rather than overflowing. A day short of
# datetime.max, so that it can still be shown in any time zone.
LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def later(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, or LATEST when that would be later (or past what datetime holds)."""
    try:
        return min(moment + delta, LATEST)
    except OverflowError:
        return LATEST


class Clock(Protocol):
    """A source of the current time (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"FakeClock needs a timezone-aware start, got {start!r}")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)
