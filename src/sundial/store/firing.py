"""The firing engine's SQL, in SQLAlchemy Core: lock due schedules, read what is in flight,
insert objectives and advance schedules, all on the caller's connection and transaction.

Each statement is defined once for both databases and the column types bind its values.
The two writes of every fire (insert its objective, advance its schedule) run as one
executemany per batch with a list of parameter dicts (no RETURNING, so SQLAlchemy hands
them to the driver's executemany: psycopg pipelines the statements, sqlite3 reuses one
prepared statement). What differs between the dialects is meaning, not speed: PostgreSQL
locks the due rows (FOR UPDATE SKIP LOCKED, so replicas share the work), which SQLite's
compiler leaves out because its writer's BEGIN IMMEDIATE already excludes every other
writer; ON CONFLICT comes from each dialect's insert(); jsonb is read as text by a cast."""

import typing
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from sundial.store.models import AgentRow, FireOutcomeRow, ObjectiveRow, ScheduleRow
from sundial.store.types import UTCDateTime

agents = typing.cast(Table, AgentRow.__table__)
schedules = typing.cast(Table, ScheduleRow.__table__)
objectives = typing.cast(Table, ObjectiveRow.__table__)
outcomes = typing.cast(Table, FireOutcomeRow.__table__)

_IN_FLIGHT = ("PENDING", "RUNNING")


@dataclass(frozen=True, slots=True)
class DueRow:
    id: str
    account_id: str
    workspace_id: str
    agent_id: str
    profile_id: str
    revision: int
    next_nominal_at: datetime
    next_fire_at: datetime
    scheduled_fires: int


class NewFire(NamedTuple):
    """A scheduled fire's objective: the rest of its row is the same for every fire."""

    objective_id: str
    schedule: DueRow
    scheduled_time: datetime
    status: str
    spec: dict[str, Any]  # the objective spec (objective_spec_of)
    trace_parent: str | None = None  # the W3C traceparent of the fire's span


@dataclass(frozen=True, slots=True)
class InFlight:
    ids: tuple[str, ...]
    buffered: int


@dataclass(frozen=True, slots=True)
class ScheduleAdvance:
    """The counters and position of a schedule after a pass."""

    id: str
    next_nominal_at: datetime | None
    next_fire_at: datetime | None
    scheduled_fires: int
    fired: int
    missed: int
    skipped: int
    skip_reason: str
    last_fire_at: datetime | None
    last_objective_id: str


def new_objective_row(
    *,
    objective_id: str,
    account_id: str,
    workspace_id: str,
    agent_id: str,
    schedule_id: str,
    profile_id: str,
    scheduled_time: datetime,
    trigger_kind: str,
    status: str,
    spec: dict[str, Any],
    now: datetime,
    trigger_key: str = "",
    attempt: int = 1,
    retry_of: str = "",
    available_at: datetime | None = None,
    trace_parent: str | None = None,
    chain_run_id: str = "",
    chain_node: str = "",
) -> dict[str, Any]:
    """The row of a new objective (spec: initial_message, data and variation_id)."""
    return {
        "id": objective_id,
        "account_id": account_id,
        "workspace_id": workspace_id,
        "agent_id": agent_id,
        "schedule_id": schedule_id,
        "profile_id": profile_id,
        "scheduled_time": scheduled_time,
        "trigger_kind": trigger_kind,
        "trigger_key": trigger_key,
        "status": status,
        "spec": spec,
        "attempt": attempt,
        "retry_of": retry_of,
        "worker_id": "",
        "available_at": available_at or now,
        "lease_expires_at": None,
        "deadline": None,
        "started_at": None,
        "completed_at": now if status == "CANCELLED" else None,
        "output": None,
        "error": "",
        "trace_parent": trace_parent or None,
        "chain_run_id": chain_run_id or None,
        "chain_node": chain_node or None,
        "created_at": now,
        "updated_at": now,
    }


def objective_spec_of(schedule_spec: dict[str, Any]) -> dict[str, Any]:
    """What an objective copies from its schedule's stored spec document."""
    return {
        "initial_message": schedule_spec.get("initial_message", ""),
        "data": schedule_spec.get("data"),
        "variation_id": schedule_spec.get("variation_id", ""),
    }


# The due rows, earliest first; the lock applies on PostgreSQL only (see the module's doc).
_DUE = (
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
    .where(schedules.c.next_fire_at <= bindparam("now", type_=UTCDateTime()))
    .order_by(schedules.c.next_fire_at)
    .limit(bindparam("limit", type_=Integer()))
)
_LOCK_DUE = _DUE.with_for_update(skip_locked=True)

# A second insert of one fire (same fire key) is a no-op: the fire happens once.
_FIRE_KEY = ("schedule_id", "scheduled_time", "trigger_kind", "trigger_key")
_INSERT_OBJECTIVES: dict[str, Any] = {
    "postgresql": postgresql.insert(objectives).on_conflict_do_nothing(index_elements=_FIRE_KEY),
    "sqlite": sqlite.insert(objectives).on_conflict_do_nothing(index_elements=_FIRE_KEY),
}

# A scheduled fire's objective row: the values every fire shares are part of the SQL, so
# that a batch binds only what differs per fire.
_FIRE_CONSTANTS: dict[str, Any] = {
    "trigger_kind": literal_column("'SCHEDULED'"),
    "trigger_key": literal_column("''"),
    "attempt": literal_column("1"),
    "retry_of": literal_column("''"),
    "worker_id": literal_column("''"),
    "lease_expires_at": null(),
    "deadline": null(),
    "started_at": null(),
    "output": null(),
    "error": literal_column("''"),
}
_INSERT_FIRES: dict[str, Any] = {
    dialect: statement.values(_FIRE_CONSTANTS) for dialect, statement in _INSERT_OBJECTIVES.items()
}


def _count_outcomes(insert: Any) -> Any:
    """Adds a minute's misses and skips to the row of its (schedule, minute)."""
    return insert.on_conflict_do_update(
        index_elements=("schedule_id", "minute"),
        set_={
            "missed": outcomes.c.missed + insert.excluded.missed,
            "skipped": outcomes.c.skipped + insert.excluded.skipped,
        },
    )


_COUNT_OUTCOMES: dict[str, Any] = {
    "postgresql": _count_outcomes(postgresql.insert(outcomes)),
    "sqlite": _count_outcomes(sqlite.insert(outcomes)),
}


def _kept_unless(name: str, column: Any, type_: Any) -> Any:
    """The new value bound as `name`, or the column's current value when it is NULL."""
    return func.coalesce(bindparam(name, type_=type_), column)


# A schedule's new position and counters; a None last_* value keeps the column as it was.
_ADVANCE = (
    update(schedules)
    .where(schedules.c.id == bindparam("b_id", type_=String()))
    .values(
        next_nominal_at=bindparam("b_next_nominal_at", type_=UTCDateTime()),
        next_fire_at=bindparam("b_next_fire_at", type_=UTCDateTime()),
        scheduled_fires=bindparam("b_scheduled_fires", type_=Integer()),
        total_fires=schedules.c.total_fires + bindparam("b_fired", type_=Integer()),
        missed_fires=schedules.c.missed_fires + bindparam("b_missed", type_=Integer()),
        skipped_fires=schedules.c.skipped_fires + bindparam("b_skipped", type_=Integer()),
        last_fire_at=_kept_unless("b_last_fire_at", schedules.c.last_fire_at, UTCDateTime()),
        last_objective_id=_kept_unless(
            "b_last_objective_id", schedules.c.last_objective_id, String()
        ),
        last_skipped_at=_kept_unless(
            "b_last_skipped_at", schedules.c.last_skipped_at, UTCDateTime()
        ),
        last_skip_reason=_kept_unless("b_skip_reason", schedules.c.last_skip_reason, String()),
    )
)


class FiringRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name

    def database_now(self) -> datetime:
        """The database server's clock (PostgreSQL), so replicas share one notion of now."""
        moment: datetime = self._connection.execute(select(func.statement_timestamp())).scalar_one()
        return moment

    def lock_due(self, now: datetime, limit: int) -> list[DueRow]:
        """Due ACTIVE schedules, earliest first, locked for this transaction. On PostgreSQL
        rows another replica holds are skipped; SQLite's write lock already excludes others."""
        return self._due(_LOCK_DUE, now, limit)

    def peek_due(self, now: datetime, limit: int) -> list[DueRow]:
        """The schedules lock_due would return at `now`, read without locking them."""
        return self._due(_DUE, now, limit)

    def _due(self, statement: Any, now: datetime, limit: int) -> list[DueRow]:
        rows = self._connection.execute(statement, {"now": now, "limit": limit})
        return [DueRow(*row) for row in rows]

    def spec_texts(self, schedule_ids: Sequence[str]) -> dict[str, str]:
        """The stored spec documents of these schedules as JSON text, not decoded: the engine
        caches them by revision and decodes a text it has seen before only once."""
        return self._texts(schedules, schedule_ids)

    def agent_spec_texts(self, agent_ids: Sequence[str]) -> dict[str, str]:
        """The stored spec documents of these agents (their variations), as JSON text."""
        return self._texts(agents, agent_ids)

    def _texts(self, table: Table, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        # jsonb must be cast to text; SQLite's JSON is text already.
        text = (
            cast(table.c.spec, Text)
            if self._dialect == "postgresql"
            else type_coerce(table.c.spec, Text)
        )
        rows = self._connection.execute(select(table.c.id, text).where(table.c.id.in_(ids)))
        return {row[0]: row[1] for row in rows}

    def in_flight(self, schedule_ids: Sequence[str]) -> dict[str, InFlight]:
        """PENDING/RUNNING objective ids and BUFFERED counts of each schedule."""
        if not schedule_ids:
            return {}
        rows = self._connection.execute(
            select(objectives.c.schedule_id, objectives.c.id, objectives.c.status).where(
                objectives.c.schedule_id.in_(schedule_ids),
                objectives.c.status.in_((*_IN_FLIGHT, "BUFFERED")),
            )
        )
        ids: dict[str, list[str]] = defaultdict(list)
        buffered: dict[str, int] = defaultdict(int)
        for schedule_id, objective_id, status in rows:
            if status == "BUFFERED":
                buffered[schedule_id] += 1
            else:
                ids[schedule_id].append(objective_id)
        return {
            key: InFlight(tuple(ids.get(key, ())), buffered.get(key, 0))
            for key in set(ids) | set(buffered)
        }

    def insert_objectives(self, rows: list[dict[str, Any]]) -> None:
        """Inserts objectives; one whose fire key exists already is left out (never twice)."""
        if rows:
            self._connection.execute(_INSERT_OBJECTIVES[self._dialect], rows)

    def insert_fires(self, fires: Sequence[NewFire], now: datetime) -> None:
        """Inserts the objectives of scheduled fires, as insert_objectives does."""
        if not fires:
            return
        self._connection.execute(
            _INSERT_FIRES[self._dialect],
            [
                {
                    "id": fire.objective_id,
                    "account_id": fire.schedule.account_id,
                    "workspace_id": fire.schedule.workspace_id,
                    "agent_id": fire.schedule.agent_id,
                    "schedule_id": fire.schedule.id,
                    "profile_id": fire.schedule.profile_id,
                    "scheduled_time": fire.scheduled_time,
                    "status": fire.status,
                    "spec": fire.spec,
                    "available_at": now,
                    "completed_at": now if fire.status == "CANCELLED" else None,
                    "trace_parent": fire.trace_parent,
                    "created_at": now,
                    "updated_at": now,
                }
                for fire in fires
            ],
        )

    def cancel(self, objective_ids: Iterable[str], now: datetime, reason: str) -> None:
        ids = list(objective_ids)
        if not ids:
            return
        self._connection.execute(
            update(objectives)
            .where(objectives.c.id.in_(ids), objectives.c.status.in_(_IN_FLIGHT))
            .values(status="CANCELLED", completed_at=now, updated_at=now, error=reason)
        )

    def advance(self, advances: Sequence[ScheduleAdvance], now: datetime) -> None:
        """Writes each schedule's new position and counters (one executemany per batch)."""
        if not advances:
            return
        self._connection.execute(
            _ADVANCE,
            [
                {
                    "b_id": a.id,
                    "b_next_nominal_at": a.next_nominal_at,
                    "b_next_fire_at": a.next_fire_at,
                    "b_scheduled_fires": a.scheduled_fires,
                    "b_fired": a.fired,
                    "b_missed": a.missed,
                    "b_skipped": a.skipped,
                    "b_last_fire_at": a.last_fire_at,
                    "b_last_objective_id": a.last_objective_id or None,
                    "b_last_skipped_at": now if a.skipped else None,
                    "b_skip_reason": a.skip_reason or None,
                }
                for a in advances
            ],
        )
        minute = now.replace(second=0, microsecond=0)
        counted = [
            {"schedule_id": a.id, "minute": minute, "missed": a.missed, "skipped": a.skipped}
            for a in advances
            if a.missed or a.skipped
        ]
        if counted:
            self._connection.execute(_COUNT_OUTCOMES[self._dialect], counted)

    def earliest_due(self) -> datetime | None:
        """When the next schedule falls due (the loop sleeps until then)."""
        return self._connection.execute(
            select(func.min(schedules.c.next_fire_at)).where(schedules.c.next_fire_at.is_not(None))
        ).scalar_one_or_none()
