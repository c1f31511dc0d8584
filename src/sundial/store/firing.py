"""The firing engine's SQL, in SQLAlchemy Core: lock due schedules, read what is in flight,
insert objectives and advance schedules, all on the caller's connection and transaction."""

import typing
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sundial.store.models import ObjectiveRow, ScheduleRow
from sundial.store.types import UTCDateTime

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
        statement = (
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
            .limit(limit)
        )
        if self._dialect == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        return [DueRow(**row._mapping) for row in self._connection.execute(statement)]

    def specs(self, schedule_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored spec documents of these schedules (the engine caches them by revision,
        so it asks only for those it has not decoded yet)."""
        if not schedule_ids:
            return {}
        rows = self._connection.execute(
            select(schedules.c.id, schedules.c.spec).where(schedules.c.id.in_(schedule_ids))
        )
        return {row.id: row.spec for row in rows}

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

    def cancel(self, objective_ids: Iterable[str], now: datetime, reason: str) -> None:
        ids = list(objective_ids)
        if not ids:
            return
        self._connection.execute(
            update(objectives)
            .where(objectives.c.id.in_(ids), objectives.c.status.in_(_IN_FLIGHT))
            .values(status="CANCELLED", completed_at=now, updated_at=now, error=reason)
        )

    def advance(self, advances: list[ScheduleAdvance], now: datetime) -> None:
        """Writes each schedule's new position and counters (one executemany)."""
        if not advances:
            return
        statement = (
            update(schedules)
            .where(schedules.c.id == bindparam("b_id"))
            .values(
                next_nominal_at=bindparam("b_next_nominal_at", type_=UTCDateTime()),
                next_fire_at=bindparam("b_next_fire_at", type_=UTCDateTime()),
                scheduled_fires=bindparam("b_scheduled_fires"),
                total_fires=schedules.c.total_fires + bindparam("b_fired"),
                missed_fires=schedules.c.missed_fires + bindparam("b_missed"),
                skipped_fires=schedules.c.skipped_fires + bindparam("b_skipped"),
                last_fire_at=func.coalesce(
                    bindparam("b_last_fire_at", type_=UTCDateTime()), schedules.c.last_fire_at
                ),
                last_objective_id=func.coalesce(
                    bindparam("b_last_objective_id"), schedules.c.last_objective_id
                ),
                last_skipped_at=func.coalesce(
                    bindparam("b_last_skipped_at", type_=UTCDateTime()), schedules.c.last_skipped_at
                ),
                last_skip_reason=func.coalesce(
                    bindparam("b_skip_reason"), schedules.c.last_skip_reason
                ),
            )
        )
        self._connection.execute(
            statement,
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

    def earliest_due(self) -> datetime | None:
        """When the next schedule falls due (the loop sleeps until then)."""
        return self._connection.execute(
            select(func.min(schedules.c.next_fire_at)).where(schedules.c.next_fire_at.is_not(None))
        ).scalar_one_or_none()
