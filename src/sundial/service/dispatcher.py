"""The delivery dispatcher (engine role): sends the deliveries outbox to its webhooks, at
least once, with one stable `webhook-id` (the delivery's id) across attempts.

One thread takes due deliveries, as many as there are free send slots, each leased for
`lease` in one short transaction (`store.repositories.dispatch`), and hands them to a small
pool that sends them (`service.webhooks.WebhookSender`: pooled, guarded, signed) and records
each attempt in a transaction of its own. A slow target holds one slot, not a batch. The
thread sleeps until the next delivery (or lease end) falls due, and is woken at once when
deliveries are written (`Notifier.deliveries_written`, on PostgreSQL from other replicas
too), when a slot frees up while every slot was busy, and when an attempt schedules a retry
earlier than it would wake.

What follows an attempt is `domain.webhook_retries`: backoff with full jitter honouring
Retry-After, dead letter when the next attempt would start past the 24 h window, and the
webhook disabled (with a `webhook.disabled` event, written by `service.outbox` in the same
transaction) once every delivery to it has failed for the disable window."""

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sundial.domain.clock import Clock, later
from sundial.domain.errors import UnavailableError
from sundial.domain.webhook_retries import (
    DISABLE_AFTER,
    DeliveryRetryPolicy,
    disable_reason,
    next_attempt_at,
)
from sundial.domain.webhooks import DeliveryStatus, WebhookState
from sundial.engine.loop import Alarm
from sundial.metrics import Metrics
from sundial.service.outbox import Outbox, OutboxReport
from sundial.service.webhooks import (
    ErrorKind,
    SendOutcome,
    WebhookMessage,
    WebhookSender,
    WebhookTarget,
)
from sundial.store.database import Database
from sundial.store.repositories.dispatch import AttemptRecord, TakenDelivery
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


@dataclass(frozen=True, slots=True)
class WebhookDisabled:
    """A webhook the dispatcher just disabled: what the `webhook.disabled` event says."""

    webhook_id: str
    workspace_id: str
    reason: str
    at: datetime
    # The event's deliveries to the workspace's other webhooks, counted once committed.
    event: OutboxReport


class DeliveryDispatcher:
    """Takes due deliveries and sends them; `start()` runs it on its own thread, `stop()`
    lets the attempts in flight finish and record. `dispatch_due()` is one synchronous pass
    (tests and benchmarks drive it with a fake clock)."""

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
        self._metrics = metrics
        self._outbox = outbox or Outbox()
        self._policy = policy or DeliveryRetryPolicy()
        self._random = random_source
        self._concurrency = concurrency
        self._lease = lease
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery")
        self._alarm = Alarm()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiting_for_database = False

    # --- use cases --------------------------------------------------------------------------

    def take(self, limit: int) -> list[TakenDelivery]:
        """Leases up to `limit` due deliveries to this dispatcher (one transaction)."""
        now = self._clock.now()
        with UnitOfWork(self._database, write=True) as uow:
            taken = uow.dispatch.take_due(now, limit, later(now, self._lease))
            uow.commit()
        return taken

    def attempt(self, delivery: TakenDelivery) -> str:
        """Sends one attempt and records what follows; returns the outcome (one of
        metrics.DELIVERY_OUTCOMES)."""
        outcome = self._send(delivery)
        now = self._clock.now()
        record = self._record_of(delivery, outcome, now)
        disabled: WebhookDisabled | None = None
        with UnitOfWork(self._database, write=True) as uow:
            if not uow.dispatch.record(record):
                stale = True
            else:
                stale = False
                health = uow.dispatch.webhook_attempted(delivery.webhook_id, now, outcome.succeeded)
                if not outcome.succeeded and health.state is WebhookState.ENABLED:
                    disabled = self._disable_if_failing(uow, delivery, health.failing_since, now)
            uow.commit()
        result = self._report(delivery, record, outcome, stale)
        if disabled is not None:
            self._report_disabled(disabled)
            self._alarm.ring(None)  # the event's own deliveries
        elif record.next_attempt_at is not None:
            self._alarm.ring(record.next_attempt_at)
        return result

    def dispatch_due(self) -> int:
        """Sends every delivery due now, waiting for each attempt; returns how many."""
        sent = 0
        while True:
            taken = self.take(self._concurrency)
            sent += len(list(self._pool.map(self.attempt, taken)))
            if len(taken) < self._concurrency:
                return sent

    def earliest_due(self) -> datetime | None:
        with UnitOfWork(self._database, write=False) as uow:
            return uow.dispatch.earliest_due()

    def count_due(self) -> int:
        """Deliveries due now and not taken (the backlog gauge, at scrape time)."""
        with UnitOfWork(self._database, write=False) as uow:
            return uow.dispatch.count_due(self._clock.now())

    # --- the thread -------------------------------------------------------------------------

    def wake(self) -> None:
        """Looks for due deliveries now (some were written)."""
        self._alarm.ring(None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="delivery-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Takes no more; waits for the attempts in flight (each bounded by its timeout) to
        send and record. A delivery taken but not recorded is taken again after its lease."""
        self._stop.set()
        self._alarm.ring(None)
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True)

    def _run(self) -> None:
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
        """Takes as many due deliveries as there are free slots and starts them; returns how
        long to sleep."""
        with self._lock:
            free = self._concurrency - self._in_flight
        if free == 0:
            return MAX_SLEEP  # woken when a slot frees
        taken = self.take(free)
        for delivery in taken:
            with self._lock:
                self._in_flight += 1
            self._pool.submit(self._attempt_in_slot, delivery)
        if len(taken) == free:
            return timedelta(0)
        earliest = self.earliest_due()
        if earliest is None:
            return MAX_SLEEP
        return min(MAX_SLEEP, max(BUSY_RETRY, earliest - self._clock.now()))

    def _attempt_in_slot(self, delivery: TakenDelivery) -> None:
        try:
            self.attempt(delivery)
        except Exception:
            # Not recorded: the lease runs out and the delivery is taken again.
            logger.exception(
                "recording delivery %s failed; it is retried when its lease ends",
                delivery.id,
                extra={"delivery_id": delivery.id, "webhook_id": delivery.webhook_id},
            )
        finally:
            with self._lock:
                saturated = self._in_flight == self._concurrency
                self._in_flight -= 1
            if saturated:
                self._alarm.ring(None)

    # --- one attempt ------------------------------------------------------------------------

    def _send(self, delivery: TakenDelivery) -> SendOutcome:
        try:
            target = WebhookTarget(
                url=delivery.url, secret=delivery.secret, headers=delivery.headers
            )
        except ValueError as error:
            # Checked when the webhook was written; kept as a failed attempt (not a crash)
            # so that a fixed webhook gets the retries that are left.
            return SendOutcome(
                status=None,
                body=b"",
                body_truncated=False,
                duration=timedelta(0),
                error=ErrorKind.INVALID_TARGET,
                detail=str(error),
            )
        return self._sender.send(target, WebhookMessage(id=delivery.id, body=delivery.body))

    def _record_of(
        self, delivery: TakenDelivery, outcome: SendOutcome, now: datetime
    ) -> AttemptRecord:
        status_code = outcome.status or 0
        if outcome.succeeded:
            return AttemptRecord(delivery, now, DeliveryStatus.DELIVERED, status_code, "")
        error = outcome.detail if outcome.error is None else f"{outcome.error}: {outcome.detail}"
        retry_at = next_attempt_at(
            self._policy,
            attempts=delivery.attempts + 1,
            first_attempt_at=delivery.window_started_at,
            now=now,
            random=self._random,
            retry_after=outcome.retry_after,
        )
        status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.DEAD_LETTER
        return AttemptRecord(delivery, now, status, status_code, error, retry_at)

    def _disable_if_failing(
        self,
        uow: UnitOfWork,
        delivery: TakenDelivery,
        failing_since: datetime | None,
        now: datetime,
    ) -> WebhookDisabled | None:
        # The count is read only once the streak is long enough to matter.
        if failing_since is None or now - failing_since < DISABLE_AFTER:
            return None
        dead_letters = uow.dispatch.count_dead_letters(delivery.webhook_id, failing_since)
        reason = disable_reason(failing_since=failing_since, dead_letters=dead_letters, now=now)
        if reason is None or not uow.dispatch.disable_webhook(delivery.webhook_id, now, reason):
            return None
        [webhook] = [
            w
            for w in uow.outbox.webhooks_in([delivery.workspace_id])
            if w.metadata.id == delivery.webhook_id
        ]
        event = self._outbox.webhook_disabled(uow.outbox, webhook, reason, now)
        return WebhookDisabled(delivery.webhook_id, delivery.workspace_id, reason, now, event)

    # --- reporting --------------------------------------------------------------------------

    def _report(
        self, delivery: TakenDelivery, record: AttemptRecord, outcome: SendOutcome, stale: bool
    ) -> str:
        ids = {
            "delivery_id": delivery.id,
            "webhook_id": delivery.webhook_id,
            "workspace_id": delivery.workspace_id,
            "attempt": delivery.attempts + 1,
        }
        if stale:
            result = "stale"
            logger.info(
                "delivery %s: attempt %d not recorded, its lease was lost (taken again or "
                "redelivered)",
                delivery.id,
                delivery.attempts + 1,
                extra={**ids, "event": "stale_lease"},
            )
        elif record.status is DeliveryStatus.DELIVERED:
            result = "delivered"
            logger.debug(
                "delivery %s to webhook %s delivered (attempt %d, HTTP %d)",
                delivery.id,
                delivery.webhook_id,
                delivery.attempts + 1,
                record.http_status,
                extra={**ids, "event": "delivered"},
            )
        elif record.next_attempt_at is not None:
            result = "retry"
            logger.info(
                "delivery %s to webhook %s failed (attempt %d: %s); retries at %s",
                delivery.id,
                delivery.webhook_id,
                delivery.attempts + 1,
                record.error,
                record.next_attempt_at.isoformat(),
                extra={**ids, "event": "retry", "reason": record.error},
            )
        else:
            result = "dead_letter"
            logger.warning(
                "delivery %s to webhook %s dead-lettered after %d attempt(s): %s",
                delivery.id,
                delivery.webhook_id,
                delivery.attempts + 1,
                record.error,
                extra={**ids, "event": "dead_letter", "reason": record.error},
            )
        if self._metrics is not None:
            self._metrics.delivery_attempted(result, outcome.duration.total_seconds())
        return result

    def _report_disabled(self, disabled: WebhookDisabled) -> None:
        logger.warning(
            "webhook %s disabled: %s",
            disabled.webhook_id,
            disabled.reason,
            extra={
                "webhook_id": disabled.webhook_id,
                "workspace_id": disabled.workspace_id,
                "event": "webhook_disabled",
            },
        )
        if self._metrics is not None:
            self._metrics.webhook_disabled()
            disabled.event.record(self._metrics)
