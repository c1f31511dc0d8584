"""The measured runs of the firing benchmark on one database: the engine's sustained
throughput, the raw-database ceiling for the same writes, and the cost of one tick.

Each run checks afterwards that the database holds exactly what it claims to have written
(one objective per fired schedule, nothing left due that should have fired), because a
benchmark of an engine that silently fires less is worthless."""

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from firing_setup import count_due, count_objectives, fast_ids
from sqlalchemy import bindparam, insert, select, update

from sundial.domain.clock import FakeClock
from sundial.domain.objectives import TriggerKind
from sundial.service.firing import FiringService
from sundial.store.database import Database
from sundial.store.firing import new_objective_row, objective_spec_of, objectives, schedules
from sundial.store.types import UTCDateTime

BATCH = 500


@dataclass(frozen=True, slots=True)
class Throughput:
    fired: int
    seconds: float
    batches: int
    due: int  # schedules due when the run began

    @property
    def rate(self) -> float:
        return self.fired / self.seconds if self.seconds else 0.0

    @property
    def complete(self) -> bool:
        return self.fired == self.due


def engine_throughput(url: str, now: datetime, due: int, cap_seconds: float) -> Throughput:
    """FiringService.fire_due in a loop (batches of 500, a fake clock at `now` so each due
    schedule has exactly one due fire) until nothing is due or `cap_seconds` passed."""
    database = Database(url)
    try:
        service = FiringService(database, FakeClock(now), batch_size=BATCH)
        fired = batches = 0
        started = time.perf_counter()
        while time.perf_counter() - started < cap_seconds:
            result = service.fire_due()
            if not result.schedules:
                break
            fired += result.created
            batches += 1
        elapsed = time.perf_counter() - started
    finally:
        database.dispose()
    outcome = Throughput(fired, elapsed, batches, due)
    _verify(url, now, outcome)
    return outcome


def raw_ceiling(url: str, now: datetime, due: int, cap_seconds: float) -> Throughput:
    """The same writes with no logic, SQLAlchemy Core only: per batch of 500, one transaction
    with an executemany INSERT of the objectives and an executemany UPDATE moving each
    schedule's next fire (nominal and actual) one interval on. The due ids are read before
    the clock starts: this is the ceiling of the writes alone."""
    database = Database(url)
    try:
        with database.reader.connect() as connection:
            found = connection.execute(
                select(schedules.c.id, schedules.c.next_nominal_at, schedules.c.spec)
                .where(schedules.c.next_fire_at <= now)
                .order_by(schedules.c.next_fire_at)
            ).all()
        first = found[0]
        template = new_objective_row(
            objective_id="",
            account_id="",
            workspace_id="",
            agent_id="",
            schedule_id="",
            profile_id="",
            scheduled_time=first.next_nominal_at,
            trigger_kind=TriggerKind.SCHEDULED.name,
            status="PENDING",
            spec=objective_spec_of(first.spec),
            now=now,
        )
        owner = _owner(database, first.id)
        template.update(owner)
        step = _interval(first.spec)
        advance = (
            update(schedules)
            .where(schedules.c.id == bindparam("b_id"))
            .values(
                next_fire_at=bindparam("b_next", type_=UTCDateTime()),
                next_nominal_at=bindparam("b_next", type_=UTCDateTime()),
            )
        )
        ids = fast_ids("obj")
        fired = batches = 0
        started = time.perf_counter()
        for start in range(0, len(found), BATCH):
            if time.perf_counter() - started >= cap_seconds:
                break
            chunk = found[start : start + BATCH]
            with database.writer.begin() as connection:
                connection.execute(
                    insert(objectives),
                    [
                        {
                            **template,
                            "id": next(ids),
                            "schedule_id": row.id,
                            "scheduled_time": row.next_nominal_at,
                        }
                        for row in chunk
                    ],
                )
                connection.execute(
                    advance,
                    [{"b_id": row.id, "b_next": row.next_nominal_at + step} for row in chunk],
                )
            fired += len(chunk)
            batches += 1
        elapsed = time.perf_counter() - started
    finally:
        database.dispose()
    outcome = Throughput(fired, elapsed, batches, due)
    _verify(url, now, outcome)
    return outcome


def tick_costs(url: str, moments: Sequence[datetime], expected: int) -> list[float]:
    """Seconds of one fire_due at each of `moments` (each must find `expected` due)."""
    database = Database(url)
    clock = FakeClock(moments[0])
    try:
        service = FiringService(database, clock, batch_size=BATCH)
        costs = []
        for moment in moments:
            clock.set(moment)
            started = time.perf_counter()
            result = service.fire_due()
            costs.append(time.perf_counter() - started)
            if result.created != expected:
                raise RuntimeError(f"a tick at {moment} fired {result.created}, not {expected}")
        return costs
    finally:
        database.dispose()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _verify(url: str, now: datetime, outcome: Throughput) -> None:
    written, distinct = count_objectives(url)
    left = count_due(url, now)
    if written != outcome.fired or distinct != outcome.fired or left != outcome.due - written:
        raise RuntimeError(
            f"the database disagrees with the run: {outcome.fired} fires claimed, "
            f"{written} objectives for {distinct} schedules, {left} of {outcome.due} still due"
        )


def _owner(database: Database, schedule_id: str) -> dict[str, Any]:
    with database.reader.connect() as connection:
        row = connection.execute(
            select(
                schedules.c.account_id,
                schedules.c.workspace_id,
                schedules.c.agent_id,
                schedules.c.profile_id,
            ).where(schedules.c.id == schedule_id)
        ).one()
    return dict(row._mapping)


def _interval(spec: dict[str, Any]) -> timedelta:
    """The interval of a stored spec (microseconds, as the codec writes timedeltas)."""
    every: int = spec["schedule"]["intervals"][0]["every"]
    return timedelta(microseconds=every)
