"""Whether the insight aggregates cost what their window holds, not what is stored.

Run: .venv/bin/python bench/stats.py [--small 10000] [--large 1000000] [--in-window 2000]

On SQLite (a temporary file) and PostgreSQL (a throwaway cluster, tests/support/postgres.py;
skipped without its binaries), one workspace of 10 schedules gets `--in-window` objectives
fired over the last 7 days and older history up to `--small` stored objectives; then the
history grows to `--large`. At each size it times, in the same run:
- workspace stats (StatsService.workspace_stats, 24 h window),
- per-schedule stats (StatsService.schedule_stats, 24 h window),
- the 7-day past heatmap (FireViewService.heatmap),
- the baseline: an unbounded GROUP BY status over every objective of the workspace (what
  the stats would cost without a window and an index).
It prints each cost at both sizes and the large/small ratio; the target is <= 2x for the
three views (the baseline grows with the history)."""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from sundial.domain.clock import FakeClock  # noqa: E402
from sundial.domain.ids import IdPrefix, new_id  # noqa: E402
from sundial.domain.insight import HeatmapSource  # noqa: E402
from sundial.service.fire_views import FireViewService  # noqa: E402
from sundial.service.insight_stats import StatsService  # noqa: E402
from sundial.store import migrate  # noqa: E402
from sundial.store.database import Database  # noqa: E402
from sundial.store.firing import objectives  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.tenants import Tenant  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SCHEDULES = 10
STATUSES = ("SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED", "PENDING")
BATCH = 10_000


def _rows(tenant: Tenant, schedule_ids: list[str], count: int, start: datetime, span: timedelta):
    """`count` objectives fired evenly over [start, start + span)."""
    step = span / count
    for index in range(count):
        moment = start + step * index
        status = STATUSES[index % len(STATUSES)]
        finished = status in ("SUCCEEDED", "FAILED")
        objective_id = new_id(IdPrefix.OBJECTIVE)
        yield {
            "id": objective_id,
            "account_id": "acct_bench",
            "workspace_id": tenant.workspace_id,
            "agent_id": tenant.agent_id,
            "schedule_id": schedule_ids[index % len(schedule_ids)],
            "profile_id": "prof_bench",
            "scheduled_time": moment,
            "trigger_kind": "SCHEDULED",
            "trigger_key": objective_id,
            "status": status,
            "spec": {},
            "available_at": moment,
            "attempt": 1,
            "worker_id": "",
            "started_at": moment if finished else None,
            "completed_at": moment + timedelta(seconds=index % 60) if finished else None,
            "created_at": moment,
            "updated_at": moment,
            "error": "",
        }


def _insert(database: Database, rows: Any) -> None:
    batch: list[dict[str, Any]] = []
    with database.writer.begin() as connection:
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                connection.execute(objectives.insert(), batch)
                batch = []
        if batch:
            connection.execute(objectives.insert(), batch)


def _time(read: Callable[[], Any], reads: int) -> float:
    """Median milliseconds of a read over 5 batches, after warming up."""
    for _ in range(3):
        read()
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(reads):
            read()
        batches.append((time.perf_counter() - started) / reads * 1e3)
    return statistics.median(batches)


def _costs(database: Database, tenant: Tenant, schedule_id: str, reads: int) -> dict[str, float]:
    clock = FakeClock(NOW)
    stats = StatsService(database, clock)
    views = FireViewService(database, clock, tenant.schedules)
    principal, workspace = tenant.principal, tenant.workspace_id
    unbounded = (
        select(objectives.c.status, func.count())
        .where(objectives.c.workspace_id == workspace)
        .group_by(objectives.c.status)
    )

    def scan() -> Any:
        with database.reader.connect() as connection:
            return connection.execute(unbounded).all()

    return {
        "workspace stats": _time(lambda: stats.workspace_stats(principal, workspace), reads),
        "schedule stats": _time(
            lambda: stats.schedule_stats(principal, workspace, "-", schedule_id), reads
        ),
        "7-day heatmap": _time(
            lambda: views.heatmap(principal, workspace, source=HeatmapSource.PAST), reads
        ),
        "baseline: unbounded scan": _time(scan, max(reads // 10, 1)),
    }


def _run(name: str, url: str, args: argparse.Namespace) -> None:
    migrate.upgrade(url)
    database = Database(url)
    try:
        tenant = Tenant(database, FakeClock(NOW - timedelta(days=400)))
        schedule_ids = [tenant.schedule() for _ in range(SCHEDULES)]
        week = timedelta(days=7)
        _insert(database, _rows(tenant, schedule_ids, args.in_window, NOW - week, week))
        # Older history: the year before the window.
        history = NOW - week - timedelta(days=365)
        older = args.small - args.in_window
        _insert(database, _rows(tenant, schedule_ids, older, history, timedelta(days=365)))
        small = _costs(database, tenant, schedule_ids[0], args.reads)
        started = time.perf_counter()
        more = args.large - args.small
        _insert(database, _rows(tenant, schedule_ids, more, history, timedelta(days=365)))
        if database.dialect == "postgresql":
            with database.writer.begin() as connection:
                connection.exec_driver_sql("ANALYZE objectives")
        print(f"{name}: {more:,} more objectives stored in {time.perf_counter() - started:.0f}s")
        large = _costs(database, tenant, schedule_ids[0], args.reads)
    finally:
        database.dispose()
    print(f"{name:<11} {'view':<26} {args.small:>9,} {args.large:>11,}  ratio")
    for view, cost in small.items():
        print(
            f"{'':<11} {view:<26} {cost:>7.2f}ms {large[view]:>9.2f}ms {large[view] / cost:>6.2f}x"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--in-window", type=int, default=2_000)
    parser.add_argument("--reads", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        _run("SQLite", f"sqlite:///{directory}/stats.db", args)
    if not postgres.available():
        print("PostgreSQL: no binaries under", postgres.PG_BIN, "- skipped")
        return 0
    cluster = postgres.PostgresCluster()
    cluster.start()
    try:
        _run("PostgreSQL", cluster.create_database("bench_stats"), args)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
