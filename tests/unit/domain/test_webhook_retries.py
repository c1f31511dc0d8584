"""The webhook retry schedule (full jitter, capped, Retry-After, 24 h window, dead letter),
the rule that disables a failing target, and Retry-After parsing; random and time are fakes."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sundial.domain.webhook_retries import (
    DISABLE_AFTER,
    DeliveryRetryPolicy,
    disable_reason,
    next_attempt_at,
    parse_retry_after,
    retry_delay,
)

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
POLICY = DeliveryRetryPolicy()


def almost_one() -> float:
    return 0.999999


def test_the_ceiling_doubles_from_the_first_delay_up_to_the_cap():
    delays = [retry_delay(POLICY, n, almost_one) for n in range(1, 12)]
    ceilings = [min(10 * SECOND * 2 ** (n - 1), timedelta(hours=1)) for n in range(1, 12)]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling * 0.999 < delay <= ceiling
    assert delays[-1] <= timedelta(hours=1)


def test_full_jitter_scales_the_ceiling_by_the_draw():
    assert retry_delay(POLICY, 3, lambda: 0.0) == timedelta(0)
    assert retry_delay(POLICY, 3, lambda: 0.5) == 20 * SECOND


def test_a_huge_attempt_number_stays_at_the_cap():
    assert retry_delay(POLICY, 10**9, lambda: 0.5) == timedelta(minutes=30)


def test_retry_after_raises_the_delay_but_is_bounded():
    assert retry_delay(POLICY, 1, lambda: 0.5, retry_after=120 * SECOND) == 120 * SECOND
    assert retry_delay(POLICY, 8, lambda: 0.5, retry_after=SECOND) == 640 * SECOND
    assert retry_delay(POLICY, 1, lambda: 0.5, retry_after=timedelta(days=3)) == timedelta(hours=6)
    assert retry_delay(POLICY, 1, lambda: 0.0, retry_after=-SECOND) == timedelta(0)


@pytest.mark.parametrize("draw", [-0.1, 1.0, 2.0])
def test_a_random_source_outside_zero_one_is_refused(draw):
    with pytest.raises(ValueError, match=r"random\(\) must return a value in \[0, 1\)"):
        retry_delay(POLICY, 1, lambda: draw)


def test_attempts_start_at_one():
    with pytest.raises(ValueError, match="attempts must be at least 1, got 0"):
        retry_delay(POLICY, 0, almost_one)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"first_delay": timedelta(0)}, "first_delay must be positive"),
        ({"window": -SECOND}, "window must be positive"),
        ({"first_delay": timedelta(hours=2)}, "max_delay (1:00:00) is shorter than first_delay"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DeliveryRetryPolicy(**fields)


def test_a_delivery_that_keeps_failing_is_dead_lettered_after_24_hours():
    now, attempts = T0, 1
    while (
        at := next_attempt_at(
            POLICY, attempts=attempts, first_attempt_at=T0, now=now, random=almost_one
        )
    ) is not None:
        assert now < at <= T0 + timedelta(hours=24)
        now, attempts = at, attempts + 1
    assert now > T0 + timedelta(hours=23)  # the last attempt fell in the final hour
    assert 25 <= attempts <= 40


def test_the_next_attempt_past_the_window_is_a_dead_letter():
    late = T0 + timedelta(hours=23, minutes=59)
    assert (
        next_attempt_at(POLICY, attempts=20, first_attempt_at=T0, now=late, random=lambda: 0.5)
        is None
    )
    assert (
        next_attempt_at(POLICY, attempts=20, first_attempt_at=T0, now=late, random=lambda: 0.0)
        == late
    )


def test_retry_after_cannot_carry_a_delivery_past_the_window():
    now = T0 + timedelta(hours=20)
    at = next_attempt_at(
        POLICY,
        attempts=2,
        first_attempt_at=T0,
        now=now,
        random=lambda: 0.0,
        retry_after=timedelta(hours=5),
    )
    assert at is None


@given(
    attempts=st.integers(min_value=1, max_value=10_000),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    elapsed=st.integers(min_value=0, max_value=48 * 3600),
    retry_after=st.none() | st.integers(min_value=-10, max_value=10**7),
)
def test_the_next_attempt_is_never_before_now_nor_past_the_window(
    attempts, draw, elapsed, retry_after
):
    now = T0 + timedelta(seconds=elapsed)
    at = next_attempt_at(
        POLICY,
        attempts=attempts,
        first_attempt_at=T0,
        now=now,
        random=lambda: draw,
        retry_after=None if retry_after is None else timedelta(seconds=retry_after),
    )
    if at is not None:
        assert now <= at <= T0 + POLICY.window
        assert at - now <= max(POLICY.max_delay, POLICY.max_retry_after)


def test_a_target_failing_for_five_days_with_a_dead_letter_is_disabled():
    reason = disable_reason(failing_since=T0, dead_letters=3, now=T0 + DISABLE_AFTER)
    assert reason == (
        "every delivery has failed since 2026-12-02T12:00:00+00:00 (3 dead-lettered), "
        "longer than 5 days"
    )


@pytest.mark.parametrize(
    ("failing_since", "dead_letters", "now"),
    [
        (None, 0, T0),
        (T0, 0, T0 + timedelta(days=30)),
        (T0, 50_000, T0 + DISABLE_AFTER - SECOND),
    ],
    ids=["healthy", "no-dead-letter-yet", "not-long-enough"],
)
def test_a_target_is_not_disabled_otherwise(failing_since, dead_letters, now):
    assert disable_reason(failing_since=failing_since, dead_letters=dead_letters, now=now) is None


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("120", 120 * SECOND),
        (" 0 ", timedelta(0)),
        ("Wed, 02 Dec 2026 12:01:30 GMT", 90 * SECOND),
        ("Wed, 02 Dec 2026 11:00:00 GMT", timedelta(0)),
        ("99999999999999999999", timedelta(days=365)),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        ("١٢٠", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header, wait):
    assert parse_retry_after(header, T0) == wait
