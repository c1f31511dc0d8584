"""Retry backoff: exponential and capped, and never an overflow whatever a stored retry
policy holds."""

from datetime import UTC, datetime, timedelta

import pytest

from sundial.domain.clock import LATEST, later
from sundial.domain.schedules import RetryPolicy
from sundial.service.objective_endings import backoff

SECOND = timedelta(seconds=1)


def test_backoff_grows_by_the_multiplier_up_to_the_cap():
    policy = RetryPolicy(initial_backoff=10 * SECOND, max_backoff=35 * SECOND)
    assert [backoff(policy, attempt) for attempt in (1, 2, 3)] == [
        10 * SECOND,
        20 * SECOND,
        35 * SECOND,
    ]


@pytest.mark.parametrize(
    ("policy", "attempt", "cap"),
    [
        (RetryPolicy(backoff_multiplier=2.0, max_backoff=timedelta.max), 5000, timedelta.max),
        (RetryPolicy(backoff_multiplier=1e308, max_backoff=timedelta.max), 3, timedelta.max),
        (RetryPolicy(initial_backoff=timedelta(days=999_999_999)), 1, timedelta(hours=1)),
    ],
    ids=["float overflow", "infinite", "initial past the default cap"],
)
def test_an_absurd_policy_gives_its_cap(policy, attempt, cap):
    assert backoff(policy, attempt) == cap


def test_a_moment_past_what_a_datetime_holds_is_clamped_to_latest():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert later(now, timedelta(seconds=315_576_000_000)) == LATEST
    assert later(now, timedelta(days=365)) == datetime(2027, 6, 1, tzinfo=UTC)
    assert later(LATEST, SECOND) == LATEST
