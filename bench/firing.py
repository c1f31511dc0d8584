"""The firing engine's throughput, ceiling, baseline, lag and tick cost, in one run.

With 100,000 stored schedules all due (interval 60 s, overlap ALLOW, so every fire creates
one objective) it measures, each against a baseline measured in the same run (absolute
numbers on shared machines are noise):

- sustained fires/s of FiringService.fire_due (batches of 500) on SQLite and PostgreSQL,
  against the raw-database ceiling for the same writes (target: at least 50%);
- Sundial on SQLite against APScheduler 3.11 with SQLAlchemyJobStore on SQLite (target: at
  least 8x), and APScheduler with MemoryJobStore for reference;
- fire lag p50/p99 of the real FiringLoop at a steady 500 fires/s (target: p99 <= 100 ms);
- one tick (500 due) with 10,000 vs 1,000,000 stored schedules (target: within 1.5x).

Run: .venv/bin/python bench/firing.py [--unsettled]   (PostgreSQL 15 binaries for the
throwaway cluster of tests/support/postgres.py; without them the PostgreSQL rows say so).
The process first settles its start-up heap as `sundial serve` does (sundial.heap.
settle_heap); `--unsettled` leaves it to the garbage collector. Engine and raw
batches run interleaved, and so do the ticks at both sizes, so that load from other
processes falls on both sides of a ratio. An engine run stops after --cap seconds of engine
time if it has not fired everything; the figure is then the rate over that window.
APScheduler's SQLAlchemyJobStore gets 10,000 jobs by default (--aps-sql-jobs): at a few
hundred fires/s, 100,000 would take minutes. Exits 0 when a target is missed: it is a
measurement, not a test."""

import argparse
import hashlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path[1:1] = [str(ROOT / "src"), str(ROOT)]

from firing_apscheduler import ApsRun, apscheduler_rate  # noqa: E402
from firing_lag import Lag, measure_lag  # noqa: E402
from firing_runs import (  # noqa: E402
    Runs,
    TickCost,
    median,
    paired_throughput,
    paired_ticks,
)
from firing_setup import Group, insert_schedules, interval_spec, minute_floor, prepare  # noqa: E402

from sundial.heap import settle_heap  # noqa: E402
from tests.support import postgres  # noqa: E402

T = TypeVar("T")
TICK_DUE = 500
TICK_REPEATS = 16  # the first is a warm-up and not counted
_MIN = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Target:
    """`value` against `goal`; `at_least` says which side passes."""

    value: float
    goal: float
    at_least: bool
    shown: str  # the goal as the table prints it

    @property
    def verdict(self) -> str:
        ok = self.value >= self.goal if self.at_least else self.value <= self.goal
        return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument(
        "--cap", type=float, default=60.0, help="seconds of engine time per database"
    )
    parser.add_argument("--aps-sql-jobs", type=int, default=10_000)
    parser.add_argument("--aps-memory-jobs", type=int, default=100_000)
    parser.add_argument("--lag-seconds", type=int, default=25)
    parser.add_argument("--tick-small", type=int, default=10_000)
    parser.add_argument("--tick-large", type=int, default=1_000_000)
    parser.add_argument(
        "--unsettled",
        action="store_true",
        help="leave the start-up heap to the garbage collector (sundial serve settles it)",
    )
    args = parser.parse_args()
    if not args.unsettled:
        settle_heap()  # as `sundial serve` does once it has started
    began = time.perf_counter()
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {_machine()}, {_load()}"
    )
    print(f"start-up heap: {'left to the collector' if args.unsettled else 'frozen (settle_heap)'}")
    print(
        "engine sources (engine/, timing/, service/ and store/firing.py, domain/ids.py): "
        f"{_sources()}"
    )
    with tempfile.TemporaryDirectory(prefix="sundial-bench-firing-") as temp:
        directory = Path(temp)
        sqlite = _database_pair(
            "SQLite",
            lambda name: f"sqlite:///{directory / name}.sqlite",
            args.schedules,
            args.cap,
        )
        pg = _postgres_pair(args.schedules, args.cap)
        aps_sql = _step(
            f"APScheduler SQLAlchemyJobStore (SQLite), {args.aps_sql_jobs:,} jobs",
            lambda: apscheduler_rate("sqlalchemy", args.aps_sql_jobs, directory, 600),
        )
        aps_memory = _step(
            f"APScheduler MemoryJobStore, {args.aps_memory_jobs:,} jobs",
            lambda: apscheduler_rate("memory", args.aps_memory_jobs, directory, 600),
        )
        lag = _step(
            f"lag: FiringLoop on SQLite, 500 fires/s for {args.lag_seconds} s",
            lambda: measure_lag(directory, args.lag_seconds),
        )
        small, large = _ticks(directory, args.tick_small, args.tick_large)
    _report(args, sqlite, pg, aps_sql, aps_memory, lag, small, large)
    print(f"\nwhole run: {time.perf_counter() - began:.0f} s, {_load()}")


def _database_pair(label: str, url_of: Callable[[str], str], count: int, cap: float) -> Runs:
    """The engine and both raw ceilings, each on its own freshly filled database, run
    interleaved."""
    due_at = minute_floor(datetime.now(UTC)) - timedelta(minutes=2)
    # The fake clock stands 30 s after the nominal time: one fire due per schedule.
    now = due_at + timedelta(seconds=30)
    group = Group(count, interval_spec(timedelta(seconds=60)), due_at)
    urls = []
    for kind in ("engine", "raw Core", "raw statements"):
        urls.append(url_of(kind.replace(" ", "_")))
        _step(
            f"{label}: {count:,} due schedules for the {kind} run", partial(_fill, urls[-1], group)
        )
    return _step(
        f"{label}: engine and raw runs, interleaved",
        partial(paired_throughput, urls, now, count, cap),
        _pair_note,
    )


def _postgres_pair(count: int, cap: float) -> Runs | None:
    if not postgres.available():
        print("PostgreSQL: no binaries under", postgres.PG_BIN, "- skipped")
        return None
    cluster = postgres.PostgresCluster()
    _step("PostgreSQL: throwaway cluster", cluster.start)
    try:
        return _database_pair("PostgreSQL", cluster.create_database, count, cap)
    finally:
        cluster.stop()


def _fill(url: str, *groups: Group) -> None:
    insert_schedules(prepare(url), groups)


def _ticks(directory: Path, *sizes: int) -> list[list[TickCost]]:
    """fire_due costs with each of `sizes` schedules stored, TICK_DUE of them due at each
    tick, ticks taken in turn on each database; the first tick of each is left out."""
    hour = minute_floor(datetime.now(UTC), 60) - timedelta(days=1)
    # Group g fires hourly at minute g, so at minute g + 30 s exactly it is due.
    groups = [
        Group(TICK_DUE, interval_spec(timedelta(hours=1), timedelta(minutes=g)), hour + g * _MIN)
        for g in range(TICK_REPEATS)
    ]
    urls = []
    for stored in sizes:
        url = f"sqlite:///{directory / f'tick-{stored}.sqlite'}"
        rest = Group(
            stored - TICK_DUE * TICK_REPEATS,
            interval_spec(timedelta(hours=1)),
            hour + timedelta(days=30),
        )
        _step(f"tick: {stored:,} stored schedules", partial(_fill, url, *groups, rest))
        urls.append(url)
    moments = [hour + g * _MIN + timedelta(seconds=30) for g in range(TICK_REPEATS)]
    costs = _step(
        f"tick: {TICK_REPEATS} ticks on each, in turn",
        partial(paired_ticks, urls, moments, TICK_DUE),
    )
    return [spent[1:] for spent in costs]


def _step(label: str, action: Callable[[], T], note: Callable[[T], str] | None = None) -> T:
    print(f"  {label} ...", end="", flush=True)
    started = time.perf_counter()
    result = action()
    extra = f"  {note(result)}" if note else ""
    print(f" {time.perf_counter() - started:.1f} s{extra}", flush=True)
    return result


def _pair_note(runs: Runs) -> str:
    engine = runs.engine
    whole = "all" if engine.complete else f"capped: {engine.fired:,} of {engine.due:,}"
    raws = [("raw", runs.raw)] if runs.statements is None else [("raw Core", runs.raw)]
    if runs.statements is not None:
        raws.append(("raw statements", runs.statements))
    written = ", ".join(f"{name} {run.fired:,} fires {run.rate:,.0f}/s" for name, run in raws)
    return (
        f"engine {engine.fired:,} fires ({whole}) {engine.rate:,.0f}/s, {written}; all verified "
        "in the database"
    )


def _report(
    args: argparse.Namespace,
    sqlite: Runs,
    pg: Runs | None,
    aps_sql: ApsRun,
    aps_memory: ApsRun,
    lag: Lag,
    small: list[TickCost],
    large: list[TickCost],
) -> None:
    rows: list[tuple[str, str, str, str, str, str]] = []

    def add(what: str, figure: str, baseline: str, ratio: str, target: Target | None) -> None:
        goal = "" if target is None else ("≥ " if target.at_least else "≤ ") + target.shown
        rows.append((what, figure, baseline, ratio, goal, "" if target is None else target.verdict))

    for label, runs in (("SQLite", sqlite), ("PostgreSQL", pg)):
        if runs is None:
            add(f"Sundial fires/s, {label}", "skipped", "", "", None)
            continue
        engine = runs.engine
        share = engine.rate / runs.raw.rate
        add(
            f"Sundial fires/s, {label}",
            f"{engine.rate:,.0f}/s{'' if engine.complete else '*'}",
            f"raw Core {runs.raw.rate:,.0f}/s",
            f"{share:.1%}",
            Target(share, 0.5, at_least=True, shown="50%"),
        )
        if runs.statements is not None:
            add(
                f"  {label}, vs its own write statements",
                "",
                f"raw statements {runs.statements.rate:,.0f}/s",
                f"{engine.rate / runs.statements.rate:.1%}",
                None,
            )
    times = sqlite.engine.rate / aps_sql.rate
    add(
        "Sundial SQLite vs APScheduler",
        f"{sqlite.engine.rate:,.0f}/s",
        f"SQLAlchemyJobStore {aps_sql.rate:,.0f}/s ({aps_sql.fsyncs_per_second:,.0f} fsync/s)",
        f"{times:.2f}x",
        Target(times, 8, at_least=True, shown="8x"),
    )
    add(
        "APScheduler MemoryJobStore",
        f"{aps_memory.rate:,.0f}/s",
        "(reference)",
        f"Sundial {sqlite.engine.rate / aps_memory.rate:.2f}x",
        None,
    )
    add(
        "lag p50/p99, created_at - nominal",
        f"{lag.created_p50 * 1000:,.1f} / {lag.created_p99 * 1000:,.1f} ms",
        f"{lag.fired:,} of {lag.expected:,} fired",
        "",
        Target(lag.created_p99 * 1000, 100, at_least=False, shown="100 ms p99"),
    )
    add(
        "lag p50/p99, commit - nominal",
        f"{lag.commit_p50 * 1000:,.0f} / {lag.commit_p99 * 1000:,.0f} ms",
        f"max {lag.commit_max * 1000:,.0f} ms",
        "",
        Target(lag.commit_p99 * 1000, 100, at_least=False, shown="100 ms p99"),
    )
    # The least CPU time of a tick: noise from other processes (cache and core contention)
    # only ever adds to it, so the minimum estimates a tick's own cost best.
    large_cpu, small_cpu = min(t.cpu for t in large), min(t.cpu for t in small)
    growth = large_cpu / small_cpu
    add(
        f"tick ({TICK_DUE} due), {args.tick_large:,} vs {args.tick_small:,}",
        f"{large_cpu * 1000:,.0f} ms CPU (min)",
        f"{small_cpu * 1000:,.0f} ms CPU (min)",
        f"{growth:.2f}x",
        Target(growth, 1.5, at_least=False, shown="1.5x"),
    )
    print(
        f"\nFiring engine: {args.schedules:,} schedules all due (every 60 s, ALLOW), batches of 500"
    )
    headers = ("measure", "figure", "baseline (same run)", "ratio", "target", "verdict")
    widths = [max(len(r[i]) for r in (headers, *rows)) for i in range(len(headers))]
    for row in (headers, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    if not all(runs.engine.complete for runs in (sqlite, pg) if runs):
        print(f"* capped at {args.cap:.0f} s before every due schedule had fired")
    print(
        f"APScheduler ran {aps_sql.jobs:,} (SQLAlchemyJobStore) and {aps_memory.jobs:,} "
        f"(MemoryJobStore) jobs. Ticks: {len(small)} on each size, taken in turn; medians "
        f"{median([t.cpu for t in large]) * 1000:,.0f} vs "
        f"{median([t.cpu for t in small]) * 1000:,.0f} ms CPU, "
        f"{median([t.wall for t in large]) * 1000:,.0f} vs "
        f"{median([t.wall for t in small]) * 1000:,.0f} ms wall"
    )


def _sources() -> str:
    """A digest of the code under test: the tree changes while people work on it, so a
    figure belongs to the sources it was measured on."""
    package = ROOT / "src" / "sundial"
    files = sorted(
        [
            *(package / "engine").glob("*.py"),
            *(package / "timing").glob("*.py"),
            package / "service" / "firing.py",
            package / "store" / "firing.py",
            package / "domain" / "ids.py",
        ]
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return f"sha256 {digest.hexdigest()[:12]} over {len(files)} files"


def _load() -> str:
    """Other processes share the CPUs: the load average says how much they took."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def _machine() -> str:
    cpus = Path("/proc/cpuinfo").read_text().count("processor\t:")
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    return f"{cpus} CPUs ({model})"


if __name__ == "__main__":
    main()
