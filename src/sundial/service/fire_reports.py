"""The metrics and log lines of the firing passes: what each pass decided, counted once the
transaction that made the decisions committed, and the schedules set aside.

A pass can fire thousands of schedules, so the counts are added once per pass and outcome,
a long outage's missed fires are one line per schedule (not one per fire), and a schedule
set aside is logged once per revision, not at every retry."""

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from cachetools import LRUCache

from sundial.metrics import Metrics
from sundial.service.firing_effects import Decided
from sundial.store.firing import DueRow

logger = logging.getLogger("sundial.engine")

# A schedule whose fires cannot be computed (a stored value the code cannot handle) is set
# aside this long, then tried again; the other schedules of its batch fire as usual.
SET_ASIDE_FOR = timedelta(minutes=5)
# Schedule revisions already reported as set aside (each is logged once).
_REPORTED_SIZE = 10_000
# The metrics' outcome of a new objective, by its status.
_OUTCOMES = {"PENDING": "created", "BUFFERED": "buffered", "CANCELLED": "cancelled"}


class FireReports:
    """Counts and logs the passes of one FiringService (thread-safe)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()
        self._reported: LRUCache[tuple[str, int], bool] = LRUCache(_REPORTED_SIZE)
        self.schedules_set_aside = 0  # since start

    def pass_committed(self, decided: Sequence[Decided], now: datetime) -> None:
        """The pass's fires counted by outcome (one increment per outcome, not one per
        fire), then each schedule's report."""
        counts: defaultdict[str, int] = defaultdict(int)
        for _row, plan, created in decided:
            for fire in created:
                counts[_OUTCOMES[fire.status]] += 1
            counts["skipped"] += plan.skipped
            counts["missed"] += plan.missed
        for outcome, count in counts.items():
            self._metrics.fired(outcome, count)
        for schedule in decided:
            self._schedule(schedule, now)

    def _schedule(self, decided: Decided, now: datetime) -> None:
        """Counts and logs what one schedule's plan did: one line per objective created,
        one per schedule for its skipped and for its missed fires (a long outage can miss
        thousands of fires of one schedule)."""
        row, plan, created = decided
        lags = [(now - fire.scheduled_time).total_seconds() for fire in created]
        observe = self._metrics.fire_lag.observe
        for lag in lags:
            observe(max(lag, 0.0))
        if not logger.isEnabledFor(logging.INFO):
            return
        ids = {"schedule_id": row.id, "agent_id": row.agent_id, "workspace_id": row.workspace_id}
        for fire, lag in zip(created, lags, strict=True):
            logger.info(
                "fired schedule %s: objective %s (%s) for %s, %.3fs late",
                row.id,
                fire.objective_id,
                fire.status,
                fire.scheduled_time.isoformat(),
                lag,
                extra={
                    **ids,
                    "event": "fire",
                    "objective_id": fire.objective_id,
                    "status": fire.status,
                    "scheduled_time": fire.scheduled_time.isoformat(),
                    "lag_seconds": round(lag, 6),
                },
            )
        if plan.skipped:
            logger.info(
                "skipped %d fire(s) of schedule %s: %s",
                plan.skipped,
                row.id,
                plan.skip_reason,
                extra={**ids, "event": "skip", "count": plan.skipped, "reason": plan.skip_reason},
            )
        if plan.missed:
            logger.info(
                "missed %d fire(s) of schedule %s: older than its catch-up window",
                plan.missed,
                row.id,
                extra={**ids, "event": "miss", "count": plan.missed},
            )

    def set_aside(self, row: DueRow, error: Exception) -> None:
        """Counts a schedule set aside; logs it once per revision, not at every retry."""
        self._metrics.schedules_set_aside.inc()
        with self._lock:
            self.schedules_set_aside += 1
            key = (row.id, row.revision)
            if key in self._reported:
                return
            self._reported[key] = True
        logger.warning(
            "schedule %s (revision %d) cannot be fired and is set aside, retried every %s: %s: %s",
            row.id,
            row.revision,
            SET_ASIDE_FOR,
            type(error).__name__,
            error,
        )
