"""The delivery dispatcher (engine role): sends the deliveries outbox to its webhooks, at
least once, with one stable `webhook-id` (the delivery's id) across attempts.

Three parts, on threads of their own:
- the taker takes due deliveries, as many as there are free slots, each leased for `lease`
  in one short transaction (`store.repositories.dispatch`);
- a pool of `concurrency` senders POSTs them (`service.webhooks.WebhookSender`: pooled,
  guarded, signed); a slow target holds one slot, not a batch;
- the recorder writes the attempts that ended, all those waiting in one transaction
  (`service.delivery_attempts`), and in the same transaction takes deliveries for the slots
  it frees, so that a busy dispatcher spends one transaction per batch.

The taker sleeps until the next delivery (or lease end) falls due, and is woken at once when
deliveries are written (`Notifier.deliveries_written`, on PostgreSQL from other replicas
too) and when an attempt schedules a retry earlier than it would wake. While busy (less
than a quarter of the slots free) it leaves refilling to the recorder. `dispatch_due()`
does one pass synchronously, for tests with a fake clock."""

import logging
import queue
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sundial.domain.clock import Clock, later
from sundial.domain.errors import UnavailableError
from sundial.domain.webhook_retries import DeliveryRetryPolicy
from sundial.engine.loop import Alarm
from sundial.metrics import Metrics
from sundial.service.delivery_attempts import (
    AttemptRecorder,
    RecordedBatch,
    SentAttempt,
    send_attempt,
)
from sundial.service.outbox import Outbox
from sundial.service.webhooks import WebhookSender
from sundial.store.database import Database
from sundial.store.repositories.dispatch import TakenDelivery
from sundial.store.unit_of_work import UnitOfWork

logger = logging.getLogger("sundial.deliveries")

# Longer than an attempt may take (the sender's timeout, 10 s, plus recording it): a live
# sender's delivery is never taken twice, a crashed one's is taken again after this.
DEFAULT_LEASE = timedelta(minutes=1)
DEFAULT_CONCURRENCY = 16
# Also the longest a delivery written without a wake-up (by a process that cannot notify
# this one: another on the same SQLite file) waits; a poll is one indexed MIN() query.
MAX_SLEEP = timedelta(seconds=1)
ERROR_BACKOFF = timedelta(seconds=1)
# While due rows exist that this dispatcher could not take (another replica holds them
# locked for a moment), it looks again after this rather than spinning.
BUSY_RETRY = timedelta(milliseconds=20)


class DeliveryDispatcher:
    """Takes due deliveries and sends them; `start()` runs it on its threads, `stop()` lets
    the attempts in flight finish and record."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        sender: WebhookSender,
        *,
        metrics: Metrics | None = None,
        outbox: Outbox | None = None,
        policy: DeliveryRetryPolicy | None = None,
        random_source: Callable[[], float] = random.random,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if lease <= timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        self._database = database
        self._clock = clock
        self._sender = sender
        self._metrics = metrics or Metrics()
        self._recorder = AttemptRecorder(
            database,
            clock,
            outbox=outbox or Outbox(),
            policy=policy or DeliveryRetryPolicy(),
            random_source=random_source,
            metrics=metrics,
        )
        self._concurrency = concurrency
        # While busy, take again once a quarter of the slots are free, not at every slot:
        # a take costs a transaction whatever its size.
        self._refill_at = max(1, concurrency // 4)
        self._lease = lease
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery")
        self._sent: queue.SimpleQueue[SentAttempt | None] = queue.SimpleQueue()
        self._alarm = Alarm()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._in_flight = 0  # taken and not yet recorded
        # Held by whoever takes (the taker, or the recorder refilling the slots it frees)
        # from counting the free slots to handing what it took to the pool: the two never
        # take the same slots, and nothing is handed to the pool once stop() closed it.
        self._taking = threading.Lock()
        self._closing = False
        self._waiting_for_database = False

    # --- use cases --------------------------------------------------------------------------

    def take(self, limit: int) -> list[TakenDelivery]:
        """Leases up to `limit` due deliveries to this dispatcher (one transaction)."""
        now = self._clock.now()
        with UnitOfWork(self._database, write=True) as uow:
            taken = uow.dispatch.take_due(now, limit, later(now, self._lease))
            uow.commit()
        return taken

    def dispatch_due(self) -> int:
        """Sends every delivery due now, `concurrency` at a time, and records them; returns
        how many attempts were made."""
        sent = 0
        while True:
            taken = self.take(self._concurrency)
            if taken:
                attempts = list(self._pool.map(self._send, taken))
                self._after(self._recorder.record(attempts))
            sent += len(taken)
            if len(taken) < self._concurrency:
                return sent

    def earliest_due(self) -> datetime | None:
        with UnitOfWork(self._database, write=False) as uow:
            return uow.dispatch.earliest_due()

    def count_due(self) -> int:
        """Deliveries due now and not taken (the backlog gauge, at scrape time)."""
        with UnitOfWork(self._database, write=False) as uow:
            return uow.dispatch.count_due(self._clock.now())

    # --- the threads ------------------------------------------------------------------------

    def wake(self) -> None:
        """Looks for due deliveries now (some were written)."""
        self._metrics.woken("dispatcher")
        self._alarm.ring(None)

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._take_loop, name="delivery-taker", daemon=True),
            threading.Thread(target=self._record_loop, name="delivery-recorder", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Takes no more; waits for the attempts in flight (each bounded by its timeout) to
        send and be recorded. A delivery taken but not recorded is taken again after its
        lease."""
        self._stop.set()
        self._alarm.ring(None)
        if self._threads:
            self._threads[0].join()
        with self._taking:
            self._closing = True  # the recorder takes no more either
        self._pool.shutdown(wait=True)
        self._sent.put(None)  # after every attempt the pool queued
        if self._threads:
            self._threads[1].join()

    def _take_loop(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self._fill()
            except UnavailableError as error:
                if not self._waiting_for_database:
                    self._waiting_for_database = True
                    # INFO: the outage itself is warned of once, where it is watched.
                    logger.info("deliveries paused: %s", error.message)
                delay = ERROR_BACKOFF
            except Exception:
                logger.exception("taking deliveries failed; retrying")
                delay = ERROR_BACKOFF
            else:
                if self._waiting_for_database:
                    self._waiting_for_database = False
                    logger.info("deliveries resumed")
            if delay > timedelta(0):
                self._alarm.sleep(later(self._clock.now(), delay), delay.total_seconds())

    def _fill(self) -> timedelta:
        """Takes as many due deliveries as there are free slots and starts sending them;
        returns how long to sleep."""
        with self._taking:
            free = self._free_slots()
            if free < self._refill_at:
                return MAX_SLEEP  # woken when enough slots free
            taken = self.take(free)
            self._start_sending(taken)
            if len(taken) == free:
                return timedelta(0)
        earliest = self.earliest_due()
        if earliest is None:
            return MAX_SLEEP
        return min(MAX_SLEEP, max(BUSY_RETRY, earliest - self._clock.now()))

    def _free_slots(self) -> int:
        with self._lock:
            return self._concurrency - self._in_flight

    def _start_sending(self, taken: list[TakenDelivery]) -> None:
        """Under `_taking`: counts the taken deliveries in flight and hands them to the pool."""
        with self._lock:
            self._in_flight += len(taken)
        for delivery in taken:
            self._pool.submit(self._send_to_recorder, delivery)

    def _send(self, delivery: TakenDelivery) -> SentAttempt:
        return send_attempt(self._sender, delivery)

    def _send_to_recorder(self, delivery: TakenDelivery) -> None:
        try:
            self._sent.put(self._send(delivery))
        except Exception:
            # Not sent (a bug, not the target: the sender reports those): the lease runs out
            # and the delivery is taken again.
            logger.exception("sending delivery %s failed", delivery.id)
            self._free(1)

    def _record_loop(self) -> None:
        while True:
            first = self._sent.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < self._concurrency:
                try:
                    more = self._sent.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._record_and_refill(batch)
            if stopping:
                return

    def _record_and_refill(self, batch: list[SentAttempt]) -> None:
        """Records the batch and, in the same transaction, takes deliveries for the slots it
        frees (while busy, that saves the taker a transaction and a wake-up)."""
        with self._taking:
            # The slots free once the batch is recorded: its own and those already free.
            free = self._free_slots() + len(batch)
            limit = free if free >= self._refill_at and not self._closing else 0
            now = self._clock.now()
            taken: list[TakenDelivery] = []
            try:
                with UnitOfWork(self._database, write=True) as uow:
                    written = self._recorder.write(uow, batch, now)
                    if limit:
                        taken = uow.dispatch.take_due(now, limit, later(now, self._lease))
                    uow.commit()
            except Exception as error:
                # Not recorded: each lease runs out and the delivery is taken again (the
                # receiver gets it twice, with the same webhook-id).
                level = logging.INFO if isinstance(error, UnavailableError) else logging.ERROR
                logger.log(
                    level,
                    "recording %d delivery attempt(s) failed; they are retried when their "
                    "leases end",
                    len(batch),
                    exc_info=level == logging.ERROR,
                )
                self._free(len(batch))
                return
            with self._lock:
                self._in_flight -= len(batch)
            self._start_sending(taken)
        # No wake-up for the taker: the next batch refills the slots this one left free,
        # and the taker is woken for deliveries written or falling due.
        self._after(self._recorder.report(written))

    def _free(self, count: int) -> None:
        """Frees slots whose attempts will not be recorded (the recorder did not refill
        them): wakes the taker if that frees enough."""
        with self._lock:
            was_free = self._concurrency - self._in_flight
            self._in_flight -= count
        if was_free < self._refill_at <= was_free + count:
            self._alarm.ring(None)

    def _after(self, recorded: RecordedBatch) -> None:
        if recorded.wake_at is not None:
            self._alarm.ring(recorded.wake_at)
