"""A firing workload for crash and replica tests: many schedules firing every second, and
the check that every nominal second fired exactly once."""

import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from sundial.domain.agents import AgentSpec
from sundial.domain.clock import SystemClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import (
    AgentScheduleSpec,
    OverlapPolicy,
    ScheduleInterval,
    ScheduleRules,
)
from sundial.service.agents import AgentService
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import TenancyService
from sundial.store import migrate
from sundial.store.database import Database

SUNDIAL = str(Path(sys.executable).with_name("sundial"))
EVERY_SECOND = AgentScheduleSpec(
    initial_message="tick",
    schedule=ScheduleRules(intervals=(ScheduleInterval(every=timedelta(seconds=1)),)),
    overlap_policy=OverlapPolicy.ALLOW,
)


@dataclass(frozen=True)
class Workload:
    started: datetime  # when the first schedule was created
    workspace_id: str
    agent_id: str
    schedule_ids: list[str]


def create_workload(url: str, count: int, *, admin_secret: str = "") -> Workload:
    """`count` schedules firing every second (ALLOW), in the bootstrap account (whose admin
    key's secret is `admin_secret`, when given)."""
    migrate.upgrade(url)
    database = Database(url)
    try:
        clock = SystemClock()
        bootstrap = TenancyService(database, clock).bootstrap(admin_secret)
        principal, workspace = bootstrap.principal, bootstrap.default_workspace.id
        agent = AgentService(database, clock).create(
            principal, workspace, MetadataInput(name="load"), AgentSpec()
        )
        schedules = ScheduleService(database, clock, min_fire_interval=timedelta(seconds=1))
        started = clock.now()
        created = [
            schedules.create(
                principal,
                workspace,
                agent.metadata.id,
                MetadataInput(name=f"s{index}"),
                EVERY_SECOND,
            )
            for index in range(count)
        ]
        return Workload(started, workspace, agent.metadata.id, [s.metadata.id for s in created])
    finally:
        database.dispose()


def start_engine(
    url: str, *flags: str, log: Path | None = None, level: str = "WARNING"
) -> subprocess.Popen[bytes]:
    """An engine-role `sundial serve`; with `log`, its output is appended there, and
    SIGABRT makes it write every thread's stack (faulthandler) for a test that finds it
    stuck."""
    output = subprocess.DEVNULL if log is None else log.open("ab")
    try:
        return subprocess.Popen(
            [
                SUNDIAL,
                "--log-level",
                level,
                "serve",
                "--roles",
                "engine",
                "--database-url",
                url,
                *flags,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
        )
    finally:
        if log is not None:
            output.close()


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


@dataclass(frozen=True)
class Verdict:
    schedules: int
    objectives: int
    duplicates: int
    gaps: int
    fired_seconds: int


def verify(url: str) -> Verdict:
    """Every (schedule, nominal second) from the first fire up to the schedule's next fire has
    exactly one objective: no duplicates, no gaps (the catch-up window is 24 h and the policy
    is ALLOW, so nothing may be missed or skipped)."""
    database = Database(url)
    try:
        with database.reader.connect() as connection:
            counts = Counter(
                (row[0], str(row[1]))
                for row in connection.execute(
                    text(
                        "SELECT schedule_id, scheduled_time FROM objectives"
                        " WHERE trigger_kind = 'SCHEDULED'"
                    )
                )
            )
            positions = connection.execute(
                text(
                    "SELECT id, next_nominal_at, created_at, missed_fires, skipped_fires"
                    " FROM agent_schedules"
                )
            ).all()
    finally:
        database.dispose()
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    per_schedule = Counter(schedule_id for schedule_id, _ in counts)
    gaps = 0
    for schedule_id, next_nominal, created_at, missed, skipped in positions:
        assert missed == 0, f"{schedule_id} missed {missed} fires"
        assert skipped == 0, f"{schedule_id} skipped {skipped} fires"
        first = _parse(created_at).replace(microsecond=0) + timedelta(seconds=1)
        expected = int((_parse(next_nominal) - first).total_seconds())
        gaps += max(0, expected - per_schedule[schedule_id])
    return Verdict(
        len(positions), sum(counts.values()), duplicates, gaps, sum(per_schedule.values())
    )


def _parse(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)
