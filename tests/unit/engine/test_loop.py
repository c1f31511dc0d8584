"""The firing loop's pass: batches until fewer than a full batch is due, then the reaper;
the first batches run with the cyclic garbage collector paused, and it is on again after.
And its sleep: which wake-ups end it."""

import gc
import threading
from datetime import UTC, datetime, timedelta

import pytest

from sundial.domain.clock import FakeClock
from sundial.engine import loop as loop_module
from sundial.engine.loop import GC_PAUSED_BATCHES, Alarm, FiringLoop


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


# The alarm the loop sleeps on: a ring for earlier than the loop's wake-up wakes it, a later
# one does not (the loop reads the database by then anyway), and none is lost while it is awake.
WAKE_UP = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)


def _sleep_through(rings: list[datetime | None]) -> bool:
    """Whether a loop asleep until WAKE_UP is woken by `rings` (rung while it sleeps)."""
    alarm = Alarm()
    event_wait = alarm._event.wait

    def wait(timeout: float | None = None) -> bool:
        for due_at in rings:
            alarm.ring(due_at)
        return event_wait(0)  # no real sleep: the answer is whether it was rung

    alarm._event.wait = wait  # type: ignore[method-assign]
    return alarm.sleep(WAKE_UP, 3600)


def test_a_ring_for_the_wake_up_or_later_lets_the_loop_sleep_on():
    assert not _sleep_through([WAKE_UP, WAKE_UP + timedelta(days=1)])


def test_a_ring_for_earlier_than_the_wake_up_wakes_the_loop():
    assert _sleep_through([WAKE_UP + timedelta(days=1), WAKE_UP - timedelta(microseconds=1)])


def test_a_ring_for_no_time_is_for_now():
    assert _sleep_through([None])


def test_a_ring_while_the_loop_is_awake_ends_its_next_sleep_at_once():
    alarm = Alarm()
    alarm.ring(WAKE_UP + timedelta(days=365))
    assert alarm.sleep(WAKE_UP, 3600)  # returns at once: a pass is owed
    assert not _sleep_through([])  # and each sleep starts afresh


def test_the_loop_runs_a_pass_when_woken_for_a_fire_before_its_wake_up(monkeypatch):
    monkeypatch.setattr(loop_module, "MAX_SLEEP", timedelta(days=1))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    passes = threading.Semaphore(0)
    loop = FiringLoop(
        fire_batch=lambda: 0,
        earliest_due=lambda: None,  # nothing due: it sleeps a day
        after_pass=passes.release,
        clock=FakeClock(now),
        batch_size=10,
    )
    loop.start()
    try:
        assert passes.acquire(timeout=60)
        loop.wake(now + timedelta(hours=1))
        assert passes.acquire(timeout=60)  # a day early
    finally:
        loop.stop()


def test_the_loop_waits_out_an_unavailable_database_with_one_line_and_resumes(monkeypatch, caplog):
    from sundial.domain.errors import UnavailableError

    monkeypatch.setattr(loop_module, "ERROR_BACKOFF", timedelta(0))
    outcomes: list[int | None] = [None, None, None, 0]
    passes = threading.Semaphore(0)

    def fire_batch() -> int:
        outcome = outcomes.pop(0) if outcomes else 0
        passes.release()
        if outcome is None:
            raise UnavailableError("the database is unavailable", retry_after_seconds=1)
        return outcome

    loop = FiringLoop(
        fire_batch=fire_batch,
        earliest_due=lambda: None,
        after_pass=lambda: None,
        clock=FakeClock(datetime(2026, 1, 1, tzinfo=UTC)),
        batch_size=10,
    )
    with caplog.at_level("INFO", logger="sundial.engine"):
        loop.start()
        try:
            for _ in range(4):
                assert passes.acquire(timeout=30)
        finally:
            loop.stop()
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages[0] == ("INFO", "firing paused: the database is unavailable")
    assert messages[1] == ("INFO", "firing resumed")
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert all(r.exc_info is None for r in caplog.records)
