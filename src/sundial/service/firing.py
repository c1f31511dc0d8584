"""One firing batch = one transaction: lock due schedules, plan their fires, insert the
objectives and advance the schedules, commit. No window exists in which an objective is
written and its schedule has not advanced, or the reverse."""

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sundial.domain.clock import Clock
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.objectives import TriggerKind
from sundial.domain.schedules import AgentScheduleSpec, OverlapPolicy
from sundial.engine.planner import DueSchedule, FirePlan, plan_fires
from sundial.store.codec import from_json
from sundial.store.database import Database
from sundial.store.firing import (
    DueRow,
    FiringRepository,
    InFlight,
    ScheduleAdvance,
    new_objective_row,
    objective_spec_of,
)
from sundial.timing import CompiledSchedule, compile_schedule

DEFAULT_BATCH_SIZE = 500
_CACHE_SIZE = 200_000
_NOTHING_IN_FLIGHT = InFlight((), 0)

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class BatchResult:
    schedules: int
    created: int
    agent_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Entry:
    """What the engine keeps of one schedule revision: its spec, its compiled rules and
    what its objectives copy from it."""

    spec: AgentScheduleSpec
    compiled: CompiledSchedule
    objective_spec: dict[str, Any]


class FiringService:
    """Fires due schedules. `on_created` hears of the agents that got new objectives (to wake
    their waiting workers), after the transaction committed."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_database_clock: bool = False,
        on_created: Callable[[frozenset[str]], None] | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self.batch_size = batch_size
        self._use_database_clock = use_database_clock
        self._on_created = on_created
        self._entries: OrderedDict[tuple[str, int], _Entry] = OrderedDict()
        self._compiled: OrderedDict[str, CompiledSchedule] = OrderedDict()
        self._lock = threading.Lock()

    def fire_due(self) -> BatchResult:
        """Fires one batch of due schedules; returns what it did."""
        with self._database.writer.begin() as connection:
            repository = FiringRepository(connection)
            now = repository.database_now() if self._use_database_clock else self._clock.now()
            rows = repository.lock_due(now, self.batch_size)
            if not rows:
                return BatchResult(0, 0, frozenset())
            entries = self._entries_for(rows, repository)
            watched = [
                r.id for r in rows if entries[r.id].spec.overlap_policy is not OverlapPolicy.ALLOW
            ]
            in_flight = repository.in_flight(watched)
            objective_rows: list[dict[str, Any]] = []
            advances: list[ScheduleAdvance] = []
            cancel_ids: list[str] = []
            agents: set[str] = set()
            for row in rows:
                entry = entries[row.id]
                flight = in_flight.get(row.id, _NOTHING_IN_FLIGHT)
                plan = plan_fires(
                    DueSchedule(
                        id=row.id,
                        spec=entry.spec,
                        compiled=entry.compiled,
                        next_nominal_at=row.next_nominal_at,
                        next_fire_at=row.next_fire_at,
                        scheduled_fires=row.scheduled_fires,
                        in_flight_ids=flight.ids,
                        buffered=flight.buffered,
                    ),
                    now,
                )
                created = _objective_rows(row, entry, plan, now)
                objective_rows.extend(created)
                cancel_ids.extend(plan.cancel_ids)
                advances.append(_advance(plan, created, now))
                if created:
                    agents.add(row.agent_id)
            repository.cancel(cancel_ids, now, "cancelled by a newer fire (CANCEL_OTHER)")
            repository.insert_objectives(objective_rows)
            repository.advance(advances, now)
        result = BatchResult(len(rows), len(objective_rows), frozenset(agents))
        if agents and self._on_created is not None:
            self._on_created(result.agent_ids)
        return result

    def earliest_due(self) -> datetime | None:
        with self._database.reader.connect() as connection:
            return FiringRepository(connection).earliest_due()

    def _entries_for(self, rows: list[DueRow], repository: FiringRepository) -> dict[str, _Entry]:
        """Each row's entry; spec documents are read (in one query) only for revisions not
        seen before."""
        entries: dict[str, _Entry] = {}
        with self._lock:
            for row in rows:
                entry = self._entries.get((row.id, row.revision))
                if entry is not None:
                    self._entries.move_to_end((row.id, row.revision))
                    entries[row.id] = entry
        documents = repository.specs([r.id for r in rows if r.id not in entries])
        for row in rows:
            if row.id not in entries:
                entries[row.id] = self._entry(row, documents[row.id])
        return entries

    def _entry(self, row: DueRow, document: dict[str, Any]) -> _Entry:
        spec = from_json(AgentScheduleSpec, document)
        # Schedules with the same rules share one compiled form: only jitter depends on the id.
        key = json.dumps(document.get("schedule", {}), sort_keys=True, separators=(",", ":"))
        if spec.schedule.jitter:
            key = f"{row.id}:{key}"
        compiled = _cached(
            self._compiled,
            key,
            self._lock,
            # Stored specs were valid when written; a stricter minimum must not stop them.
            lambda: compile_schedule(spec.schedule, schedule_id=row.id, min_interval=timedelta(0)),
        )
        entry = _Entry(spec, compiled, objective_spec_of(document))
        return _cached(self._entries, (row.id, row.revision), self._lock, lambda: entry)


def _cached(cache: OrderedDict[K, V], key: K, lock: threading.Lock, make: Callable[[], V]) -> V:
    """An LRU lookup of at most _CACHE_SIZE entries."""
    with lock:
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
    value = make()
    with lock:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


def _objective_rows(
    row: DueRow, entry: _Entry, plan: FirePlan, now: datetime
) -> list[dict[str, Any]]:
    return [
        new_objective_row(
            objective_id=new_id(IdPrefix.OBJECTIVE),
            account_id=row.account_id,
            workspace_id=row.workspace_id,
            agent_id=row.agent_id,
            schedule_id=row.id,
            profile_id=row.profile_id,
            scheduled_time=planned.scheduled_time,
            trigger_kind=TriggerKind.SCHEDULED.name,
            status=planned.status.name,
            spec=entry.objective_spec,
            now=now,
        )
        for planned in plan.objectives
    ]


def _advance(plan: FirePlan, created: list[dict[str, Any]], now: datetime) -> ScheduleAdvance:
    return ScheduleAdvance(
        id=plan.schedule_id,
        next_nominal_at=plan.next_nominal_at,
        next_fire_at=plan.next_fire_at,
        scheduled_fires=plan.scheduled_fires,
        fired=len(created),
        missed=plan.missed,
        skipped=plan.skipped,
        skip_reason=plan.skip_reason,
        last_fire_at=now if created else None,
        last_objective_id=created[-1]["id"] if created else "",
    )
