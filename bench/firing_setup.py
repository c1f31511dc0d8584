"""Fixtures of the firing benchmark: a migrated database with one tenant and one agent, and
many schedules bulk-inserted with SQLAlchemy Core.

Creating 100,000 (let alone 1,000,000) schedules through ScheduleService would take longer
than the whole benchmark, so one schedule per distinct spec is created through the service
and read back as the template; the bulk rows copy it column for column and change only the
id, the name and the next fire. The template schedule is deleted again, so the stored count
is exactly what was asked for."""

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from ulid import ULID

from sundial.domain.agents import AgentSpec
from sundial.domain.clock import SystemClock
from sundial.domain.ids import IdPrefix, is_id
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal
from sundial.domain.schedules import (
    AgentScheduleSpec,
    OverlapPolicy,
    ScheduleInterval,
    ScheduleRules,
    ScheduleStatus,
)
from sundial.service.agents import AgentService
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import TenancyService
from sundial.store import migrate
from sundial.store.database import Database
from sundial.store.firing import objectives, schedules

CHUNK = 20_000
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def interval_spec(every: timedelta, offset: timedelta | None = None) -> AgentScheduleSpec:
    """An interval schedule whose every fire creates an objective (ALLOW: no overlap skips)."""
    return AgentScheduleSpec(
        initial_message="bench",
        schedule=ScheduleRules(intervals=(ScheduleInterval(every=every, offset=offset),)),
        overlap_policy=OverlapPolicy.ALLOW,
    )


def minute_floor(moment: datetime, minutes: int = 1) -> datetime:
    """`moment` rounded down to a multiple of `minutes` (on the interval grid of the specs)."""
    step = minutes * 60
    return datetime.fromtimestamp(math.floor(moment.timestamp() / step) * step, UTC)


@dataclass(frozen=True, slots=True)
class Tenant:
    url: str
    principal: Principal
    workspace_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class Group:
    """`count` schedules of `spec` whose next (nominal and actual) fire is `next_fire`."""

    count: int
    spec: AgentScheduleSpec
    next_fire: datetime


def prepare(url: str) -> Tenant:
    """Migrates `url` (the only way Sundial's tables are made) and creates a tenant and agent."""
    migrate.upgrade(url)
    database = Database(url)
    try:
        clock = SystemClock()
        boot = TenancyService(database, clock).bootstrap()
        workspace = boot.default_workspace.id
        agent = AgentService(database, clock).create(
            boot.principal, workspace, MetadataInput(name="bench"), AgentSpec()
        )
        return Tenant(url, boot.principal, workspace, agent.metadata.id)
    finally:
        database.dispose()


def insert_schedules(tenant: Tenant, groups: Sequence[Group]) -> int:
    """Bulk-inserts every group's schedules; returns how many are stored in all."""
    templates = [_template_row(tenant, group.spec) for group in groups]
    engine = _bulk_engine(tenant.url)
    try:
        dialect = engine.dialect
        names = [column.name for column in schedules.columns]
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {schedules.name} ({', '.join(names)}) "
            f"VALUES ({', '.join([marker] * len(names))})"
        )
        # Values are bound once per group through the columns' own types (exactly what a
        # Core insert stores) and only id and name change per row: 1M rows through Core's
        # per-row parameter processing would take minutes.
        processors = [
            column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in schedules.columns
        ]
        id_at, name_at = names.index("id"), names.index("name")
        ids = fast_ids("sched")
        with engine.begin() as connection:
            for group, template in zip(groups, templates, strict=True):
                values = {
                    **template,
                    "next_fire_at": group.next_fire,
                    "next_nominal_at": group.next_fire,
                }
                bound = [
                    values[name] if proc is None else proc(values[name])
                    for name, proc in zip(names, processors, strict=True)
                ]
                for start in range(0, group.count, CHUNK):
                    chunk = []
                    for index in range(start, min(start + CHUNK, group.count)):
                        row = bound.copy()
                        row[id_at], row[name_at] = next(ids), f"bench-{index}"
                        chunk.append(tuple(row))
                    connection.exec_driver_sql(sql, chunk)
        with engine.begin() as connection:
            if dialect.name == "postgresql":
                # Autovacuum would have analyzed a table this size within a minute.
                connection.execute(text("ANALYZE agent_schedules"))
            else:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            stored: int = connection.execute(
                select(func.count()).select_from(schedules)
            ).scalar_one()
            sample = connection.execute(select(schedules).limit(1)).one()._mapping
        _check_copy(sample, templates)
        return stored
    finally:
        engine.dispose()


def count_objectives(url: str) -> tuple[int, int]:
    """(objectives, distinct schedules having one): what the engine really wrote."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(func.count(), func.count(objectives.c.schedule_id.distinct()))
            ).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def count_due(url: str, now: datetime) -> int:
    """ACTIVE schedules whose next fire is at or before `now` (0 after a complete pass)."""
    database = Database(url)
    try:
        with database.reader.connect() as connection:
            due: int = connection.execute(
                select(func.count()).select_from(schedules).where(schedules.c.next_fire_at <= now)
            ).scalar_one()
            return due
    finally:
        database.dispose()


def _template_row(tenant: Tenant, spec: AgentScheduleSpec) -> dict[str, Any]:
    """The row ScheduleService.create writes for `spec` (then the schedule is deleted)."""
    database = Database(tenant.url)
    try:
        service = ScheduleService(database, SystemClock(), min_fire_interval=timedelta(seconds=1))
        created = service.create(
            tenant.principal,
            tenant.workspace_id,
            tenant.agent_id,
            MetadataInput(name="template"),
            spec,
        )
        schedule_id = created.metadata.id
        with database.reader.connect() as connection:
            row = dict(
                connection.execute(select(schedules).where(schedules.c.id == schedule_id))
                .one()
                ._mapping
            )
        service.delete(tenant.principal, tenant.workspace_id, tenant.agent_id, schedule_id)
    finally:
        database.dispose()
    if row["status"] != ScheduleStatus.ACTIVE.name or row["revision"] != 1:
        raise RuntimeError(f"ScheduleService.create wrote an unexpected row: {row}")
    return row


def fast_ids(prefix: str) -> Iterator[str]:
    """Well-formed ids in creation order, far cheaper than a fresh ULID each: one ULID's
    time and first random characters, then a base-32 counter."""
    head = str(ULID())[:16]
    for number in itertools.count():
        tail, rest = "", number
        for _ in range(10):
            rest, digit = divmod(rest, 32)
            tail = _CROCKFORD[digit] + tail
        yield f"{prefix}_{head}{tail}"


def _check_copy(sample: Any, templates: Sequence[dict[str, Any]]) -> None:
    """A bulk row reads back exactly as its template did, except where it should differ."""
    varying = {"id", "name", "next_fire_at", "next_nominal_at"}
    for template in templates:
        if sample["spec"] == template["spec"]:
            differ = [k for k, v in template.items() if k not in varying and sample[k] != v]
            if differ or not is_id(sample["id"], IdPrefix.SCHEDULE):
                raise RuntimeError(f"bulk rows differ from a created schedule: {differ}")
            return
    raise RuntimeError("a bulk row matches no template")


def _bulk_engine(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _fast(dbapi_connection: Any, _record: Any) -> None:
            # Setup only: the measured runs use Sundial's own engine settings (WAL, NORMAL).
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=MEMORY")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.close()

    return engine
