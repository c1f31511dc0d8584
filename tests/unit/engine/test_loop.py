"""The firing loop's pass: batches until fewer than a full batch is due, then the reaper;
the first batches run with the cyclic garbage collector paused, and it is on again after."""

import gc
from datetime import UTC, datetime

import pytest

from sundial.domain.clock import FakeClock
from sundial.engine import loop as loop_module
from sundial.engine.loop import GC_PAUSED_BATCHES, FiringLoop


def _loop(counts: list[int], seen: list[bool], reaped: list[int]) -> FiringLoop:
    def fire_batch() -> int:
        seen.append(gc.isenabled())
        return counts.pop(0)

    return FiringLoop(
        fire_batch=fire_batch,
        earliest_due=lambda: None,
        after_pass=lambda: reaped.append(1),
        clock=FakeClock(datetime(2026, 1, 1, tzinfo=UTC)),
        batch_size=10,
    )


def test_a_pass_fires_until_a_batch_is_short_then_reaps():
    seen: list[bool] = []
    reaped: list[int] = []
    counts = [10] * (GC_PAUSED_BATCHES + 2) + [3]
    assert _loop(counts, seen, reaped).run_pass() == 10 * (GC_PAUSED_BATCHES + 2) + 3
    assert reaped == [1]
    assert seen == [False] * GC_PAUSED_BATCHES + [True] * 3
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_failed_batch():
    def fail() -> int:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        loop_module._without_gc_pauses(fail)
    assert gc.isenabled()


def test_a_collector_someone_turned_off_stays_off():
    gc.disable()
    try:
        seen: list[bool] = []
        _loop([3], seen, []).run_pass()
        assert seen == [False]
        assert not gc.isenabled()
    finally:
        gc.enable()
