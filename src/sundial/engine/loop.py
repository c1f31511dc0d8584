"""The firing loop: fire what is due in batches, then sleep until the next schedule falls
due or something wakes it: a schedule was created, edited or resumed with a fire earlier than
the loop's wake-up time."""

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sundial.domain.clock import Clock
from sundial.domain.errors import UnavailableError

logger = logging.getLogger("sundial.engine")

MAX_SLEEP = timedelta(seconds=5)
ERROR_BACKOFF = timedelta(seconds=1)
# The first batches of a pass run with Python's cyclic garbage collector paused (see
# _without_gc_pauses); later ones are catch-up work, where a pause matters less than memory.
GC_PAUSED_BATCHES = 4


class FiringLoop:
    """Runs `fire_batch` (returns how many schedules it handled, at most `batch_size`)
    until nothing is due, then `after_pass` (the reaper), then sleeps. `on_pass` hears of
    each pass that ended: how many schedules it handled, and how long it took (seconds).
    `around_pass` makes the context each pass runs in (the tracer's span of the pass)."""

    def __init__(
        self,
        *,
        fire_batch: Callable[[], int],
        earliest_due: Callable[[], datetime | None],
        after_pass: Callable[[], object],
        clock: Clock,
        batch_size: int,
        on_pass: Callable[[int, float], None] | None = None,
        around_pass: Callable[[], contextlib.AbstractContextManager[object]] = (
            contextlib.nullcontext
        ),
    ) -> None:
        self._fire_batch = fire_batch
        self._on_pass = on_pass
        self._around_pass = around_pass
        self._earliest_due = earliest_due
        self._after_pass = after_pass
        self._clock = clock
        self._batch_size = batch_size
        self._alarm = Alarm()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Set while passes fail because the database is unavailable: one line per outage.
        self._waiting_for_database = False

    def run_pass(self) -> int:
        """Fires everything due now; returns how many schedules were handled."""
        with self._around_pass():
            return self._run_pass()

    def _run_pass(self) -> int:
        started = time.perf_counter()
        handled = 0
        batches = 0
        while not self._stop.is_set():
            batches += 1
            if batches <= GC_PAUSED_BATCHES:
                count = _without_gc_pauses(self._fire_batch)
            else:
                count = self._fire_batch()
            handled += count
            if count < self._batch_size:
                break
        self._after_pass()
        if self._on_pass is not None:
            self._on_pass(handled, time.perf_counter() - started)
        return handled

    def wake(self, due_at: datetime | None = None) -> None:
        """Runs a pass now, or, told when a changed schedule falls due, by then: a loop
        asleep until no later than that sleeps on (it reads what is due when it wakes)."""
        self._alarm.ring(due_at)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="firing-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Lets the current batch finish (it is one transaction), then returns."""
        self._stop.set()
        self._alarm.ring(None)
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pass()
                delay = self._sleep_time()
            except UnavailableError as error:
                if not self._waiting_for_database:
                    self._waiting_for_database = True
                    # INFO: the outage itself is warned of once, where it is watched.
                    logger.info("firing paused: %s", error.message)
                # Woken (wake()) when the database is back; the backoff is the fallback.
                delay = ERROR_BACKOFF
            except Exception:
                logger.exception("firing pass failed; retrying")
                delay = ERROR_BACKOFF
            else:
                if self._waiting_for_database:
                    self._waiting_for_database = False
                    logger.info("firing resumed")
            self._alarm.sleep(self._clock.now() + delay, delay.total_seconds())

    def _sleep_time(self) -> timedelta:
        earliest = self._earliest_due()
        if earliest is None:
            return MAX_SLEEP
        return max(timedelta(0), min(MAX_SLEEP, earliest - self._clock.now()))


class Alarm:
    """What the loop sleeps on. While it sleeps until a moment, a ring for that moment or
    later lets it sleep on; any other ring (or one while it is awake) makes it run another
    pass as soon as it would sleep. A ring is never lost: it either wakes the loop, or the
    loop reads the database at or before the time rung for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._until: datetime | None = None

    def ring(self, due_at: datetime | None) -> None:
        """`due_at`: when what changed falls due; None: now."""
        with self._lock:
            if due_at is None or self._until is None or due_at < self._until:
                self._event.set()

    def sleep(self, until: datetime, seconds: float) -> bool:
        """Sleeps `seconds` (which take the loop to `until`) unless rung for earlier;
        returns whether it was rung."""
        with self._lock:
            self._until = until
        rung = self._event.wait(seconds)
        with self._lock:
            # Awake: every ring from here on counts, until the next sleep.
            self._until = None
            self._event.clear()
        return rung


def _without_gc_pauses(fire_batch: Callable[[], int]) -> int:
    """Runs `fire_batch` with the cyclic garbage collector paused. A full collection of a
    large heap takes tens of milliseconds; one that falls due mid-batch now runs after the
    batch has committed (at the next allocation), not between a fire's time and the moment
    workers can see its objective."""
    if not gc.isenabled():
        return fire_batch()
    gc.disable()
    try:
        return fire_batch()
    finally:
        gc.enable()
