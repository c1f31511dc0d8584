"""How many failed authentications a client may make: a token bucket per client."""

import threading
from datetime import UTC, datetime, timedelta

from cachetools import TTLCache

from sundial.domain.clock import Clock
from sundial.domain.errors import ResourceExhaustedError

# Clients kept in memory at most.
_CACHE_LIMIT = 100_000


class FailureLimiter:
    """Rate-limits failed authentications per client: a token bucket of `burst` failures
    that refills `per_minute` a minute. A client whose bucket is empty gets
    RESOURCE_EXHAUSTED before its credentials are even looked at."""

    def __init__(self, clock: Clock, *, burst: int, per_minute: float) -> None:
        self._clock = clock
        self._burst = float(burst)
        self._per_second = per_minute / 60.0
        # A bucket that has refilled is as good as none: it expires then, and past the size
        # limit the least recently failed go first (a flood of new clients cannot empty it).
        refill = self._burst / self._per_second if self._per_second > 0 else 365 * 86_400.0
        self._buckets: TTLCache[str, tuple[float, datetime]] = TTLCache(
            maxsize=_CACHE_LIMIT, ttl=refill, timer=lambda: clock.now().timestamp()
        )
        # When every bucket is full again (the last failure plus a whole refill).
        self._all_refilled_at = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether any client has failures on record that its bucket has not refilled yet;
        while none has, every check would pass, so callers need not say who calls."""
        if not self._buckets:
            return False
        if self._clock.now() < self._all_refilled_at:
            return True
        with self._lock:
            if self._clock.now() >= self._all_refilled_at:
                self._buckets.clear()
            return bool(self._buckets)

    def check(self, client: str) -> None:
        with self._lock:
            tokens = self._tokens(client, self._clock.now())
            if tokens >= self._burst:
                self._buckets.pop(client, None)  # refilled: forget the client again
        if tokens < 1.0:
            wait = (1.0 - tokens) / self._per_second if self._per_second > 0 else 60.0
            raise ResourceExhaustedError(
                "too many failed authentications from this client; retry later",
                retry_after_seconds=wait,
            )

    def failed(self, client: str) -> None:
        with self._lock:
            now = self._clock.now()
            tokens = self._tokens(client, now)
            self._buckets[client] = (max(tokens - 1.0, 0.0), now)
            refill = (
                timedelta(seconds=self._burst / self._per_second)
                if self._per_second > 0
                else timedelta(days=365)
            )
            self._all_refilled_at = max(self._all_refilled_at, now + refill)

    def _tokens(self, client: str, now: datetime) -> float:
        bucket = self._buckets.get(client)
        if bucket is None:
            return self._burst
        tokens, at = bucket
        refilled = tokens + (now - at).total_seconds() * self._per_second
        return min(refilled, self._burst)
