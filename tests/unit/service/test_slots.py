"""Run slots: a bounded number of calls run at once; a waiting call holds no slot, and only
so many may wait."""

import threading

import pytest

from sundial.service.slots import CallExecutor, RunSlots


def _in_thread(action) -> bool:
    """Runs `action` in another thread; whether it finished (it must not block for long)."""
    done = threading.Event()

    def run() -> None:
        action()
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)
    return done.is_set()


def _take_and_give_back(slots: RunSlots) -> None:
    with slots.running():
        pass


def _slot_is_free(slots: RunSlots) -> bool:
    """Whether another thread could take a slot now, without waiting."""
    free: list[bool] = []

    def probe() -> None:
        taken = slots._slots.acquire(blocking=False)
        free.append(taken)
        if taken:
            slots._slots.release()

    assert _in_thread(probe)
    return free[0]


def test_only_so_many_calls_run_at_once():
    slots = RunSlots(running=2, waiting=0)
    with slots.running():
        assert _slot_is_free(slots)
        seen: list[bool] = []

        def second() -> None:
            with slots.running():
                seen.append(_slot_is_free(slots))

        assert _in_thread(second)
        assert seen == [False]
        # A thread that holds a slot keeps it: running again takes no second one.
        with slots.running():
            assert _slot_is_free(slots)
    assert _slot_is_free(slots)


def test_a_waiting_call_gives_its_slot_up_until_it_runs_again():
    slots = RunSlots(running=1, waiting=1)
    with slots.running():
        assert not _slot_is_free(slots)
        with slots.waiting() as may_wait:
            assert may_wait
            assert slots.waiting_calls == 1
            assert _in_thread(lambda: _take_and_give_back(slots))  # another call runs
        assert not _slot_is_free(slots)  # its own again, to finish
        assert slots.waiting_calls == 0
    assert _slot_is_free(slots)


def test_past_the_waiting_limit_a_call_does_not_wait_and_keeps_its_slot():
    slots = RunSlots(running=1, waiting=1)
    with slots.running(), slots.waiting() as first:
        assert first
        seen: list[bool] = []

        def second() -> None:
            with slots.running(), slots.waiting() as may_wait:
                seen.append(may_wait)
                seen.append(_slot_is_free(slots))

        assert _in_thread(second)  # it got the slot the first gave up
        assert seen == [False, False]  # it may not wait, and it still holds the one slot


def test_waiting_outside_a_running_call_holds_nothing_to_give_up():
    slots = RunSlots(running=1, waiting=1)
    with slots.waiting() as may_wait:
        assert may_wait
        assert _slot_is_free(slots)
    assert _slot_is_free(slots)


def test_limits_are_checked():
    with pytest.raises(ValueError, match="running"):
        RunSlots(running=0, waiting=1)


# The call executor: threads for the calls that may run, and one more per waiting call.


def _executor(running: int, waiting: int) -> tuple[RunSlots, CallExecutor]:
    slots = RunSlots(running=running, waiting=waiting)
    return slots, CallExecutor(slots, name="test")


def test_the_executor_runs_calls_and_hands_back_results_and_errors():
    _, executor = _executor(2, 0)
    try:
        assert executor.submit(lambda a, b=0: a + b, 1, b=2).result(timeout=30) == 3

        def fail() -> None:
            raise KeyError("boom")

        with pytest.raises(KeyError):
            executor.submit(fail).result(timeout=30)
    finally:
        executor.shutdown()
    assert not executor._threads  # every thread ended
    with pytest.raises(RuntimeError):
        executor.submit(lambda: None)


def test_no_more_threads_than_calls_may_run_however_many_are_queued():
    _, executor = _executor(2, 5)
    release = threading.Event()
    try:
        calls = [executor.submit(release.wait, 30) for _ in range(6)]
        assert len(executor._threads) == 2  # the other four queue
        release.set()
        assert all(call.result(timeout=30) for call in calls)
    finally:
        executor.shutdown()


def test_a_waiting_call_brings_a_thread_for_queued_calls_and_takes_it_away_after():
    slots, executor = _executor(1, 1)
    waiting, wake = threading.Event(), threading.Event()
    pollers: list[threading.Thread] = []

    def long_poll() -> str:
        pollers.append(threading.current_thread())
        with slots.waiting() as may_wait:
            assert may_wait
            waiting.set()
            wake.wait(30)
        return "polled"

    try:
        polled = executor.submit(long_poll)
        assert waiting.wait(30)
        # With one call allowed to run, a queued call still runs while the first waits.
        assert executor.submit(lambda: "ran").result(timeout=30) == "ran"
        assert len(executor._threads) == 2
        wake.set()
        assert polled.result(timeout=30) == "polled"
        pollers[0].join(30)  # its loop sees the wait is over: one thread too many, it ends
        assert not pollers[0].is_alive()
        assert len(executor._threads) == 1
    finally:
        executor.shutdown()
