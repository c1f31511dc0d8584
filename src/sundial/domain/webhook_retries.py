"""When a failed webhook delivery is tried again, when it is given up (dead-lettered), and
when a target that keeps failing is disabled (issue 14, item 5). Pure functions: the caller
passes the clock's `now` and a random source, so tests drive them with fakes.

The schedule is exponential backoff with full jitter (the delay before retry n is uniform in
[0, min(max_delay, first_delay * 2^(n-1)))), as in AWS's "Exponential Backoff and Jitter":
full jitter spreads the retries of many deliveries that failed together (a target that came
back after an outage) instead of sending them in synchronized waves. A `Retry-After` from
the target raises the delay to what it asked, bounded by `max_retry_after` so a target
cannot park a delivery beyond the window. Retries go on while the next attempt would start
within `window` (24 h) of the first attempt; after that the delivery is dead-lettered.

A target is disabled when every delivery to it has failed for `DISABLE_AFTER` (5 days, as
Svix does) and at least one delivery was dead-lettered in that time. The rule counts time,
not dead letters: a count depends on traffic (a target receiving 200 events a second piles
up thousands of dead letters a day after a one-day outage; one receiving an event a week
would need months), while five days of uninterrupted failure means the same for both. Five
days outlasts a long weekend's outage, which an operator fixes on Monday without having to
re-enable anything; and the dead letter is the proof that a full 24 h retry window failed,
not just a recent burst.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sundial.domain.clock import later

DISABLE_AFTER = timedelta(days=5)
# A Retry-After in seconds is clamped here (a year) before it becomes a timedelta: any larger
# number means the same to a policy that bounds it to hours, and cannot overflow.
LATEST_WAIT = timedelta(days=365)
# 2^40 times any sensible first delay is far past every cap: stops the power from growing.
_MAX_DOUBLINGS = 40


@dataclass(frozen=True)
class DeliveryRetryPolicy:
    """The backoff of webhook deliveries. With the defaults a delivery that always fails is
    tried 44 to 73 times in its 24 h (median 56, over 2,000 random seeds): the delay's
    ceiling doubles from 10 s to the 1 h cap by the 10th retry, then averages 30 min."""

    first_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(hours=1)
    max_retry_after: timedelta = timedelta(hours=6)
    window: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        for name in ("first_delay", "max_delay", "max_retry_after", "window"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(
                    f"DeliveryRetryPolicy.{name} must be positive, got {getattr(self, name)}"
                )
        if self.max_delay < self.first_delay:
            raise ValueError(
                f"DeliveryRetryPolicy.max_delay ({self.max_delay}) is shorter than first_delay "
                f"({self.first_delay})"
            )


def retry_delay(
    policy: DeliveryRetryPolicy,
    attempts: int,
    random: Callable[[], float],
    retry_after: timedelta | None = None,
) -> timedelta:
    """The wait after the `attempts`-th failed attempt (1 for the first): full jitter, raised
    to the target's `Retry-After` (bounded by `policy.max_retry_after`) when it sent one."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    draw = random()
    if not 0.0 <= draw < 1.0:
        raise ValueError(f"random() must return a value in [0, 1), got {draw}")
    ceiling = min(policy.max_delay, policy.first_delay * 2 ** min(attempts - 1, _MAX_DOUBLINGS))
    delay: timedelta = ceiling * draw
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, timedelta(0)), policy.max_retry_after))
    return delay


def next_attempt_at(
    policy: DeliveryRetryPolicy,
    *,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    random: Callable[[], float],
    retry_after: timedelta | None = None,
) -> datetime | None:
    """When to try again after the `attempts`-th failure at `now`, or None: dead-letter it,
    the next attempt would start past `policy.window` from the first."""
    at = later(now, retry_delay(policy, attempts, random, retry_after))
    return None if at > later(first_attempt_at, policy.window) else at


def disable_reason(
    *, failing_since: datetime | None, dead_letters: int, now: datetime
) -> str | None:
    """Why a target should be disabled now, or None. `failing_since` is the first failed
    attempt since its last success (None when the last attempt succeeded), `dead_letters`
    the deliveries dead-lettered since then."""
    if failing_since is None or dead_letters < 1 or now - failing_since < DISABLE_AFTER:
        return None
    return (
        f"every delivery has failed since {failing_since.isoformat()} "
        f"({dead_letters} dead-lettered), longer than {DISABLE_AFTER.days} days"
    )


def parse_retry_after(value: str, now: datetime) -> timedelta | None:
    """A `Retry-After` header as a wait from `now` (RFC 9110: delay-seconds or an HTTP date),
    or None when it is neither. A date in the past is a wait of zero."""
    text = value.strip()
    if text.isascii() and text.isdigit():
        return timedelta(seconds=min(int(text), int(LATEST_WAIT.total_seconds())))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        moment = moment.replace(tzinfo=UTC)
    return max(moment - now, timedelta(0))
