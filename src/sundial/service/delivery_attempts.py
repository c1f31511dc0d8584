"""Sending one delivery attempt and recording what follows, for the dispatcher
(service.dispatcher): delivered, tried again later (`domain.webhook_retries`: backoff with
full jitter, Retry-After honoured), or dead-lettered once its 24 h window is over; the
webhook's failing streak kept, and the webhook disabled once it has failed for the disable
window, with its `webhook.disabled` event written by the outbox in the same transaction.

Attempts are recorded in batches, one transaction for all that ended together (a group
commit): on SQLite every write transaction waits its turn, and one per attempt held the
dispatcher to a third of a bare HTTP loop's rate (BENCHMARKS.md). Each row is written only
under the lease it was taken with, so a batch may safely hold attempts of any age."""

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sundial.domain.clock import Clock
from sundial.domain.webhook_retries import (
    DISABLE_AFTER,
    DeliveryRetryPolicy,
    disable_reason,
    next_attempt_at,
)
from sundial.domain.webhooks import DeliveryStatus, WebhookState
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


@dataclass(frozen=True, slots=True)
class SentAttempt:
    """One attempt that went out (or could not), waiting to be recorded."""

    delivery: TakenDelivery
    outcome: SendOutcome


@dataclass(frozen=True, slots=True)
class WebhookDisabled:
    """A webhook just disabled: what the `webhook.disabled` event says."""

    webhook_id: str
    workspace_id: str
    reason: str
    at: datetime
    # The event's deliveries to the workspace's other webhooks, counted once committed.
    event: OutboxReport


@dataclass(frozen=True, slots=True)
class RecordedBatch:
    """What recording a batch led to: each attempt's outcome (metrics.DELIVERY_OUTCOMES, in
    the batch's order), and when the dispatcher should look again (a retry due, or now
    for a `webhook.disabled` event just written); None: no sooner than it would."""

    outcomes: list[str]
    wake_at: datetime | None
    disabled: list[WebhookDisabled] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WrittenBatch:
    """A batch written into a transaction not yet committed: what `report` needs after."""

    batch: list[SentAttempt]
    records: list[AttemptRecord]
    written: list[bool]  # False: the lease was lost, nothing written
    disabled: list[WebhookDisabled]
    now: datetime


def send_attempt(sender: WebhookSender, delivery: TakenDelivery) -> SentAttempt:
    """POSTs the delivery once, signed, with its id as `webhook-id`; never raises for what
    the target or the network did."""
    try:
        target = _target(delivery.url, delivery.secret, tuple(sorted(delivery.headers.items())))
    except ValueError as error:
        # Checked when the webhook was written; kept as a failed attempt (not a crash) so
        # that a fixed webhook gets the retries that are left.
        outcome = SendOutcome(
            status=None,
            body=b"",
            body_truncated=False,
            duration=timedelta(0),
            error=ErrorKind.INVALID_TARGET,
            detail=str(error),
        )
        return SentAttempt(delivery, outcome)
    message = WebhookMessage(id=delivery.id, body=delivery.body)
    return SentAttempt(delivery, sender.send(target, message))


@functools.lru_cache(maxsize=1024)
def _target(url: str, secret: str, headers: tuple[tuple[str, str], ...]) -> WebhookTarget:
    # Checking a target (its URL parsed, its secret decoded) costs a fifth of a send; most
    # deliveries go to a few webhooks. Keyed by every field, so an edit is a new entry.
    return WebhookTarget(url=url, secret=secret, headers=dict(headers))


class AttemptRecorder:
    """Records batches of attempts, each batch in one transaction."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        outbox: Outbox,
        policy: DeliveryRetryPolicy,
        random_source: Callable[[], float],
        metrics: Metrics | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._outbox = outbox
        self._policy = policy
        self._random = random_source
        self._metrics = metrics

    def record(self, batch: Sequence[SentAttempt]) -> RecordedBatch:
        """Records the batch in one transaction of its own, then reports it."""
        now = self._clock.now()
        with UnitOfWork(self._database, write=True) as uow:
            written = self.write(uow, batch, now)
            uow.commit()
        return self.report(written)

    def write(self, uow: UnitOfWork, batch: Sequence[SentAttempt], now: datetime) -> WrittenBatch:
        """Writes the batch's outcomes into `uow` (the caller commits, then calls
        `report`)."""
        records = [self._record_of(sent, now) for sent in batch]
        written = [uow.dispatch.record(record) for record in records]
        # Per webhook: did an attempt succeed, and did the last one fail (the streak starts
        # again after a success)?
        results: dict[str, list[bool]] = {}
        for sent, record, ok in zip(batch, records, written, strict=True):
            if ok:
                results.setdefault(sent.delivery.webhook_id, []).append(
                    record.status is DeliveryStatus.DELIVERED
                )
        workspaces = {sent.delivery.webhook_id: sent.delivery.workspace_id for sent in batch}
        disabled: list[WebhookDisabled] = []
        # In id order: two replicas' batches lock shared webhook rows in the same order, so
        # they wait for each other instead of deadlocking (PostgreSQL).
        for webhook_id, succeeded in sorted(results.items()):
            failing = not succeeded[-1]
            uow.dispatch.webhook_attempted(
                webhook_id, now, succeeded=any(succeeded), failing=failing
            )
            if not failing:
                continue
            health = uow.dispatch.webhook_health(webhook_id)
            if health.state is WebhookState.ENABLED:
                off = self._disable_if_failing(
                    uow, webhook_id, workspaces[webhook_id], health.failing_since, now
                )
                if off is not None:
                    disabled.append(off)
        return WrittenBatch(list(batch), records, written, disabled, now)

    def report(self, written: WrittenBatch) -> RecordedBatch:
        """Logs and counts a written batch, once its transaction committed."""
        outcomes = [
            self._report(sent, record, stale=not ok)
            for sent, record, ok in zip(
                written.batch, written.records, written.written, strict=True
            )
        ]
        for off in written.disabled:
            self._report_disabled(off)
        retries = [r.next_attempt_at for r in written.records if r.next_attempt_at is not None]
        wake_at = written.now if written.disabled else min(retries, default=None)
        return RecordedBatch(outcomes, wake_at, written.disabled)

    def _record_of(self, sent: SentAttempt, now: datetime) -> AttemptRecord:
        delivery, outcome = sent.delivery, sent.outcome
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
        webhook_id: str,
        workspace_id: str,
        failing_since: datetime | None,
        now: datetime,
    ) -> WebhookDisabled | None:
        # The count is read only once the streak is long enough to matter.
        if failing_since is None or now - failing_since < DISABLE_AFTER:
            return None
        dead_letters = uow.dispatch.count_dead_letters(webhook_id, failing_since)
        reason = disable_reason(failing_since=failing_since, dead_letters=dead_letters, now=now)
        if reason is None or not uow.dispatch.disable_webhook(webhook_id, now, reason):
            return None
        [webhook] = [
            w for w in uow.outbox.webhooks_in([workspace_id]) if w.metadata.id == webhook_id
        ]
        event = self._outbox.webhook_disabled(uow.outbox, webhook, reason, now)
        return WebhookDisabled(webhook_id, workspace_id, reason, now, event)

    # --- reporting, once committed ----------------------------------------------------------

    def _report(self, sent: SentAttempt, record: AttemptRecord, *, stale: bool) -> str:
        delivery = sent.delivery
        attempt = delivery.attempts + 1
        ids = {
            "delivery_id": delivery.id,
            "webhook_id": delivery.webhook_id,
            "workspace_id": delivery.workspace_id,
            "attempt": attempt,
        }
        if stale:
            result = "stale"
            logger.info(
                "delivery %s: attempt %d not recorded, its lease was lost (taken again or "
                "redelivered)",
                delivery.id,
                attempt,
                extra={**ids, "event": "stale_lease"},
            )
        elif record.status is DeliveryStatus.DELIVERED:
            result = "delivered"
            logger.debug(
                "delivery %s to webhook %s delivered (attempt %d, HTTP %d)",
                delivery.id,
                delivery.webhook_id,
                attempt,
                record.http_status,
                extra={**ids, "event": "delivered"},
            )
        elif record.next_attempt_at is not None:
            result = "retry"
            logger.info(
                "delivery %s to webhook %s failed (attempt %d: %s); retries at %s",
                delivery.id,
                delivery.webhook_id,
                attempt,
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
                attempt,
                record.error,
                extra={**ids, "event": "dead_letter", "reason": record.error},
            )
        if self._metrics is not None:
            self._metrics.delivery_attempted(result, sent.outcome.duration.total_seconds())
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
