"""The measured runs of the firing benchmark: the engine's sustained throughput against the
raw-database ceiling for the same writes, and the cost of one tick at two table sizes.

The CPUs are shared with other work, whose load comes and goes within a minute, so figures
that are compared are measured interleaved: an engine batch, then a raw batch, then an
engine batch...; a tick at 10k, then one at 1M, ... Each side's clock only runs during its
own steps, so both see the same load.

Each run checks afterwards that the database holds exactly what it claims to have written
(one objective per fired schedule, nothing left due that should have fired): a benchmark of
an engine that silently fires less is worthless."""

import gc
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from firing_setup import count_due, count_objectives, fast_ids
from sqlalchemy import Connection, bindparam, insert, select, update

from sundial.domain.clock import FakeClock
from sundial.domain.objectives import TriggerKind
from sundial.service.firing import FiringService
from sundial.store.database import Database
from sundial.store.firing import (
    DueRow,
    FiringRepository,
    NewFire,
    ScheduleAdvance,
    new_objective_row,
    objective_spec_of,
    objectives,
    schedules,
)
from sundial.store.types import UTCDateTime

BATCH = 500


@dataclass(frozen=True, slots=True)
class Throughput:
    fired: int
    seconds: float
    due: int  # schedules due when the run began

    @property
    def rate(self) -> float:
        return self.fired / self.seconds if self.seconds else 0.0

    @property
    def complete(self) -> bool:
        return self.fired == self.due


class _RawWriter:
    """The due rows, read before any clock starts, handed out a batch of 500 at a time."""

    def __init__(self, database: Database, now: datetime) -> None:
        self._database = database
        self._now = now
        with database.reader.connect() as connection:
            rows = connection.execute(
                select(
                    schedules.c.id,
                    schedules.c.account_id,
                    schedules.c.workspace_id,
                    schedules.c.agent_id,
                    schedules.c.profile_id,
                    schedules.c.revision,
                    schedules.c.next_nominal_at,
                    schedules.c.next_fire_at,
                    schedules.c.scheduled_fires,
                )
                .where(schedules.c.next_fire_at <= now)
                .order_by(schedules.c.next_fire_at)
            ).all()
            self._spec = connection.execute(
                select(schedules.c.spec).where(schedules.c.id == rows[0].id)
            ).scalar_one()
        self._due = [DueRow(*row) for row in rows]
        self._step = _interval(self._spec)
        self._ids = fast_ids("obj")
        self._position = 0

    def write_batch(self) -> int:
        """Writes the next batch; returns how many fires it wrote (0 when all are done)."""
        chunk = self._due[self._position : self._position + BATCH]
        self._position += len(chunk)
        if chunk:
            with self._database.writer.begin() as connection:
                self._write(connection, chunk)
        return len(chunk)

    def _write(self, connection: Connection, chunk: list[DueRow]) -> None:
        raise NotImplementedError


class CoreRawWriter(_RawWriter):
    """The ceiling the target is measured against: the same writes as a firing batch with
    no logic, in SQLAlchemy Core with its typed binds. Per batch of 500, one transaction
    with an executemany INSERT of the objectives and an executemany UPDATE moving each
    schedule's next fire (nominal and actual) one interval on."""

    def __init__(self, database: Database, now: datetime) -> None:
        super().__init__(database, now)
        first = self._due[0]
        self._template = new_objective_row(
            objective_id="",
            account_id=first.account_id,
            workspace_id=first.workspace_id,
            agent_id=first.agent_id,
            schedule_id="",
            profile_id=first.profile_id,
            scheduled_time=first.next_nominal_at,
            trigger_kind=TriggerKind.SCHEDULED.name,
            status="PENDING",
            spec=objective_spec_of(self._spec),
            now=now,
        )
        self._advance = (
            update(schedules)
            .where(schedules.c.id == bindparam("b_id"))
            .values(
                next_fire_at=bindparam("b_next", type_=UTCDateTime()),
                next_nominal_at=bindparam("b_next", type_=UTCDateTime()),
            )
        )

    def _write(self, connection: Connection, chunk: list[DueRow]) -> None:
        template, ids, step = self._template, self._ids, self._step
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
            self._advance,
            [{"b_id": row.id, "b_next": row.next_nominal_at + step} for row in chunk],
        )


class StatementRawWriter(_RawWriter):
    """The same writes through the engine's own write statements, FiringRepository
    .insert_fires and .advance (which also write the counters and the last_* columns):
    shown beside the target's ceiling, it says what the engine's statements cost over the
    plainest ones."""

    def __init__(self, database: Database, now: datetime) -> None:
        super().__init__(database, now)
        self._objective_spec = objective_spec_of(self._spec)

    def _write(self, connection: Connection, chunk: list[DueRow]) -> None:
        now, ids, step, spec = self._now, self._ids, self._step, self._objective_spec
        fires = [NewFire(next(ids), row, row.next_nominal_at, "PENDING", spec) for row in chunk]
        advances = [
            ScheduleAdvance(
                id=row.id,
                next_nominal_at=row.next_nominal_at + step,
                next_fire_at=row.next_nominal_at + step,
                scheduled_fires=row.scheduled_fires + 1,
                fired=1,
                missed=0,
                skipped=0,
                skip_reason="",
                last_fire_at=now,
                last_objective_id=fire.objective_id,
            )
            for row, fire in zip(chunk, fires, strict=True)
        ]
        repository = FiringRepository(connection)
        repository.insert_fires(fires, now)
        repository.advance(advances, now)


@dataclass(frozen=True, slots=True)
class Runs:
    """The engine and the raw ceilings of one database kind, measured interleaved."""

    engine: Throughput
    raw: Throughput  # the target's ceiling
    statements: Throughput | None  # the engine's own write statements, for reference


def paired_throughput(urls: Sequence[str], now: datetime, due: int, cap_seconds: float) -> Runs:
    """The engine and the raw ceilings on identically filled databases (urls: the engine's,
    the target ceiling's and, on SQLite, the write statements'), batches interleaved.

    The engine is FiringService.fire_due (batches of 500, a fake clock at `now` so each due
    schedule has exactly one due fire), until nothing is due or its own time passes
    `cap_seconds`; each raw writer writes one batch after each engine batch. The target's
    ceiling is CoreRawWriter; StatementRawWriter is shown beside it."""
    databases = [Database(url) for url in urls]
    try:
        service = FiringService(databases[0], FakeClock(now), batch_size=BATCH)
        writers: list[_RawWriter] = [
            CoreRawWriter(databases[1], now),
            StatementRawWriter(databases[2], now),
        ]
        engine_fired, engine_time = 0, 0.0
        raw_fired, raw_time = [0] * len(writers), [0.0] * len(writers)
        while engine_time < cap_seconds:
            started = time.perf_counter()
            result = service.fire_due()
            engine_time += time.perf_counter() - started
            if not result.schedules:
                break
            engine_fired += result.created
            for index, writer in enumerate(writers):
                started = time.perf_counter()
                raw_fired[index] += writer.write_batch()
                raw_time[index] += time.perf_counter() - started
    finally:
        for database in databases:
            database.dispose()
    outcomes = [Throughput(engine_fired, engine_time, due)] + [
        Throughput(fired, spent, due) for fired, spent in zip(raw_fired, raw_time, strict=True)
    ]
    for url, outcome in zip(urls, outcomes, strict=True):
        _verify(url, now, outcome)
    return Runs(outcomes[0], outcomes[1], outcomes[2] if len(outcomes) > 2 else None)


@dataclass(frozen=True, slots=True)
class TickCost:
    wall: float
    cpu: float  # this process's CPU time: SQLite runs in-process, and unlike wall time it
    # does not grow while other processes hold the shared CPUs


def paired_ticks(
    urls: Sequence[str], moments: Sequence[datetime], expected: int
) -> list[list[TickCost]]:
    """The cost of one fire_due at each of `moments`, on each database in turn (every tick
    must find `expected` due schedules); one list of costs per database."""
    databases = [Database(url) for url in urls]
    clocks = [FakeClock(moments[0]) for _ in urls]
    try:
        services = [
            FiringService(database, clock, batch_size=BATCH)
            for database, clock in zip(databases, clocks, strict=True)
        ]
        costs: list[list[TickCost]] = [[] for _ in urls]
        for moment in moments:
            for service, clock, spent in zip(services, clocks, costs, strict=True):
                clock.set(moment)
                # A collection of the other database's garbage must not land in this tick.
                gc.collect()
                wall, cpu = time.perf_counter(), time.process_time()
                result = service.fire_due()
                spent.append(TickCost(time.perf_counter() - wall, time.process_time() - cpu))
                if result.created != expected:
                    raise RuntimeError(f"a tick at {moment} fired {result.created}, not {expected}")
        return costs
    finally:
        for database in databases:
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


def _interval(spec: dict[str, Any]) -> timedelta:
    """The interval of a stored spec (microseconds, as the codec writes timedeltas)."""
    every: int = spec["schedule"]["intervals"][0]["every"]
    return timedelta(microseconds=every)
