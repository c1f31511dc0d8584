"""How many failed authentications a client may make: a token bucket per client (its IP
address: the gRPC peer's, or the REST client's that the gateway vouches for).

What the limit is for: a flood of bad credentials costs the server a SHA-256 and a cached,
indexed key lookup per API key (service.authentication), or a signature check per JWT
(against keys read once from `--jwt-keys-file`: no key is fetched per token), and it would
let a weak secret be guessed at the speed the server answers. A client past its burst is
therefore refused (RESOURCE_EXHAUSTED, with when to retry) without its credential being
verified, unless the credential is of a kind no one can guess
(`Authenticator.unguessable`): a secret Sundial generated (`sdl_` + 256 random bits) or a
JWT signed with the issuer's private key (RS256, ES256). Those are verified even while the
client is limited, so that one abuser does not lock out every valid caller behind the same
address (a NAT, a proxy, a shared host): a valid one proceeds, not counted as a failure; an
invalid one is counted and refused as before. That re-opens neither problem. The cost: a
digest and a key lookup whose "not found" is cached (10 s), so a client repeating one bad
key costs what a refusal costs; one sending a new random key each call costs an indexed
read each, about what a cheap valid call costs (over gRPC on SQLite: ~1.0 ms a call, against
~0.45 ms for a refusal unverified and ~1.0 ms for a valid ListWorkspaces), and as many
calls as the server's call limits let run; a JWT costs a public-key signature check (one
per key of its algorithm in a PEM file, which names no kid; one in a JWKS). Guessing: no
answer helps guess 256 random bits or forge a signature. What stays refused unverified: a
secret an operator chose (SUNDIAL_BOOTSTRAP_API_KEY, which may be weak for all Sundial
knows), HS256 tokens (a shared secret, for development), and anything malformed."""

import threading
from datetime import UTC, datetime, timedelta

from cachetools import TTLCache

from sundial.domain.clock import Clock
from sundial.domain.errors import ResourceExhaustedError

# Clients kept in memory at most.
_CACHE_LIMIT = 100_000


class FailureLimiter:
    """Rate-limits failed authentications per client: a token bucket of `burst` failures
    that refills `per_minute` a minute. A client whose bucket is empty is `limited`: `check`
    refuses it with RESOURCE_EXHAUSTED (the caller decides which credentials it verifies
    first, as the module's docstring says)."""

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

    def limited(self, client: str) -> bool:
        """Whether the client has no failure left to make now (`check` would refuse it)."""
        return self._tokens_now(client) < 1.0

    def check(self, client: str) -> None:
        """Raises RESOURCE_EXHAUSTED, saying when to retry, if the client is limited."""
        tokens = self._tokens_now(client)
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

    def _tokens_now(self, client: str) -> float:
        with self._lock:
            tokens = self._tokens(client, self._clock.now())
            if tokens >= self._burst:
                self._buckets.pop(client, None)  # refilled: forget the client again
        return tokens

    def _tokens(self, client: str, now: datetime) -> float:
        bucket = self._buckets.get(client)
        if bucket is None:
            return self._burst
        tokens, at = bucket
        refilled = tokens + (now - at).total_seconds() * self._per_second
        return min(refilled, self._burst)
