"""How a Get's read grows with a schedule's history (its number of objectives).

Run: .venv/bin/python bench/history.py [--objectives 0,1000,20000] [--reads 200]

For each history size, on SQLite in a temporary directory, it times in the same run:
- the Get's read: in one unit of work, the schedule with its creator
  (`ScheduleRepository.get`) and its ten newest objectives and running ones
  (`ObjectiveRepository.read_time_facts`), decoded;
- the ranking query Get used before (row_number over all of the schedule's objectives);
- the baseline: the raw database reading one schedule row by its primary key.
The Get should cost about the same at every size."""

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

from sundial.domain.clock import FakeClock  # noqa: E402
from sundial.domain.ids import IdPrefix, new_id  # noqa: E402
from sundial.store import migrate  # noqa: E402
from sundial.store.database import Database  # noqa: E402
from sundial.store.firing import objectives  # noqa: E402
from sundial.store.unit_of_work import UnitOfWork  # noqa: E402
from tests.support.tenants import Tenant  # noqa: E402

# The query the Get ran before: every objective of the schedule ranked, newest first.
RANKED = """
SELECT id, scheduled_time, created_at, status, rank FROM (
  SELECT id, scheduled_time, created_at, status,
         row_number() OVER (PARTITION BY schedule_id ORDER BY id DESC) AS rank
  FROM objectives WHERE schedule_id = ?)
WHERE rank <= 10 OR status = 'PENDING' OR status = 'RUNNING'
ORDER BY id DESC
"""


def _add_history(database: Database, tenant: Tenant, schedule_id: str, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for index in range(count):
        moment = start + timedelta(minutes=index)
        rows.append(
            {
                "id": new_id(IdPrefix.OBJECTIVE),
                "account_id": "acct_bench",
                "workspace_id": tenant.workspace_id,
                "agent_id": tenant.agent_id,
                "schedule_id": schedule_id,
                "profile_id": "prof_bench",
                "scheduled_time": moment,
                "trigger_kind": "SCHEDULED",
                "trigger_key": "",
                "status": "SUCCEEDED",
                "spec": {},
                "available_at": moment,
                "attempt": 1,
                "worker_id": "",
                "created_at": moment,
                "updated_at": moment,
                "error": "",
            }
        )
    columns = {column.name for column in objectives.c}
    with database.writer.begin() as connection:
        for first in range(0, len(rows), 5000):
            batch = [{k: v for k, v in row.items() if k in columns} for row in rows[first:][:5000]]
            connection.execute(objectives.insert(), batch)


def _time(read: Callable[[], Any], reads: int) -> float:
    """Median microseconds of a read over 5 batches."""
    for _ in range(20):
        read()
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(reads):
            read()
        batches.append((time.perf_counter() - started) / reads * 1e6)
    return statistics.median(batches)


def _measure(database: Database, tenant: Tenant, count: int, reads: int) -> str:
    """One line of the table: the three reads at a history of `count` objectives."""
    schedule_id = tenant.schedule()
    _add_history(database, tenant, schedule_id, count)

    def read_schedule() -> Any:
        with UnitOfWork(database, write=False) as uow:
            schedule = uow.schedules.get(tenant.workspace_id, schedule_id)
            return schedule, uow.objectives.read_time_facts([schedule_id])

    connection = database.reader.raw_connection()
    try:
        get = _time(read_schedule, reads)
        ranked = _time(lambda: connection.execute(RANKED, (schedule_id,)).fetchall(), reads)
        raw = _time(
            lambda: connection.execute(
                "SELECT * FROM agent_schedules WHERE id = ?", (schedule_id,)
            ).fetchall(),
            reads,
        )
    finally:
        connection.close()
    return f"{count:>10} {get:>9.0f} {ranked:>12.0f} {raw:>13.0f} {get / raw:>7.1f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objectives", default="0,1000,20000")
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    print(f"{'objectives':>10} {'get (us)':>9} {'ranked (us)':>12} {'raw row (us)':>13} get/raw")
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/history.db"
        migrate.upgrade(url)
        database = Database(url)
        try:
            tenant = Tenant(database, FakeClock(datetime(2026, 6, 1, tzinfo=UTC)))
            for count in (int(text) for text in args.objectives.split(",")):
                print(_measure(database, tenant, count, args.reads), flush=True)
        finally:
            database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
