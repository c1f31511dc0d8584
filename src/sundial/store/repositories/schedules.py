"""Agent schedules: the spec as one JSON document, runtime facts as columns."""

import typing
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from sundial.domain.listing import ListQuery
from sundial.domain.schedules import (
    AgentSchedule,
    AgentScheduleInfo,
    AgentScheduleSpec,
    ScheduleStatus,
)
from sundial.domain.tenancy import Profile
from sundial.store.codec import from_json, to_json
from sundial.store.models import FireOutcomeRow, ProfileRow, ScheduleRow
from sundial.store.repositories.common import (
    apply_listing,
    etag_of,
    metadata_of,
    write_metadata,
)
from sundial.store.repositories.objectives import FIRES_OF_ONE, ScheduleFires, facts_of_json
from sundial.store.repositories.tenancy import profile_of

_FILTERABLE: dict[str, Any] = {
    "name": ScheduleRow.name,
    "external_id": ScheduleRow.external_id,
    "bundle_key": ScheduleRow.bundle_key,
    "agent_id": ScheduleRow.agent_id,
    "status": ScheduleRow.status,
}


@dataclass(frozen=True, slots=True)
class NextFire:
    """Where the firing engine picks the schedule up: the nominal time and the (jittered)
    moment to fire it. Both None when the schedule has no future fire or is not ACTIVE."""

    nominal: datetime | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewSchedules:
    """Schedules not stored yet, with their rows: built before the write transaction, so
    that a batch's thousand rows (and their specs' JSON) are not built while it holds the
    database's write turn."""

    schedules: tuple[tuple[AgentSchedule, NextFire], ...]
    rows: tuple[dict[str, Any], ...]


def new_schedules(schedules: Sequence[tuple[AgentSchedule, NextFire]]) -> NewSchedules:
    return NewSchedules(tuple(schedules), tuple(_new_row(s, n) for s, n in schedules))


class ScheduleRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, schedule: AgentSchedule, next_fire: NextFire, created_by: Profile | None
    ) -> AgentSchedule:
        """Inserts a new schedule (by its creator, `created_by`); returns it as a read of
        its row would (`get`), with the future fire times it was given."""
        return self.add_many(new_schedules([(schedule, next_fire)]), created_by)[0]

    def add_many(self, new: NewSchedules, created_by: Profile | None) -> list[AgentSchedule]:
        """Inserts new schedules, all by `created_by`, in one executemany (no RETURNING:
        psycopg pipelines it, sqlite3 reuses one statement); returns them as `add` does."""
        self._session.execute(insert(_schedules), list(new.rows))
        return [_stored(s, n, created_by) for s, n in new.schedules]

    def get(
        self, workspace_id: str, schedule_id: str, *, for_update: bool = False
    ) -> AgentSchedule | None:
        parameters = {"workspace_id": workspace_id, "schedule_id": schedule_id}
        if for_update:
            # Through the ORM: update() then finds the locked row in the session.
            locked = self._session.execute(_GET_FOR_UPDATE, parameters).first()
            return None if locked is None else _schedule_of(*locked)
        found = self._session.execute(_GET, parameters).first()
        return None if found is None else _schedule_of_row(found)

    def get_many(self, workspace_id: str, schedule_ids: Sequence[str]) -> list[AgentSchedule]:
        """The schedules of `schedule_ids` that exist in the workspace, in the order given."""
        statement = _SELECT.where(
            _schedules.c.workspace_id == workspace_id, _schedules.c.id.in_(schedule_ids)
        )
        found = {row.id: _schedule_of_row(row) for row in self._session.execute(statement)}
        return [found[i] for i in schedule_ids if i in found]

    def get_with_fires(
        self, workspace_id: str, schedule_id: str
    ) -> tuple[AgentSchedule, ScheduleFires] | None:
        """The schedule as `get` reads it, with the facts ObjectiveRepository.read_time_facts
        reads for it, in one statement (a Get's whole read)."""
        statement = _GET_WITH_FIRES[self._session.get_bind().dialect.name]
        parameters = {"workspace_id": workspace_id, "schedule_id": schedule_id}
        found = self._session.execute(statement, parameters).first()
        if found is None:
            return None
        return _schedule_of_row(found), facts_of_json(schedule_id, found.fires)

    def list(self, workspace_id: str, agent_id: str, query: ListQuery) -> list[AgentSchedule]:
        statement = _SELECT.where(ScheduleRow.workspace_id == workspace_id)
        if agent_id:
            statement = statement.where(ScheduleRow.agent_id == agent_id)
        if not query.show_archived and not any(t.field == "status" for t in query.filters):
            statement = statement.where(ScheduleRow.status != ScheduleStatus.ARCHIVED.name)
        statement = apply_listing(statement, ScheduleRow, query, _FILTERABLE)
        return [_schedule_of_row(found) for found in self._session.execute(statement)]

    def update(self, schedule: AgentSchedule, next_fire: NextFire) -> None:
        """Writes metadata, spec, status and next fire, and bumps the revision (row locked)."""
        row = self._session.get_one(ScheduleRow, schedule.metadata.id)
        write_metadata(row, schedule.metadata)
        row.spec = to_json(schedule.spec)
        row.status = schedule.spec.status.name
        row.next_fire_at = next_fire.at
        row.next_nominal_at = next_fire.nominal
        assert schedule.metadata.updated_at is not None
        row.updated_at = schedule.metadata.updated_at
        row.revision += 1
        self._session.flush()

    def set_failure_count(self, schedule_id: str, count: int) -> None:
        self._session.execute(
            update(ScheduleRow)
            .where(ScheduleRow.id == schedule_id)
            .values(consecutive_failure_count=count)
        )

    def count_objectives(self, schedule_id: str, counter: str, count: int = 1) -> None:
        """Adds `count` to one of the counters of objectives not made by the rules
        (`manual_fires`, `backfill_fires`, `retry_attempts`), in the writing transaction."""
        if counter not in _OBJECTIVE_COUNTERS:
            raise ValueError(f"no objective counter {counter!r}")
        if count:
            column = getattr(ScheduleRow, counter)
            self._session.execute(
                update(ScheduleRow)
                .where(ScheduleRow.id == schedule_id)
                .values({column: column + count})
            )

    def delete(self, workspace_id: str, schedule_id: str) -> None:
        self._session.execute(
            delete(ScheduleRow).where(
                ScheduleRow.workspace_id == workspace_id, ScheduleRow.id == schedule_id
            )
        )
        self._session.execute(
            delete(FireOutcomeRow).where(FireOutcomeRow.schedule_id == schedule_id)
        )


# Reads select table columns (the creator's prefixed), not ORM entities: a row becomes a
# frozen domain value at once, and nothing is kept in the session.
_schedules = typing.cast(Table, ScheduleRow.__table__)
_profiles = typing.cast(Table, ProfileRow.__table__)
_CREATOR = "creator_"
_CREATOR_COLUMNS = tuple(column.key for column in _profiles.c)
_SELECT: Any = select(
    _schedules, *(column.label(_CREATOR + column.key) for column in _profiles.c)
).select_from(_schedules.outerjoin(_profiles, _profiles.c.id == _schedules.c.profile_id))
_BY_ID = (
    _schedules.c.workspace_id == bindparam("workspace_id"),
    _schedules.c.id == bindparam("schedule_id"),
)
_GET = _SELECT.where(*_BY_ID)
# With its fires as the last column (FIRES_OF_ONE binds `schedule_id` too).
_GET_WITH_FIRES: dict[str, Any] = {
    dialect: _SELECT.add_columns(fires.scalar_subquery().label("fires")).where(*_BY_ID)
    for dialect, fires in FIRES_OF_ONE.items()
}
# The revision of a schedule's row when it is inserted (its etag derives from it).
_FIRST_REVISION = 1
# The runtime facts of a schedule that has not fired yet.
_NEVER_FIRED: dict[str, Any] = {
    "last_fire_at": None,
    "last_objective_id": "",
    "last_skipped_at": None,
    "last_skip_reason": "",
    "total_fires": 0,
    "scheduled_fires": 0,
    "missed_fires": 0,
    "skipped_fires": 0,
    "consecutive_failure_count": 0,
    "manual_fires": 0,
    "backfill_fires": 0,
    "retry_attempts": 0,
}
_OBJECTIVE_COUNTERS = ("manual_fires", "backfill_fires", "retry_attempts")
_GET_FOR_UPDATE: Any = (
    select(ScheduleRow, ProfileRow)
    .outerjoin(ProfileRow, ProfileRow.id == ScheduleRow.profile_id)
    .where(*_BY_ID)
    .with_for_update(of=ScheduleRow)
)


def schedules_where(session: Session, limit: int, *conditions: Any) -> list[AgentSchedule]:
    """Up to `limit` schedules matching `conditions`, by id (reads for the insight views)."""
    statement = _SELECT.where(*conditions).order_by(_schedules.c.id).limit(limit)
    return [_schedule_of_row(found) for found in session.execute(statement)]


def _new_row(schedule: AgentSchedule, next_fire: NextFire) -> dict[str, Any]:
    """The columns of a schedule not stored yet."""
    meta = schedule.metadata
    assert meta.created_at is not None
    return {
        "id": meta.id,
        "account_id": meta.account_id,
        "workspace_id": meta.workspace_id,
        "agent_id": schedule.info.agent_id,
        "profile_id": meta.profile_id,
        "name": meta.name,
        "bundle_key": meta.bundle_key,
        "external_id": meta.external_id,
        "labels": dict(meta.labels),
        "spec": to_json(schedule.spec),
        "status": schedule.spec.status.name,
        "revision": _FIRST_REVISION,
        "created_at": meta.created_at,
        "updated_at": meta.created_at,
        "next_fire_at": next_fire.at,
        "next_nominal_at": next_fire.nominal,
        **_NEVER_FIRED,
    }


def _stored(
    schedule: AgentSchedule, next_fire: NextFire, created_by: Profile | None
) -> AgentSchedule:
    """A new schedule as `_schedule_of` reads its row back (`_new_row`), without decoding
    the spec it was given from JSON again; its future fire times are kept."""
    meta = schedule.metadata
    max_fires = schedule.spec.max_fires
    return AgentSchedule(
        metadata=replace(meta, updated_at=meta.created_at, etag=etag_of(meta.id, _FIRST_REVISION)),
        spec=schedule.spec,
        info=AgentScheduleInfo(
            agent_id=schedule.info.agent_id,
            created_by=created_by,
            next_fire_at=next_fire.at,
            next_nominal_at=next_fire.nominal,
            future_fire_times=schedule.info.future_fire_times,
            remaining_fires=max_fires if max_fires > 0 else None,
        ),
    )


def _schedule_of_row(row: Any) -> AgentSchedule:
    """A schedule from a row of `_SELECT`: its own columns, then its creator's, prefixed."""
    creator = None
    if row.creator_id is not None:
        creator = SimpleNamespace(**{key: getattr(row, _CREATOR + key) for key in _CREATOR_COLUMNS})
    return _schedule_of(row, creator)


def _schedule_of(row: Any, profile: Any) -> AgentSchedule:
    """A schedule from its row and its creator's (ORM objects or plain rows alike)."""
    # The status column is the truth: the engine changes it (pause_on_failure) without
    # rewriting the spec document.
    spec = replace(from_json(AgentScheduleSpec, row.spec), status=ScheduleStatus[row.status])
    max_fires = spec.max_fires
    return AgentSchedule(
        metadata=metadata_of(row),
        spec=spec,
        info=AgentScheduleInfo(
            agent_id=row.agent_id,
            created_by=None if profile is None else profile_of(profile),
            last_fire_at=row.last_fire_at,
            last_objective_id=row.last_objective_id,
            last_skipped_at=row.last_skipped_at,
            last_skip_reason=row.last_skip_reason,
            next_fire_at=row.next_fire_at,
            next_nominal_at=row.next_nominal_at,
            total_fires=row.total_fires,
            missed_fires=row.missed_fires,
            skipped_fires=row.skipped_fires,
            consecutive_failure_count=row.consecutive_failure_count,
            remaining_fires=max(max_fires - row.scheduled_fires, 0) if max_fires > 0 else None,
            scheduled_fires=row.scheduled_fires,
            manual_fires=row.manual_fires,
            backfill_fires=row.backfill_fires,
            retry_attempts=row.retry_attempts,
        ),
    )
