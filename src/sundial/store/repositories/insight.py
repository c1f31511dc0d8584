"""Reads for stats, heatmaps and calendars, and the engine replicas' reports. Every read of
objectives is a range of one index on (workspace_id or schedule_id, created_at): its cost
follows the window asked for, not the history stored."""

import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from sundial.domain.insight import EngineReplica
from sundial.domain.objectives import ObjectiveStatus, TriggerKind
from sundial.domain.schedules import AgentSchedule, ScheduleStatus
from sundial.store.models import EngineReplicaRow, FireOutcomeRow, ObjectiveRow, ScheduleRow
from sundial.store.repositories.schedules import schedules_where

_objectives = typing.cast(Table, ObjectiveRow.__table__)
_schedules = typing.cast(Table, ScheduleRow.__table__)
_replicas = typing.cast(Table, EngineReplicaRow.__table__)
_outcomes = typing.cast(Table, FireOutcomeRow.__table__)


@dataclass(frozen=True, slots=True)
class WindowObjective:
    """What the aggregates need of one objective."""

    id: str
    schedule_id: str
    agent_id: str
    status: ObjectiveStatus
    trigger_kind: TriggerKind
    scheduled_time: datetime
    fired_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


_WINDOW_COLUMNS = (
    _objectives.c.id,
    _objectives.c.schedule_id,
    _objectives.c.agent_id,
    _objectives.c.status,
    _objectives.c.trigger_kind,
    _objectives.c.scheduled_time,
    _objectives.c.created_at,
    _objectives.c.started_at,
    _objectives.c.completed_at,
)


class InsightRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def schedule_counts(self, workspace_id: str) -> dict[ScheduleStatus, int]:
        """The workspace's schedules by status."""
        rows = self._session.execute(
            select(_schedules.c.status, func.count())
            .where(_schedules.c.workspace_id == workspace_id)
            .group_by(_schedules.c.status)
        )
        return {ScheduleStatus[status]: int(count) for status, count in rows}

    def objectives_fired(
        self,
        workspace_id: str,
        start: datetime,
        end: datetime,
        *,
        schedule_id: str = "",
        limit: int | None = None,
    ) -> list[WindowObjective]:
        """Objectives created in [start, end), oldest first: of the workspace, or of one of
        its schedules; the first `limit` of them when given."""
        scope: tuple[Any, ...]
        if schedule_id:
            scope = (
                _objectives.c.schedule_id == schedule_id,
                _objectives.c.workspace_id == workspace_id,
            )
        else:
            scope = (_objectives.c.workspace_id == workspace_id,)
        rows = self._session.execute(
            select(*_WINDOW_COLUMNS)
            .where(*scope, _objectives.c.created_at >= start, _objectives.c.created_at < end)
            .order_by(_objectives.c.created_at, _objectives.c.id)
            .limit(limit)
        )
        return [
            WindowObjective(
                row.id,
                row.schedule_id,
                row.agent_id,
                ObjectiveStatus[row.status],
                TriggerKind[row.trigger_kind],
                row.scheduled_time,
                row.created_at,
                row.started_at,
                row.completed_at,
            )
            for row in rows
        ]

    def scheduled_lags(
        self, workspace_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """(scheduled_time, fired_at) of the workspace's scheduled fires created in
        [start, end)."""
        rows = self._session.execute(
            select(_objectives.c.scheduled_time, _objectives.c.created_at).where(
                _objectives.c.workspace_id == workspace_id,
                _objectives.c.created_at >= start,
                _objectives.c.created_at < end,
                _objectives.c.trigger_kind == TriggerKind.SCHEDULED.name,
            )
        )
        return [(row.scheduled_time, row.created_at) for row in rows]

    def missed_and_skipped(
        self, schedule_id: str, start: datetime, end: datetime
    ) -> tuple[int, int]:
        """The schedule's fires missed and skipped in the minutes starting in [start, end)."""
        row = self._session.execute(
            select(
                func.coalesce(func.sum(_outcomes.c.missed), 0),
                func.coalesce(func.sum(_outcomes.c.skipped), 0),
            ).where(
                _outcomes.c.schedule_id == schedule_id,
                _outcomes.c.minute >= start,
                _outcomes.c.minute < end,
            )
        ).one()
        return int(row[0]), int(row[1])

    def schedules_named(self, workspace_id: str, schedule_ids: Sequence[str]) -> dict[str, str]:
        """The names of these schedules of the workspace, by id."""
        if not schedule_ids:
            return {}
        rows = self._session.execute(
            select(_schedules.c.id, _schedules.c.name).where(
                _schedules.c.workspace_id == workspace_id, _schedules.c.id.in_(schedule_ids)
            )
        )
        return {row.id: row.name for row in rows}

    def active_schedules(self, workspace_id: str, limit: int) -> list[AgentSchedule]:
        """Up to `limit` ACTIVE schedules of the workspace with a next fire, by id."""
        return schedules_where(
            self._session,
            limit,
            _schedules.c.workspace_id == workspace_id,
            _schedules.c.status == ScheduleStatus.ACTIVE.name,
            _schedules.c.next_fire_at.is_not(None),
        )

    def earliest_next_fire(self) -> datetime | None:
        """The earliest next_fire_at of every schedule (what the engine sleeps until)."""
        moment: datetime | None = self._session.execute(
            select(func.min(_schedules.c.next_fire_at)).where(
                _schedules.c.next_fire_at.is_not(None)
            )
        ).scalar_one_or_none()
        return moment

    def report_replica(self, replica: EngineReplica) -> None:
        """Records a replica's latest pass (inserting it at its first report)."""
        values: dict[str, Any] = {
            "last_seen_at": replica.last_seen_at,
            "last_pass_at": replica.last_pass_at,
            "schedules_examined": replica.schedules_examined,
        }
        result = self._session.execute(
            update(_replicas).where(_replicas.c.id == replica.replica_id).values(values)
        )
        if not typing.cast(Any, result).rowcount:
            self._session.execute(
                insert(_replicas).values(
                    id=replica.replica_id, started_at=replica.started_at, **values
                )
            )

    def replicas_seen_since(self, moment: datetime) -> list[EngineReplica]:
        """Replicas that reported at or after `moment`, most recent first."""
        rows = self._session.execute(
            select(_replicas)
            .where(_replicas.c.last_seen_at >= moment)
            .order_by(_replicas.c.last_seen_at.desc(), _replicas.c.id)
        )
        return [
            EngineReplica(
                replica_id=row.id,
                started_at=row.started_at,
                last_seen_at=row.last_seen_at,
                last_pass_at=row.last_pass_at,
                schedules_examined=row.schedules_examined,
            )
            for row in rows
        ]

    def forget_replicas_before(self, moment: datetime) -> None:
        """Deletes the reports of replicas not seen since `moment` (so the table stays small)."""
        self._session.execute(_replicas.delete().where(_replicas.c.last_seen_at < moment))
