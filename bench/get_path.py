"""CPU per GetAgentSchedule in process, through the service (no gRPC), by threads.

Run: .venv/bin/python bench/get_path.py [--calls 2400]

On SQLite in a temporary directory, one schedule of a seed-style spec: `ScheduleService.get`
called `--calls` times split over 1, 2, 4 and 8 threads, against the baseline in the same run:
the raw database (sqlite3, one connection per thread) reading the same schedule row by its
primary key. It prints CPU time per call of each and their ratio, so that the part of a Get
that is Sundial's (the session, decoding, presenting) shows apart from gRPC's."""

import argparse
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sundial.domain.clock import FakeClock  # noqa: E402
from sundial.domain.metadata import MetadataInput  # noqa: E402
from sundial.domain.schedules import (  # noqa: E402
    AgentScheduleSpec,
    ScheduleCalendar,
    ScheduleRange,
    ScheduleRules,
)
from sundial.store import migrate  # noqa: E402
from sundial.store.database import Database  # noqa: E402
from tests.support.tenants import Tenant  # noqa: E402

THREADS = (1, 2, 4, 8)


def _cpu_per_call(calls: int, threads: int, make_call: Callable[[], Callable[[], None]]) -> float:
    """CPU seconds per call of `calls` calls split over `threads` threads; each thread makes
    its own caller with `make_call` before the clock starts."""
    each = calls // threads
    ready = threading.Barrier(threads + 1)

    def run() -> None:
        call = make_call()
        ready.wait()
        for _ in range(each):
            call()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.process_time()
    for worker in workers:
        worker.join()
    return (time.process_time() - started) / (each * threads)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2400)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="sundial-bench-")) / "get.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    database = Database(url)
    tenant = Tenant(database, FakeClock(datetime.now(UTC)))
    weekdays = ScheduleCalendar(
        day_of_week=(ScheduleRange(start=1, end=5),), hour=(ScheduleRange(start=9),)
    )
    spec = AgentScheduleSpec(
        initial_message="Summarize yesterday's tickets",
        data={"ticket": 42},
        schedule=ScheduleRules(calendars=(weekdays,), timezone="America/New_York"),
    )
    schedule_id = tenant.schedules.create(
        tenant.principal, tenant.workspace_id, tenant.agent_id, MetadataInput(name="bench"), spec
    ).metadata.id

    def sundial_get() -> Callable[[], None]:
        def call() -> None:
            tenant.schedules.get(
                tenant.principal, tenant.workspace_id, tenant.agent_id, schedule_id
            )

        return call

    def raw_get() -> Callable[[], None]:
        connection = sqlite3.connect(path, check_same_thread=False)

        def call() -> None:
            connection.execute(
                "SELECT * FROM agent_schedules WHERE id = ?", (schedule_id,)
            ).fetchall()

        return call

    for make_call in (sundial_get, raw_get):  # warm-up
        _cpu_per_call(200, 1, make_call)
    print(f"{'threads':>7}  {'sundial us/call':>15}  {'raw sqlite3 us/call':>19}  {'ratio':>6}")
    for threads in THREADS:
        sundial = _cpu_per_call(args.calls, threads, sundial_get)
        raw = _cpu_per_call(args.calls, threads, raw_get)
        print(f"{threads:>7}  {sundial * 1e6:>15.0f}  {raw * 1e6:>19.0f}  {sundial / raw:>5.1f}x")
    database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
