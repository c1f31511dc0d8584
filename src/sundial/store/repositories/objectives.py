"""Objectives: reads, claims and status changes (Core statements on the unit of work's
session, because claims and reaping sit on hot paths)."""

import json
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, literal, or_, select, union_all, update
from sqlalchemy.orm import Session

from sundial.domain.listing import ListQuery
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.objectives import (
    Objective,
    ObjectiveInfo,
    ObjectiveSpec,
    ObjectiveStatus,
    TriggerKind,
)
from sundial.domain.schedules import RecentFire
from sundial.store.firing import FiringRepository
from sundial.store.models import AgentRow, ObjectiveRow
from sundial.store.repositories.common import apply_listing, etag_of

objectives = typing.cast(Table, ObjectiveRow.__table__)
_agents = typing.cast(Table, AgentRow.__table__)
# PUSH agents are the ones with a signing secret (store/repositories/agents.py).
_PUSH_AGENT_IDS = select(_agents.c.id).where(_agents.c.push_secret != "")
_FILTERABLE: dict[str, Any] = {
    "schedule_id": objectives.c.schedule_id,
    "status": objectives.c.status,
    "trigger_kind": objectives.c.trigger_kind,
    "chain_run_id": objectives.c.chain_run_id,
}
RECENT_FIRES = 10


@dataclass(frozen=True, slots=True)
class ScheduleFires:
    """Per schedule id: its recent fires, newest first; its running objectives' ids."""

    recent: dict[str, list[RecentFire]]
    running: dict[str, list[str]]


class ObjectiveRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(
        self, workspace_id: str, objective_id: str, *, for_update: bool = False
    ) -> Objective | None:
        statement = select(objectives).where(
            objectives.c.workspace_id == workspace_id, objectives.c.id == objective_id
        )
        if for_update:
            statement = statement.with_for_update()
        row = self._session.execute(statement).mappings().first()
        return None if row is None else objective_of(row)

    def list_page(self, workspace_id: str, agent_id: str, query: ListQuery) -> list[Objective]:
        statement = select(objectives).where(objectives.c.workspace_id == workspace_id)
        if agent_id:
            statement = statement.where(objectives.c.agent_id == agent_id)
        statement = apply_listing(statement, ObjectiveRow, query, _FILTERABLE)
        return [objective_of(row) for row in self._session.execute(statement).mappings()]

    def insert(self, rows: list[dict[str, Any]]) -> None:
        FiringRepository(self._session.connection()).insert_objectives(rows)

    def cancel(self, objective_ids: list[str], now: datetime, reason: str) -> None:
        FiringRepository(self._session.connection()).cancel(objective_ids, now, reason)

    def claimable(self, agent_id: str, now: datetime, limit: int) -> list[Objective]:
        """PENDING objectives of the agent that are available now, oldest first, locked (other
        claimers skip them on PostgreSQL; SQLite's write lock serializes claimers)."""
        statement = (
            select(objectives)
            .where(
                objectives.c.agent_id == agent_id,
                objectives.c.status == ObjectiveStatus.PENDING.name,
                objectives.c.available_at <= now,
            )
            .order_by(objectives.c.available_at, objectives.c.id)
            .limit(limit)
        )
        if self._is_postgresql():
            statement = statement.with_for_update(skip_locked=True)
        return [objective_of(row) for row in self._session.execute(statement).mappings()]

    def any_claimable_push(self, now: datetime) -> bool:
        """Whether `claimable_pushes` would find one (read without locking anything)."""
        statement = _claimable_pushes(now).with_only_columns(objectives.c.id).limit(1)
        return self._session.execute(statement).first() is not None

    def claimable_pushes(self, now: datetime, limit: int) -> list[Objective]:
        """What `claimable` gives, for every PUSH agent at once (the pusher's claim)."""
        statement = _claimable_pushes(now).limit(limit)
        if self._is_postgresql():
            statement = statement.with_for_update(of=objectives, skip_locked=True)
        return [objective_of(row) for row in self._session.execute(statement).mappings()]

    def expired(self, now: datetime, limit: int) -> list[Objective]:
        """RUNNING objectives whose lease or deadline has passed."""
        statement = (
            select(objectives)
            .where(
                objectives.c.status == ObjectiveStatus.RUNNING.name,
                or_(
                    objectives.c.lease_expires_at < now,
                    and_(objectives.c.deadline.is_not(None), objectives.c.deadline < now),
                ),
            )
            .limit(limit)
        )
        if self._is_postgresql():
            statement = statement.with_for_update(skip_locked=True)
        return [objective_of(row) for row in self._session.execute(statement).mappings()]

    def _is_postgresql(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"

    def update(self, objective_id: str, now: datetime, **values: Any) -> None:
        encoded = {k: (v.name if isinstance(v, ObjectiveStatus) else v) for k, v in values.items()}
        self._session.execute(
            update(objectives)
            .where(objectives.c.id == objective_id)
            .values(updated_at=now, **encoded)
        )

    def update_leased(
        self, objective_id: str, worker_id: str, now: datetime, /, **values: Any
    ) -> bool:
        """update, only while `worker_id` holds the objective's lease at `now`: checked in the
        statement itself, so a lease that ran out a moment before cannot be written to.
        Returns whether the row was updated. (Positional: `values` may set worker_id.)"""
        encoded = {k: (v.name if isinstance(v, ObjectiveStatus) else v) for k, v in values.items()}
        result = self._session.execute(
            update(objectives)
            .where(
                objectives.c.id == objective_id,
                objectives.c.status == ObjectiveStatus.RUNNING.name,
                objectives.c.worker_id == worker_id,
                objectives.c.lease_expires_at > now,
            )
            .values(updated_at=now, **encoded)
        )
        return bool(typing.cast(Any, result).rowcount)

    def of_chain_run(self, chain_run_id: str) -> dict[str, Objective]:
        """Every objective of a chain run, by id (its nodes name their attempts' ids)."""
        statement = select(objectives).where(objectives.c.chain_run_id == chain_run_id)
        found = (objective_of(row) for row in self._session.execute(statement).mappings())
        return {objective.metadata.id: objective for objective in found}

    def count_in_flight(self, schedule_id: str) -> int:
        return int(
            self._session.execute(
                select(func.count()).where(
                    objectives.c.schedule_id == schedule_id,
                    objectives.c.status.in_(("PENDING", "RUNNING")),
                )
            ).scalar_one()
        )

    def in_flight_ids(self, schedule_id: str) -> list[str]:
        return list(
            self._session.scalars(
                select(objectives.c.id).where(
                    objectives.c.schedule_id == schedule_id,
                    objectives.c.status.in_(("PENDING", "RUNNING")),
                )
            )
        )

    def count_buffered(self, schedule_id: str) -> int:
        return int(
            self._session.execute(
                select(func.count()).where(
                    objectives.c.schedule_id == schedule_id, objectives.c.status == "BUFFERED"
                )
            ).scalar_one()
        )

    def pending_by_agent(self) -> dict[str, int]:
        """How many objectives are PENDING, by agent id (for the metrics)."""
        rows = self._session.execute(
            select(objectives.c.agent_id, func.count())
            .where(objectives.c.status == ObjectiveStatus.PENDING.name)
            .group_by(objectives.c.agent_id)
        )
        return {agent_id: int(count) for agent_id, count in rows}

    def oldest_buffered(self, schedule_id: str) -> str | None:
        return self._session.execute(
            select(objectives.c.id)
            .where(objectives.c.schedule_id == schedule_id, objectives.c.status == "BUFFERED")
            .order_by(objectives.c.scheduled_time, objectives.c.id)
            .limit(1)
        ).scalar_one_or_none()

    def fired_times(self, schedule_id: str, start: datetime, end: datetime) -> set[datetime]:
        """Nominal times in [start, end) that have a scheduled or backfilled objective."""
        return set(
            self._session.scalars(
                select(objectives.c.scheduled_time).where(
                    objectives.c.schedule_id == schedule_id,
                    objectives.c.trigger_kind.in_(("SCHEDULED", "BACKFILL")),
                    objectives.c.scheduled_time >= start,
                    objectives.c.scheduled_time < end,
                )
            )
        )

    def read_time_facts(self, schedule_ids: list[str]) -> ScheduleFires:
        """Each schedule's last RECENT_FIRES objectives (newest first) and the ids of its
        pending or running ones (oldest first). One small indexed query per schedule (a
        page's worth): a query over all their objectives would read every schedule's whole
        history."""
        facts = ScheduleFires({}, {})
        statement = FIRES_OF_ONE[self._session.get_bind().dialect.name]
        for schedule_id in dict.fromkeys(schedule_ids):
            fires = self._session.execute(statement, {"schedule_id": schedule_id}).scalar()
            found = facts_of_json(schedule_id, fires)
            facts.recent.update(found.recent)
            facts.running.update(found.running)
        return facts


def _claimable_pushes(now: datetime) -> Any:
    return (
        select(objectives)
        .where(
            objectives.c.agent_id.in_(_PUSH_AGENT_IDS),
            objectives.c.status == ObjectiveStatus.PENDING.name,
            objectives.c.available_at <= now,
        )
        .order_by(objectives.c.available_at, objectives.c.id)
    )


def _fires_of_one(dialect_name: str) -> Any:
    """What read_time_facts reads for the schedule bound as `schedule_id`: one JSON array
    of [id, scheduled_time, created_at, status, recent] arrays in no particular order (recent
    is 1 for the newest RECENT_FIRES, 0 for older pending or running ones). Both parts walk
    an index of the schedule's objectives, so a schedule with a long history reads as fast
    as a new one."""
    columns = (objectives.c.id, objectives.c.scheduled_time, objectives.c.created_at)
    of_schedule = objectives.c.schedule_id == bindparam("schedule_id")
    recent = (
        select(*columns, objectives.c.status, literal(1).label("recent"))
        .where(of_schedule)
        .order_by(objectives.c.id.desc())
        .limit(RECENT_FIRES)
        .subquery()
    )
    running = select(*columns, objectives.c.status, literal(0).label("recent")).where(
        of_schedule, or_(*(objectives.c.status == status for status in _RUNNING_STATUSES))
    )
    fires = union_all(select(recent), running).subquery()
    row = (fires.c.id, fires.c.scheduled_time, fires.c.created_at, fires.c.status, fires.c.recent)
    if dialect_name == "postgresql":
        aggregate = func.json_agg(func.json_build_array(*row))
    else:
        aggregate = func.json_group_array(func.json_array(*row))
    return select(aggregate)


def facts_of_json(schedule_id: str, fires: Any) -> ScheduleFires:
    """What read_time_facts gives for one schedule, from the value of FIRES_OF_ONE
    (JSON text on SQLite, decoded already on PostgreSQL; None when it has no fires)."""
    if not fires or fires == "[]":
        return ScheduleFires({}, {})
    if isinstance(fires, str | bytes):
        fires = json.loads(fires)
    facts = ScheduleFires({}, {})
    recent = sorted((fire for fire in fires if fire[4]), key=lambda fire: fire[0], reverse=True)
    if recent:
        facts.recent[schedule_id] = [
            RecentFire(fire[0], _utc(fire[1]), _utc(fire[2]), ObjectiveStatus[fire[3]])
            for fire in recent
        ]
    running = sorted({fire[0] for fire in fires if fire[3] in _RUNNING_STATUSES})
    if running:
        facts.running[schedule_id] = running
    return facts


def _utc(text: str) -> datetime:
    """A time as JSON renders it: SQLite's stored naive UTC text, or PostgreSQL's ISO 8601
    with its offset."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_RUNNING_STATUSES = ("PENDING", "RUNNING")
FIRES_OF_ONE = {dialect: _fires_of_one(dialect) for dialect in ("sqlite", "postgresql")}


def objective_of(row: Any) -> Objective:
    spec = row["spec"] or {}
    return Objective(
        metadata=ResourceMetadata(
            id=row["id"],
            account_id=row["account_id"],
            workspace_id=row["workspace_id"],
            profile_id=row["profile_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            etag=etag_of(row["id"], int(row["updated_at"].timestamp() * 1_000_000)),
        ),
        spec=ObjectiveSpec(
            initial_message=spec.get("initial_message", ""),
            data=spec.get("data"),
            agent_id=row["agent_id"],
            variation_id=spec.get("variation_id", ""),
            schedule_id=row["schedule_id"],
            scheduled_time=row["scheduled_time"],
            trigger_kind=TriggerKind[row["trigger_kind"]],
            chain_run_id=row["chain_run_id"] or "",
            chain_node=row["chain_node"] or "",
        ),
        info=ObjectiveInfo(
            status=ObjectiveStatus[row["status"]],
            attempt=row["attempt"],
            worker_id=row["worker_id"],
            lease_expires_at=row["lease_expires_at"],
            started_at=row["started_at"],
            completed_at=row["completed_at"],
            output=row["output"],
            error=row["error"],
            available_at=row["available_at"],
            retry_of=row["retry_of"],
            deadline=row["deadline"],
            fired_at=row["created_at"],
            trace_parent=row["trace_parent"] or "",
        ),
    )
