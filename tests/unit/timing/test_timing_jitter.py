"""Deterministic jitter."""

from hashlib import blake2b

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sundial.timing.jitter import jitter_delay_ms


def test_matches_an_independent_computation() -> None:
    digest = blake2b(b"sched_01ABC\x1f1704067200", digest_size=8, person=b"sundial-jitter").digest()
    expected = (int.from_bytes(digest, "big") * 60_000) >> 64
    assert jitter_delay_ms("sched_01ABC", 1704067200, 60_000, None) == expected == 27_294


@pytest.mark.parametrize(
    ("jitter_ms", "gap_ms", "bound"),
    [
        (60_000, None, 60_000),
        (60_000, 1_000, 1_000),
        (500, 60_000, 500),
        (0, 1_000, 0),
        (1, None, 1),
    ],
)
def test_bounded_by_jitter_and_gap(jitter_ms: int, gap_ms: int | None, bound: int) -> None:
    delays = {jitter_delay_ms(f"s{i}", 1_700_000_000 + i, jitter_ms, gap_ms) for i in range(200)}
    assert all(0 <= delay < max(bound, 1) for delay in delays)
    if bound > 100:
        assert len(delays) > 100  # spread out, not stuck at one value


@given(
    schedule_id=st.text(max_size=20),
    nominal=st.integers(-(10**10), 10**11),
    jitter_ms=st.integers(0, 10**12),
    gap_ms=st.one_of(st.none(), st.integers(1, 10**12)),
)
def test_in_range_and_repeatable(
    schedule_id: str, nominal: int, jitter_ms: int, gap_ms: int | None
) -> None:
    delay = jitter_delay_ms(schedule_id, nominal, jitter_ms, gap_ms)
    assert delay == jitter_delay_ms(schedule_id, nominal, jitter_ms, gap_ms)
    assert delay == 0 or 0 <= delay < min(jitter_ms, gap_ms or jitter_ms)
