"""One firing batch = one transaction: lock due schedules, plan their fires, insert the
objectives, advance the schedules and write the outbox's deliveries of the fires missed or
skipped and the schedules finished, commit. No window exists in which an objective is
written and its schedule has not advanced, or the reverse."""

import functools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from cachetools import LRUCache

from sundial.domain.agents import AgentSpec, choose_variation
from sundial.domain.clock import Clock, later
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.schedules import AgentScheduleSpec, OverlapPolicy
from sundial.engine.planner import DEFAULT_CATCHUP_WINDOW, DueSchedule, FirePlan, plan_fires
from sundial.metrics import Metrics
from sundial.service.chain_steps import ChainSteps
from sundial.service.fire_reports import SET_ASIDE_FOR, FireReports
from sundial.service.firing_effects import Decided, start_chains, write_outbox
from sundial.service.outbox import Outbox
from sundial.store.codec import from_json
from sundial.store.database import Database
from sundial.store.firing import (
    DueRow,
    FiringRepository,
    InFlight,
    NewFire,
    ScheduleAdvance,
    objective_spec_of,
)
from sundial.store.repositories.outbox import OutboxRepository
from sundial.store.unit_of_work import JoinedWork
from sundial.timing import CompiledSchedule, compile_schedule
from sundial.tracing import FireSpan, Tracing

logger = logging.getLogger("sundial.engine")

DEFAULT_BATCH_SIZE = 500
_CACHE_SIZE = 200_000
# Distinct spec texts kept decoded: the cache pays only for texts many schedules share.
_DOCUMENT_CACHE_SIZE = 10_000
_NOTHING_IN_FLIGHT = InFlight((), 0)

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class BatchResult:
    schedules: int
    created: int
    agent_ids: frozenset[str]
    set_aside: int = 0  # schedules skipped because their fires could not be computed


@dataclass(frozen=True, slots=True)
class _Entry:
    """What the engine keeps of one schedule revision: its spec, its compiled rules and
    what its objectives copy from it."""

    spec: AgentScheduleSpec
    compiled: CompiledSchedule
    objective_spec: dict[str, Any]
    objective_spec_json: str  # the same, as the key of its variations (with_variation)


class FiringService:
    """Fires due schedules. `on_created` hears of the agents that got new objectives (to wake
    their waiting workers), after the transaction committed; so do `metrics` and the log,
    which count each decision once (the transaction that made it committed). With `tracing`
    on, each objective created gets a span (child of the firing pass's), whose traceparent
    the objective keeps; the span ends once the transaction committed."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_database_clock: bool = False,
        on_created: Callable[[frozenset[str]], None] | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        outbox: Outbox | None = None,
        chains: ChainSteps | None = None,
    ) -> None:
        self._database = database
        self._metrics = metrics or Metrics()
        self._tracing = tracing or Tracing()
        self._outbox = outbox or Outbox()
        self._chains = chains or ChainSteps(self._outbox)
        self._clock = clock
        self.batch_size = batch_size
        self._use_database_clock = use_database_clock
        self._on_created = on_created
        self._entries: LRUCache[tuple[str, int], _Entry] = LRUCache(_CACHE_SIZE)
        self._documents: LRUCache[str, _Document] = LRUCache(_DOCUMENT_CACHE_SIZE)
        self._agent_documents: LRUCache[str, AgentSpec] = LRUCache(_DOCUMENT_CACHE_SIZE)
        self._compiled: LRUCache[str, CompiledSchedule] = LRUCache(_CACHE_SIZE)
        self._ahead: dict[str, _PlannedAhead] = {}
        self._ahead_for: datetime | None = None
        self._reports = FireReports(self._metrics)
        self._lock = threading.Lock()

    @property
    def schedules_set_aside(self) -> int:
        """Schedules set aside since start (each time one is)."""
        return self._reports.schedules_set_aside

    def fire_due(self) -> BatchResult:
        """Fires one batch of due schedules; returns what it did."""
        with self._database.write_turn, self._database.writer.begin() as connection:
            repository = FiringRepository(connection)
            now = repository.database_now() if self._use_database_clock else self._clock.now()
            rows = repository.lock_due(now, self.batch_size)
            if not rows:
                return BatchResult(0, 0, frozenset())
            with self._lock:
                ahead, self._ahead, self._ahead_for = self._ahead, {}, None
            entries, unfit = self._entries_for(rows, repository)
            fit = [r for r in rows if r.id in entries]
            watched = [
                r.id for r in fit if entries[r.id].spec.overlap_policy is not OverlapPolicy.ALLOW
            ]
            in_flight = repository.in_flight(watched)
            choosers = self._agent_specs(
                {r.agent_id for r in fit if not entries[r.id].spec.variation_id}, repository
            )
            fires: list[NewFire] = []
            advances: list[ScheduleAdvance] = []
            decided: list[Decided] = []
            cancel_ids: list[str] = []
            agents: set[str] = set()
            for row in fit:
                agent = choosers.get(row.agent_id)
                if isinstance(agent, Exception):
                    unfit[row.id] = agent
                    continue
                try:
                    plan, created = self._fires_of(
                        row,
                        entries[row.id],
                        ahead.get(row.id),
                        in_flight.get(row.id, _NOTHING_IN_FLIGHT),
                        agent,
                        now,
                    )
                except Exception as error:  # one schedule's bad values must not stop the rest
                    unfit[row.id] = error
                    continue
                fires.extend(created)
                cancel_ids.extend(plan.cancel_ids)
                advances.append(_advance(plan, created, now))
                decided.append(Decided(row, plan, created))
                if created:
                    agents.add(row.agent_id)
            set_aside = [r for r in rows if r.id in unfit]
            advances.extend(_set_aside(row, now) for row in set_aside)
            # A schedule that names a chain starts a run of it instead of one objective.
            fires, chains = start_chains(
                self._chains, JoinedWork(connection), fires, _chain_ids(entries), advances, now
            )
            # Spans of a transaction that fails are never ended, so never exported.
            fires, spans = self._traced(fires)
            repository.cancel(cancel_ids, now, "cancelled by a newer fire (CANCEL_OTHER)")
            repository.insert_fires(fires, now)
            repository.advance(advances, now)
            outbox = write_outbox(
                self._outbox,
                OutboxRepository(connection),
                lambda: JoinedWork(connection),
                decided,
                now,
                chains.outbox,
            )
        outbox.record(self._metrics)
        if spans:  # tracing on
            for fire, span in zip(fires, spans, strict=True):
                span.end({"sundial.lag_seconds": (now - fire.scheduled_time).total_seconds()})
        self._tracing.batch_fired(len(rows), len(fires))
        for row in set_aside:
            self._reports.set_aside(row, unfit[row.id])
        self._reports.pass_committed(decided, now)
        result = BatchResult(
            len(rows), len(fires), frozenset(agents | chains.agent_ids), len(set_aside)
        )
        if agents and self._on_created is not None:
            self._on_created(result.agent_ids)
        return result

    def _traced(self, fires: list[NewFire]) -> tuple[list[NewFire], list[FireSpan]]:
        """The fires with the traceparent of their own new span, and those spans."""
        if not self._tracing.enabled:
            return fires, []
        spans = [
            self._tracing.fire_span(
                {
                    "sundial.workspace_id": fire.schedule.workspace_id,
                    "sundial.agent_id": fire.schedule.agent_id,
                    "sundial.schedule_id": fire.schedule.id,
                    "sundial.objective_id": fire.objective_id,
                    "sundial.objective_status": fire.status,
                    "sundial.trigger_kind": "SCHEDULED",
                    "sundial.scheduled_time": fire.scheduled_time.isoformat(),
                }
            )
            for fire in fires
        ]
        traced = [
            fire._replace(trace_parent=span.trace_parent)
            for fire, span in zip(fires, spans, strict=True)
        ]
        return traced, spans

    def _fires_of(
        self,
        row: DueRow,
        entry: _Entry,
        planned: "_PlannedAhead | None",
        flight: InFlight,
        agent: AgentSpec | None,
        now: datetime,
    ) -> tuple[FirePlan, list[NewFire]]:
        """The plan of one due schedule and the objectives it creates."""
        if planned is not None and planned.holds_for(row, now):
            plan = planned.plan
        else:
            plan = _plan(row, entry, flight, now)
        created = [
            NewFire(
                new_id(IdPrefix.OBJECTIVE),
                row,
                objective.scheduled_time,
                objective.status.name,
                entry.objective_spec
                if agent is None or not agent.variations
                else with_variation(
                    entry.objective_spec_json,
                    choose_variation(
                        agent,
                        schedule_id=row.id,
                        nominal=objective.scheduled_time,
                        sequence=row.scheduled_fires + index,
                    ),
                ),
            )
            for index, objective in enumerate(plan.objectives)
        ]
        return plan, created

    def earliest_due(self) -> datetime | None:
        """When the next schedule falls due (the loop sleeps until then). The schedules due
        then are also planned ahead, while the loop is idle: the batch that fires them
        checks each plan against the row it locked and only writes (see _PlannedAhead)."""
        with self._database.reader.begin() as connection:
            repository = FiringRepository(connection)
            earliest = repository.earliest_due()
            if earliest is not None:
                self._plan_ahead(repository, earliest)
        return earliest

    def _plan_ahead(self, repository: FiringRepository, moment: datetime) -> None:
        if moment == self._ahead_for:
            # Woken early (say, a schedule was created): the plans for this moment stand;
            # rows changed since are planned by the batch.
            return
        rows = repository.peek_due(moment, self.batch_size)
        # A row that cannot be planned is left to the batch, which sets it aside.
        entries, _ = self._entries_for(rows, repository)
        ahead: dict[str, _PlannedAhead] = {}
        for row in rows:
            entry = entries.get(row.id)
            # Other policies depend on the objectives in flight when the batch runs.
            if entry is None or entry.spec.overlap_policy is not OverlapPolicy.ALLOW:
                continue
            try:
                plan = _plan(row, entry, _NOTHING_IN_FLIGHT, moment)
            except Exception:  # the batch plans it again, sets it aside and reports it
                continue
            if plan.objectives and not (plan.missed or plan.skipped or plan.cancel_ids):
                catchup = entry.spec.catchup_window
                ahead[row.id] = _PlannedAhead(
                    row,
                    moment,
                    plan,
                    later(
                        plan.objectives[0].scheduled_time,
                        catchup if catchup is not None else DEFAULT_CATCHUP_WINDOW,
                    ),
                )
        with self._lock:
            self._ahead, self._ahead_for = ahead, moment

    def _agent_specs(
        self, agent_ids: set[str], repository: FiringRepository
    ) -> dict[str, AgentSpec | Exception]:
        """The specs (variations and selection mode) of the agents of schedules that name no
        variation, or why one could not be decoded; each distinct document is decoded once."""
        texts = repository.agent_spec_texts(sorted(agent_ids))
        specs: dict[str, AgentSpec | Exception] = {}
        for agent_id, text in texts.items():
            try:
                specs[agent_id] = _cached(
                    self._agent_documents,
                    text,
                    self._lock,
                    functools.partial(_decode_agent, text),
                )
            except Exception as error:  # its schedules are set aside, not the whole batch
                specs[agent_id] = error
        return specs

    def _entries_for(
        self, rows: list[DueRow], repository: FiringRepository
    ) -> tuple[dict[str, _Entry], dict[str, Exception]]:
        """Each row's entry, and why the rows without one have none (their stored spec could
        not be decoded or compiled); spec documents are read (in one query) only for
        revisions not seen before."""
        entries: dict[str, _Entry] = {}
        with self._lock:
            for row in rows:
                entry = self._entries.get((row.id, row.revision))
                if entry is not None:  # a get counts as a use for the LRU order
                    entries[row.id] = entry
        texts = repository.spec_texts([r.id for r in rows if r.id not in entries])
        unfit: dict[str, Exception] = {}
        for row in rows:
            if row.id not in entries:
                try:
                    entries[row.id] = self._entry(row, texts[row.id])
                except Exception as error:  # one schedule's bad values must not stop the rest
                    unfit[row.id] = error
        return entries, unfit

    def _entry(self, row: DueRow, text: str) -> _Entry:
        document = _cached(self._documents, text, self._lock, lambda: _decode(text))
        spec = document.spec
        compiled = _cached(
            self._compiled,
            # Only jitter depends on the schedule's id.
            f"{row.id}:{document.rules_key}" if spec.schedule.jitter else document.rules_key,
            self._lock,
            # Stored specs were valid when written; a stricter minimum must not stop them.
            lambda: compile_schedule(spec.schedule, schedule_id=row.id, min_interval=timedelta(0)),
        )
        entry = _Entry(spec, compiled, document.objective_spec, document.objective_spec_json)
        return _cached(self._entries, (row.id, row.revision), self._lock, lambda: entry)


@dataclass(frozen=True, slots=True)
class _PlannedAhead:
    """A due schedule of the next batch, planned before its time with "now" at the moment it
    falls due (ALLOW only: its plan depends on nothing but the row and the time).

    Planning again at the batch's "now" would give the same plan while the locked row is the
    row planned from (same revision, position and count), "now" is not before the moment
    planned for, no further fire has fallen due (next_fire_at is still ahead) and none of the
    planned fires has left the catch-up window; otherwise the batch plans the row itself. A
    plan is used by the next batch or dropped."""

    row: DueRow
    planned_at: datetime
    plan: FirePlan
    catchup_ends: datetime  # the oldest planned fire is missed after this

    def holds_for(self, row: DueRow, now: datetime) -> bool:
        following = self.plan.next_fire_at
        return (
            row == self.row
            and self.planned_at <= now <= self.catchup_ends
            and (following is None or following > now)
        )


@dataclass(frozen=True, slots=True)
class _Document:
    """A decoded spec document. Schedules made from one template store the same text, which
    is then decoded once; those with the same rules share one compiled form (rules_key)."""

    spec: AgentScheduleSpec
    rules_key: str
    objective_spec: dict[str, Any]  # shared by the entries of every schedule storing the text
    objective_spec_json: str


def _decode(text: str) -> _Document:
    document = json.loads(text)
    objective_spec = objective_spec_of(document)
    return _Document(
        from_json(AgentScheduleSpec, document),
        json.dumps(document.get("schedule", {}), sort_keys=True, separators=(",", ":")),
        objective_spec,
        json.dumps(objective_spec),
    )


def _cached(cache: LRUCache[K, V], key: K, lock: threading.Lock, make: Callable[[], V]) -> V:
    """`cache[key]`, made with `make` when missing (cachetools' caches are not thread-safe
    alone; `make` runs outside the lock)."""
    with lock:
        found = cache.get(key)
    if found is not None:
        return found
    value = make()
    with lock:
        cache[key] = value
    return value


def _decode_agent(text: str) -> AgentSpec:
    return from_json(AgentSpec, json.loads(text))


@functools.lru_cache(maxsize=_DOCUMENT_CACHE_SIZE)
def with_variation(objective_spec_json: str, variation_id: str) -> dict[str, Any]:
    """An objective spec document with its variation chosen (one decoding per pair; the
    document is shared, so it is never changed)."""
    return {**json.loads(objective_spec_json), "variation_id": variation_id}


def _plan(row: DueRow, entry: _Entry, flight: InFlight, now: datetime) -> FirePlan:
    """The plan of one due schedule at `now`."""
    return plan_fires(
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


def _chain_ids(entries: dict[str, _Entry]) -> dict[str, str]:
    """The chain each schedule of the pass names, for the schedules that name one."""
    return {key: entry.spec.chain_id for key, entry in entries.items() if entry.spec.chain_id}


def _set_aside(row: DueRow, now: datetime) -> ScheduleAdvance:
    """A schedule left where it is, due again SET_ASIDE_FOR from now."""
    return ScheduleAdvance(
        id=row.id,
        next_nominal_at=row.next_nominal_at,
        next_fire_at=later(now, SET_ASIDE_FOR),
        scheduled_fires=row.scheduled_fires,
        fired=0,
        missed=0,
        skipped=0,
        skip_reason="",
        last_fire_at=None,
        last_objective_id="",
    )


def _advance(plan: FirePlan, created: list[NewFire], now: datetime) -> ScheduleAdvance:
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
        last_objective_id=created[-1].objective_id if created else "",
    )
