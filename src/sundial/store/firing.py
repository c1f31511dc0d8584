"""The firing engine's SQL, in SQLAlchemy Core: lock due schedules, read what is in flight,
insert objectives and advance schedules, all on the caller's connection and transaction.

The two writes of every fire (insert its objective, advance its schedule) run hundreds of
times per batch, so they skip Core's per-row parameter processing: their SQL is built once
per dialect, timestamps are rendered once per distinct value, and the driver gets plain
values. SQLite takes them as an executemany of one prepared statement; PostgreSQL as one
statement per batch reading a JSON array of rows (`json_to_recordset`), where psycopg's
executemany would send a statement per row and its array adaptation costs more in Python."""

import json
import typing
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, Text, cast, func, insert, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite

from sundial.store.models import AgentRow, ObjectiveRow, ScheduleRow

agents = typing.cast(Table, AgentRow.__table__)
schedules = typing.cast(Table, ScheduleRow.__table__)
objectives = typing.cast(Table, ObjectiveRow.__table__)

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
    spec_json: str  # the objective spec (objective_spec_of), JSON-encoded


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


# DueRow's columns, in its field order.
_DUE_COLUMNS = (
    "id, account_id, workspace_id, agent_id, profile_id, revision, next_nominal_at, "
    "next_fire_at, scheduled_fires"
)
_DUE = {
    "sqlite": (
        f"SELECT {_DUE_COLUMNS} FROM agent_schedules WHERE next_fire_at <= ? "
        "ORDER BY next_fire_at LIMIT ?"
    ),
    "postgresql": (
        f"SELECT {_DUE_COLUMNS} FROM agent_schedules WHERE next_fire_at <= %(now)s "
        "ORDER BY next_fire_at LIMIT %(limit)s"
    ),
}

# The columns a fire's objective row sets per fire, and those the same in every fire (as SQL).
_FIRE_COLUMNS = (
    "id",
    "account_id",
    "workspace_id",
    "agent_id",
    "schedule_id",
    "profile_id",
    "scheduled_time",
    "status",
    "spec",
    "available_at",
    "completed_at",
    "created_at",
    "updated_at",
)
_FIRE_CONSTANTS = {
    "trigger_kind": "'SCHEDULED'",
    "trigger_key": "''",
    "attempt": "1",
    "retry_of": "''",
    "worker_id": "''",
    "lease_expires_at": "NULL",
    "deadline": "NULL",
    "started_at": "NULL",
    "output": "NULL",
    "error": "''",
}
_ALL_FIRE_COLUMNS = (*_FIRE_COLUMNS, *_FIRE_CONSTANTS)
if set(_ALL_FIRE_COLUMNS) != set(objectives.c.keys()):  # pragma: no cover - a schema change
    raise RuntimeError("store/firing.py: a fire's objective row does not match the table")

_INSERT_FIRES = {
    "sqlite": (
        f"INSERT INTO objectives ({', '.join(_ALL_FIRE_COLUMNS)}) "
        f"VALUES ({', '.join(['?'] * len(_FIRE_COLUMNS) + list(_FIRE_CONSTANTS.values()))}) "
        "ON CONFLICT DO NOTHING"
    ),
    # One statement per batch: the fires arrive as one JSON array of objects.
    "postgresql": (
        f"INSERT INTO objectives ({', '.join(_ALL_FIRE_COLUMNS)}) "
        "SELECT f.id, f.account_id, f.workspace_id, f.agent_id, f.schedule_id, f.profile_id, "
        "f.scheduled_time, f.status, f.spec::jsonb, %(now)s, "
        "CASE WHEN f.status = 'CANCELLED' THEN %(now)s END, %(now)s, %(now)s, "
        f"{', '.join(_FIRE_CONSTANTS.values())} "
        "FROM json_to_recordset(%(fires)s::json) AS f(id varchar, account_id varchar, "
        "workspace_id varchar, agent_id varchar, schedule_id varchar, profile_id varchar, "
        "scheduled_time timestamptz, status varchar, spec text) "
        "ON CONFLICT ON CONSTRAINT uq_objectives_fire DO NOTHING"
    ),
}

# A schedule's new position and counters; NULL (None) keeps a last_* column as it was.
_ADVANCE_RECORD = (
    "id varchar, next_nominal_at timestamptz, next_fire_at timestamptz, scheduled_fires integer, "
    "fired integer, missed integer, skipped integer, last_fire_at timestamptz, "
    "last_objective_id varchar, last_skipped_at timestamptz, skip_reason varchar"
)


def _advance_sql(value: Callable[[str], str], target: str) -> str:
    """The SET list of the advance, `value(name)` being how the statement reads a new value
    and `target` how it names the schedule's current row."""
    return (
        f"next_nominal_at = {value('next_nominal_at')}, "
        f"next_fire_at = {value('next_fire_at')}, "
        f"scheduled_fires = {value('scheduled_fires')}, "
        f"total_fires = {target}total_fires + {value('fired')}, "
        f"missed_fires = {target}missed_fires + {value('missed')}, "
        f"skipped_fires = {target}skipped_fires + {value('skipped')}, "
        f"last_fire_at = coalesce({value('last_fire_at')}, {target}last_fire_at), "
        f"last_objective_id = coalesce({value('last_objective_id')}, {target}last_objective_id), "
        f"last_skipped_at = coalesce({value('last_skipped_at')}, {target}last_skipped_at), "
        f"last_skip_reason = coalesce({value('skip_reason')}, {target}last_skip_reason)"
    )


_ADVANCE = {
    # Parameters in the order of _ADVANCE_RECORD, the id last.
    "sqlite": f"UPDATE agent_schedules SET {_advance_sql(lambda _: '?', '')} WHERE id = ?",
    "postgresql": (
        f"UPDATE agent_schedules AS s SET {_advance_sql(lambda name: f'a.{name}', 's.')} "
        f"FROM json_to_recordset(%(advances)s::json) AS a({_ADVANCE_RECORD}) WHERE s.id = a.id"
    ),
}


def sqlite_timestamp(value: datetime) -> str:
    """`value` as UTCDateTime stores it on SQLite: naive UTC text with microseconds, so that
    stored times compare as text in time order."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# UTCDateTime's reading of a stored time (None stays None, as Core would leave it).
def _from_sqlite_timestamp(text: Any) -> Any:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _as_utc(value: Any) -> Any:
    return None if value is None else value.astimezone(UTC)


class _IsoTimes:
    """ISO 8601 text of aware times (as PostgreSQL reads timestamptz), each distinct time
    rendered once: a batch's fires share a handful of times."""

    def __init__(self) -> None:
        self._texts: dict[datetime, str] = {}

    @typing.overload
    def __call__(self, value: datetime) -> str: ...
    @typing.overload
    def __call__(self, value: None) -> None: ...
    @typing.overload
    def __call__(self, value: datetime | None) -> str | None: ...
    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        text = self._texts.get(value)
        if text is None:
            text = self._texts[value] = value.isoformat()
        return text


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
        return self._due(now, limit, lock=True)

    def peek_due(self, now: datetime, limit: int) -> list[DueRow]:
        """The schedules lock_due would return at `now`, read without locking them."""
        return self._due(now, limit, lock=False)

    def _due(self, now: datetime, limit: int, *, lock: bool) -> list[DueRow]:
        moment: Callable[[Any], Any]
        if self._dialect == "sqlite":
            rows = self._connection.exec_driver_sql(_DUE["sqlite"], (sqlite_timestamp(now), limit))
            moment = _from_sqlite_timestamp
        else:
            sql = _DUE["postgresql"] + (" FOR UPDATE SKIP LOCKED" if lock else "")
            rows = self._connection.exec_driver_sql(sql, {"now": now, "limit": limit})
            moment = _as_utc
        # UTCDateTime's reading of the two times, without Core's per-row result processing.
        return [
            DueRow(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                moment(row[6]),
                moment(row[7]),
                row[8],
            )
            for row in rows
        ]

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
        if not rows:
            return
        if self._dialect == "postgresql":
            statement: Any = postgresql.insert(objectives).on_conflict_do_nothing(
                constraint="uq_objectives_fire"
            )
        elif self._dialect == "sqlite":
            statement = sqlite.insert(objectives).on_conflict_do_nothing()
        else:
            statement = insert(objectives)
        self._connection.execute(statement, rows)

    def insert_fires(self, fires: Sequence[NewFire], now: datetime) -> None:
        """Inserts the objectives of scheduled fires, as insert_objectives would (one whose fire
        key exists already is left out), without Core's per-row processing."""
        if not fires:
            return
        if self._dialect == "sqlite":
            moment = sqlite_timestamp(now)
            rendered: dict[datetime, str] = {}
            rows = []
            for fire in fires:
                due = fire.schedule
                time = fire.scheduled_time
                text = rendered.get(time)
                if text is None:
                    text = rendered[time] = sqlite_timestamp(time)
                rows.append(
                    (
                        fire.objective_id,
                        due.account_id,
                        due.workspace_id,
                        due.agent_id,
                        due.id,
                        due.profile_id,
                        text,
                        fire.status,
                        fire.spec_json,
                        moment,
                        moment if fire.status == "CANCELLED" else None,
                        moment,
                        moment,
                    )
                )
            self._connection.exec_driver_sql(_INSERT_FIRES["sqlite"], rows)
        elif self._dialect == "postgresql":
            iso = _IsoTimes()
            records = [
                {
                    "id": fire.objective_id,
                    "account_id": fire.schedule.account_id,
                    "workspace_id": fire.schedule.workspace_id,
                    "agent_id": fire.schedule.agent_id,
                    "schedule_id": fire.schedule.id,
                    "profile_id": fire.schedule.profile_id,
                    "scheduled_time": iso(fire.scheduled_time),
                    "status": fire.status,
                    "spec": fire.spec_json,
                }
                for fire in fires
            ]
            self._connection.exec_driver_sql(
                _INSERT_FIRES["postgresql"], {"now": now, "fires": json.dumps(records)}
            )
        else:  # pragma: no cover - Database accepts only the two
            raise ValueError(f"no firing SQL for {self._dialect}")

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
        """Writes each schedule's new position and counters (one statement per batch)."""
        if not advances:
            return
        if self._dialect == "sqlite":
            moment = sqlite_timestamp(now)
            rendered: dict[datetime | None, str | None] = {None: None}

            def render(value: datetime | None) -> str | None:
                text = rendered.get(value)
                if text is None and value is not None:
                    text = rendered[value] = sqlite_timestamp(value)
                return text

            self._connection.exec_driver_sql(
                _ADVANCE["sqlite"],
                [
                    (
                        render(a.next_nominal_at),
                        render(a.next_fire_at),
                        a.scheduled_fires,
                        a.fired,
                        a.missed,
                        a.skipped,
                        render(a.last_fire_at),
                        a.last_objective_id or None,
                        moment if a.skipped else None,
                        a.skip_reason or None,
                        a.id,
                    )
                    for a in advances
                ],
            )
        elif self._dialect == "postgresql":
            iso = _IsoTimes()
            moment = iso(now)
            records = [
                {
                    "id": a.id,
                    "next_nominal_at": iso(a.next_nominal_at),
                    "next_fire_at": iso(a.next_fire_at),
                    "scheduled_fires": a.scheduled_fires,
                    "fired": a.fired,
                    "missed": a.missed,
                    "skipped": a.skipped,
                    "last_fire_at": iso(a.last_fire_at),
                    "last_objective_id": a.last_objective_id or None,
                    "last_skipped_at": moment if a.skipped else None,
                    "skip_reason": a.skip_reason or None,
                }
                for a in advances
            ]
            self._connection.exec_driver_sql(
                _ADVANCE["postgresql"], {"advances": json.dumps(records)}
            )
        else:  # pragma: no cover - Database accepts only the two
            raise ValueError(f"no firing SQL for {self._dialect}")

    def earliest_due(self) -> datetime | None:
        """When the next schedule falls due (the loop sleeps until then)."""
        return self._connection.execute(
            select(func.min(schedules.c.next_fire_at)).where(schedules.c.next_fire_at.is_not(None))
        ).scalar_one_or_none()
