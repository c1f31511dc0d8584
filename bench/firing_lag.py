"""Fire lag at a steady 500 fires/s: the real FiringLoop, wired as SundialServer wires it,
on SQLite with the system clock.

30,000 schedules fire every 60 s, 500 of them at each second of the minute (interval
offsets 0-59 s), so 500 objectives fall due every second. Nominal times are whole seconds,
which is how real schedules bunch: each second's 500 are due at the same instant.

Each schedule fires once in the run, for the first time since the service started, so every
fire misses the engine's per-schedule cache (the 60 distinct spec documents, one per offset,
are decoded once each). The firing loop runs its first batches with the cyclic garbage
collector paused, as it does in the server.

Two lags per objective: created_at - scheduled_time (the engine's "now" when it decided,
taken at the start of the batch's transaction) and commit - scheduled_time (when workers
can see it: the batch committed). Batches are sequential, so the n-th distinct created_at
belongs to the n-th batch that returned, whose end the wrapper below recorded."""

import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firing_setup import Group, insert_schedules, interval_spec, minute_floor, prepare
from sqlalchemy import select

from sundial.domain.clock import SystemClock
from sundial.engine.loop import FiringLoop
from sundial.service.firing import FiringService
from sundial.service.housekeeping import Housekeeping
from sundial.service.notifier import Notifier
from sundial.service.objectives import ObjectiveService
from sundial.store.database import Database
from sundial.store.firing import objectives, schedules

PER_SECOND = 500
BATCH = 500
# Time to create 60 template schedules and bulk-insert 30,000 before the first fire is due.
LEAD = timedelta(seconds=6)


@dataclass(frozen=True, slots=True)
class Lag:
    seconds: float
    expected: int
    fired: int
    created_p50: float
    created_p99: float
    commit_p50: float
    commit_p99: float
    commit_max: float


def measure_lag(directory: Path, seconds: int) -> Lag:
    url = f"sqlite:///{Path(tempfile.mkdtemp(dir=directory)) / 'lag.sqlite'}"
    tenant = prepare(url)
    ready = datetime.now(UTC) + LEAD
    base = minute_floor(ready)
    groups = []
    for offset in range(60):
        first = base + timedelta(seconds=offset)
        if first < ready:
            first += timedelta(minutes=1)
        spec = interval_spec(timedelta(seconds=60), timedelta(seconds=offset))
        groups.append(Group(PER_SECOND, spec, first))
    insert_schedules(tenant, groups)
    if datetime.now(UTC) >= ready:
        raise RuntimeError("setup took longer than LEAD: fires were already late")
    window_start = ready.replace(microsecond=0) + timedelta(seconds=1)
    window_end = window_start + timedelta(seconds=seconds)

    database = Database(url)
    clock = SystemClock()
    notifier = Notifier()
    firing = FiringService(
        database, clock, batch_size=BATCH, on_created=notifier.objectives_available
    )
    ends: list[datetime] = []

    def fire_batch() -> int:
        result = firing.fire_due()
        if result.created:
            ends.append(clock.now())
        return result.schedules

    loop = FiringLoop(
        fire_batch=fire_batch,
        earliest_due=firing.earliest_due,
        after_pass=Housekeeping(database, clock, ObjectiveService(database, clock, notifier)),
        clock=clock,
        batch_size=BATCH,
    )
    notifier.on_schedules_changed(loop.wake)
    try:
        loop.start()
        # Until every fire of the window is due, plus a little for the last batch to land.
        threading.Event().wait((window_end - clock.now()).total_seconds() + 1.0)
        loop.stop()
        stopped = clock.now()
        with database.reader.connect() as connection:
            rows = connection.execute(
                select(objectives.c.scheduled_time, objectives.c.created_at)
            ).all()
            # Fires of the window the loop had not reached when it stopped.
            unfired = connection.scalars(
                select(schedules.c.next_nominal_at).where(
                    schedules.c.next_nominal_at >= window_start,
                    schedules.c.next_nominal_at < window_end,
                )
            ).all()
    finally:
        database.dispose()
    late = [(stopped - nominal).total_seconds() for nominal in unfired]
    return _lags(rows, ends, window_start, window_end, seconds, late)


def _lags(
    rows: Sequence[tuple[datetime, datetime]],
    ends: Sequence[datetime],
    window_start: datetime,
    window_end: datetime,
    seconds: int,
    late: list[float],
) -> Lag:
    batches = sorted({created for _, created in rows})
    if len(batches) != len(ends):
        raise RuntimeError(f"{len(batches)} batch times in the table, {len(ends)} batches seen")
    commit_of = dict(zip(batches, ends, strict=True))
    created_lags, commit_lags = [], []
    for scheduled, created in rows:
        if window_start <= scheduled < window_end:
            created_lags.append((created - scheduled).total_seconds())
            commit_lags.append((commit_of[created] - scheduled).total_seconds())
    fired = len(created_lags)
    # An unfired fire's lag is at least the time from its nominal time to the stop: counting
    # it keeps an engine that falls behind from reporting only the fires it managed.
    created_lags += late
    commit_lags += late
    return Lag(
        seconds=seconds,
        expected=PER_SECOND * seconds,
        fired=fired,
        created_p50=percentile(created_lags, 50),
        created_p99=percentile(created_lags, 99),
        commit_p50=percentile(commit_lags, 50),
        commit_p99=percentile(commit_lags, 99),
        commit_max=max(commit_lags, default=float("nan")),
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
