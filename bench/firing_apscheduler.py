"""The baseline: APScheduler 3.11 firing the same workload, every job due at once (an
interval of 60 s, next run time in the past), a job function that only counts.

A BackgroundScheduler starts paused, the jobs are stored, and the clock starts at resume();
fires/s = executed jobs / seconds until the last one ran. APScheduler processes every due
job of a pass before it looks at anything else (shutdown waits for that pass), so the job
count, not a time cap, bounds the run: pick one that finishes."""

import os
import pickle
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.base import BaseJobStore  # type: ignore[import-untyped]
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.util import datetime_to_utc_timestamp  # type: ignore[import-untyped]

STAGING = "staging"
_INSERT_CHUNK = 5_000


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.target = 0
        self.done = threading.Event()

    def reset(self, target: int) -> None:
        with self._lock:
            self.count, self.target = 0, target
            self.done = threading.Event()

    def hit(self) -> None:
        with self._lock:
            self.count += 1
            if self.count >= self.target:
                self.done.set()


COUNTER = _Counter()


def tick() -> None:
    """The job: counts its run (module level, so SQLAlchemyJobStore can pickle a reference)."""
    COUNTER.hit()


@dataclass(frozen=True, slots=True)
class ApsRun:
    store: str
    jobs: int
    fired: int
    seconds: float
    fsyncs_per_second: float  # the disk, just before the run

    @property
    def rate(self) -> float:
        return self.fired / self.seconds if self.seconds else 0.0


def apscheduler_rate(store: str, jobs: int, directory: Path, timeout: float) -> ApsRun:
    """Fires/s of APScheduler with `store` ("sqlalchemy": SQLite file, or "memory")."""
    jobstore: BaseJobStore
    if store == "sqlalchemy":
        # The store as its documentation configures it: a URL, SQLAlchemy's defaults.
        jobstore = SQLAlchemyJobStore(url=f"sqlite:///{directory / 'apscheduler.sqlite'}")
    else:
        jobstore = MemoryJobStore()
    scheduler = BackgroundScheduler(
        jobstores={"default": jobstore, STAGING: MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(10)},
        # All jobs are late on purpose: without misfire_grace_time=None APScheduler would
        # drop runs more than 1 s late instead of running them.
        job_defaults={"misfire_grace_time": None, "coalesce": True},
        timezone=UTC,
    )
    disk = fsync_rate(directory)
    scheduler.start(paused=True)
    try:
        due = datetime.now(UTC) - timedelta(seconds=1)
        target = STAGING if isinstance(jobstore, SQLAlchemyJobStore) else "default"
        for index in range(jobs):
            scheduler.add_job(
                tick,
                "interval",
                seconds=60,
                id=f"job-{index}",
                next_run_time=due,
                jobstore=target,
            )
        if isinstance(jobstore, SQLAlchemyJobStore):
            _copy_jobs(scheduler, jobstore)
        COUNTER.reset(jobs)
        started = time.perf_counter()
        scheduler.resume()
        COUNTER.done.wait(timeout)
        elapsed = time.perf_counter() - started
        fired = COUNTER.count
    finally:
        scheduler.shutdown(wait=True)
    return ApsRun(store, jobs, fired, elapsed, disk)


def fsync_rate(directory: Path, count: int = 200) -> float:
    """fsyncs/s of the disk under `directory`. SQLAlchemyJobStore's SQLite (rollback journal,
    synchronous=FULL: SQLAlchemy's defaults) syncs on every job's UPDATE, so its fires/s
    follow this figure, which other work on a shared disk moves a lot."""
    path = directory / "fsync-probe"
    with path.open("wb") as handle:
        started = time.perf_counter()
        for _ in range(count):
            handle.write(b"x")
            handle.flush()
            os.fsync(handle.fileno())
        elapsed = time.perf_counter() - started
    path.unlink()
    return count / elapsed


def _copy_jobs(scheduler: BackgroundScheduler, store: SQLAlchemyJobStore) -> None:
    """Writes the staged jobs into the SQL store with the very row add_job would write, in
    one transaction: one add_job transaction (and fsync) per job takes minutes."""
    staged = scheduler.get_jobs(jobstore=STAGING)
    with store.engine.begin() as connection:
        for start in range(0, len(staged), _INSERT_CHUNK):
            connection.execute(
                store.jobs_t.insert(),
                [
                    {
                        "id": job.id,
                        "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
                        "job_state": pickle.dumps(job.__getstate__(), store.pickle_protocol),
                    }
                    for job in staged[start : start + _INSERT_CHUNK]
                ],
            )
    scheduler.remove_all_jobs(jobstore=STAGING)
