"""AgentSchedule use cases: CRUD, pause, resume, archive. Writing a schedule also sets
where the firing engine picks it up (its next fire), in the same transaction."""

from dataclasses import replace
from datetime import datetime, timedelta

from sundial.domain.agents import AgentSpec
from sundial.domain.auth import Principal
from sundial.domain.clock import Clock
from sundial.domain.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.metadata import MetadataInput
from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import (
    AgentSchedule,
    AgentScheduleInfo,
    AgentScheduleSpec,
    RecentFire,
    ScheduleRules,
    ScheduleStatus,
)
from sundial.service.agents import require_agent, require_agent_spec
from sundial.service.filtering import enum_value
from sundial.service.idempotency import create_once, fingerprint
from sundial.service.listing import ALL_AGENTS, Page, page_of, prepare_query
from sundial.service.notifier import Notifier
from sundial.service.pagination import PageRequest
from sundial.service.tenancy import require_known_workspace, require_workspace
from sundial.service.updates import Writable, check_etag, merge_update, new_metadata
from sundial.service.validation import (
    Violations,
    check_metadata,
    check_pause_reason,
    check_request_id,
    check_schedule_spec,
)
from sundial.store.database import Database
from sundial.store.repositories.schedules import NextFire, read_schedule
from sundial.store.unit_of_work import UnitOfWork
from sundial.timing import CompiledSchedule, Fire, compile_schedule

FUTURE_FIRE_TIMES = 10
MAX_PREVIEW_COUNT = 1000
_CACHE_SIZE = 4096


_FILTERABLE = {
    "name": None,
    "external_id": None,
    "bundle_key": None,
    "agent_id": None,
    "status": enum_value(ScheduleStatus, "AGENT_SCHEDULE_STATUS_"),
}


class ScheduleService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        min_fire_interval: timedelta,
        notifier: Notifier | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._notifier = notifier or Notifier()
        self._min_fire_interval = min_fire_interval
        # Only single dict operations (atomic under the GIL); cleared when full.
        self._future_times: dict[tuple[str, str, datetime], tuple[datetime, ...]] = {}
        # By schedule id: the last schedule presented, its facts and the result (same rules).
        self._presented: dict[
            str, tuple[AgentSchedule, tuple[tuple[RecentFire, ...], tuple[str, ...]], AgentSchedule]
        ] = {}

    def create(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        metadata: MetadataInput,
        spec: AgentScheduleSpec,
        *,
        request_id: str = "",
        validate_only: bool = False,
    ) -> AgentSchedule:
        violations = Violations()
        check_metadata(violations, metadata)
        check_request_id(violations, request_id)
        if spec.status is ScheduleStatus.UNSPECIFIED:
            spec = replace(spec, status=ScheduleStatus.ACTIVE)

        # What needs no database is done before the write transaction, which then holds the
        # write lock only for its statements (on SQLite, the process's writers queue behind
        # it). Errors still come in the same order: the agent's NOT_FOUND first, then every
        # violation, the rules' after the rest of the spec's.
        schedule_id = "" if validate_only else new_id(IdPrefix.SCHEDULE)
        now = self._clock.now()
        rules_error: InvalidArgumentError | None = None
        fire: Fire | None = None
        try:
            compiled = compile_schedule(
                spec.schedule, schedule_id=schedule_id, min_interval=self._min_fire_interval
            )
        except InvalidArgumentError as error:
            rules_error = error
        else:
            fire = compiled.next_fire(now)
        # What _next_fire(compiled, spec, now) gives, without computing the fire again.
        next_fire = NextFire()
        if fire is not None and spec.status is ScheduleStatus.ACTIVE:
            next_fire = NextFire(fire.nominal, fire.at)
        schedule = AgentSchedule(
            metadata=new_metadata(principal, workspace_id, schedule_id, metadata, now),
            spec=spec,
            info=AgentScheduleInfo(
                agent_id=agent_id,
                next_fire_at=next_fire.at,
                next_nominal_at=next_fire.nominal,
                remaining_fires=spec.max_fires if spec.max_fires > 0 else None,
            ),
        )

        def check(uow: UnitOfWork) -> None:
            agent_spec = require_agent_spec(uow, principal, workspace_id, agent_id)
            check_schedule_spec(violations, spec, agent_spec)
            if rules_error is not None:
                violations.extend(rules_error)
            elif fire is None:
                violations.add("spec.schedule", "the schedule has no fire time after now")
            violations.raise_if_any()

        if validate_only:
            with UnitOfWork(self._database, write=False) as uow:
                check(uow)
            return self._with_read_time_facts(schedule, [], [])

        written: list[AgentSchedule] = []

        def create(uow: UnitOfWork) -> tuple[str, AgentSchedule]:
            check(uow)
            creator = uow.tenancy.read_profile(principal.account_id, principal.profile_id)
            written.append(uow.schedules.add(schedule, next_fire, creator))
            return schedule_id, written[-1]

        created = create_once(
            self._database,
            self._clock,
            workspace_id=workspace_id,
            operation="CreateAgentSchedule",
            request_id=request_id,
            # Only a request id's record keeps the fingerprint.
            request_fingerprint=fingerprint(agent_id, metadata, spec) if request_id else "",
            create=create,
            # A retry's: read back in one statement of its own, as Get reads (the unit of work
            # goes unused).
            load=lambda _uow, schedule_id: self._read(workspace_id, schedule_id),
        )
        if written and created is written[-1]:
            # Presented after the transaction. Nothing has fired yet: no objectives to read.
            created = self._with_read_time_facts(created, [], [])
        self._notifier.schedules_changed(created.info.next_fire_at)
        return created

    def get(
        self, principal: Principal, workspace_id: str, agent_id: str, schedule_id: str
    ) -> AgentSchedule:
        require_known_workspace(self._database, principal, workspace_id)
        schedule = self._read(workspace_id, schedule_id)
        if schedule is None or agent_id not in (schedule.info.agent_id, ALL_AGENTS):
            raise NotFoundError("schedule", schedule_id)
        return schedule

    def list_schedules(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        request: PageRequest,
        *,
        show_archived: bool = False,
    ) -> Page[AgentSchedule]:
        scope_agent = "" if agent_id in ("", ALL_AGENTS) else agent_id
        prepared = prepare_query(
            request,
            _FILTERABLE,
            scope=("agent_schedules", workspace_id, scope_agent),
            show_archived=show_archived,
        )
        with UnitOfWork(self._database, write=False) as uow:
            if scope_agent:
                require_agent(uow, principal, workspace_id, scope_agent)
            else:
                require_workspace(uow, principal, workspace_id)
            page = page_of(prepared, uow.schedules.list(workspace_id, scope_agent, prepared.query))
            return Page(self._present(uow, page.items), page.next_page_token)

    def update(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        metadata: MetadataInput,
        spec: AgentScheduleSpec,
        *,
        update_mask: list[str] | None,
        etag: str = "",
    ) -> AgentSchedule:
        with UnitOfWork(self._database, write=True) as uow:
            current = require_schedule(
                uow, principal, workspace_id, agent_id, schedule_id, for_update=True
            )
            check_etag(current.metadata, etag)
            merged = merge_update(
                Writable.of(current.metadata, current.spec), Writable(metadata, spec), update_mask
            )
            new_spec: AgentScheduleSpec = merged.spec
            if new_spec.status is ScheduleStatus.UNSPECIFIED:
                new_spec = replace(new_spec, status=current.spec.status)
            violations = Violations()
            check_metadata(violations, merged.metadata)
            agent_spec = require_agent_spec(uow, principal, workspace_id, current.info.agent_id)
            compiled = self._validate(violations, schedule_id, new_spec, agent_spec)
            violations.raise_if_any()
            now = self._clock.now()
            if (
                new_spec.schedule == current.spec.schedule
                and new_spec.status is current.spec.status
                and current.info.next_nominal_at is not None
            ):
                # Same rules: keep the pending fire (it may be due right now).
                next_fire = NextFire(current.info.next_nominal_at, current.info.next_fire_at)
                if new_spec.max_fires and current.info.scheduled_fires >= new_spec.max_fires:
                    next_fire = NextFire()
            else:
                # Editing never fires immediately: the next fire is the first after now.
                next_fire = _next_fire(compiled, new_spec, now, current.info)
            updated = replace(
                current, metadata=merged.apply_to(current.metadata, now), spec=new_spec
            )
            uow.schedules.update(updated, next_fire)
            uow.commit()
        self._notifier.schedules_changed(next_fire.at)
        return self.get(principal, workspace_id, agent_id, schedule_id)

    def delete(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        *,
        etag: str = "",
    ) -> None:
        with UnitOfWork(self._database, write=True) as uow:
            current = require_schedule(
                uow, principal, workspace_id, agent_id, schedule_id, for_update=True
            )
            check_etag(current.metadata, etag)
            uow.schedules.delete(workspace_id, schedule_id)
            uow.commit()

    def pause(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        *,
        reason: str = "",
        etag: str = "",
    ) -> AgentSchedule:
        check_pause_reason(reason)
        return self._transition(
            principal, workspace_id, agent_id, schedule_id, ScheduleStatus.PAUSED, etag, reason
        )

    def resume(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        *,
        etag: str = "",
    ) -> AgentSchedule:
        return self._transition(
            principal, workspace_id, agent_id, schedule_id, ScheduleStatus.ACTIVE, etag
        )

    def archive(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        *,
        etag: str = "",
    ) -> AgentSchedule:
        return self._transition(
            principal, workspace_id, agent_id, schedule_id, ScheduleStatus.ARCHIVED, etag
        )

    def preview(
        self,
        principal: Principal,
        rules: ScheduleRules,
        *,
        schedule_id: str = "",
        start_time: datetime | None = None,
        count: int = 0,
    ) -> list[Fire]:
        """The next `count` fires of `rules` after `start_time` (default now), or every
        field violation of the rules."""
        violations = Violations()
        if not 0 <= count <= MAX_PREVIEW_COUNT:
            violations.add("count", f"count must be 0-{MAX_PREVIEW_COUNT}, got {count}")
        try:
            compiled = compile_schedule(
                rules,
                schedule_id=schedule_id,
                min_interval=self._min_fire_interval,
                field_prefix="schedule",
            )
        except InvalidArgumentError as error:
            violations.extend(error)
        violations.raise_if_any()
        after = start_time or self._clock.now()
        return compiled.fire_times(after, count or FUTURE_FIRE_TIMES)

    def _transition(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        target: ScheduleStatus,
        etag: str,
        notes: str = "",
    ) -> AgentSchedule:
        with UnitOfWork(self._database, write=True) as uow:
            current = require_schedule(
                uow, principal, workspace_id, agent_id, schedule_id, for_update=True
            )
            check_etag(current.metadata, etag)
            status = current.spec.status
            if status is ScheduleStatus.ARCHIVED and target is not ScheduleStatus.ARCHIVED:
                raise FailedPreconditionError(
                    f"schedule {schedule_id!r} is archived; set spec.status with "
                    "UpdateAgentSchedule to unarchive it",
                    reason="SCHEDULE_ARCHIVED",
                )
            # None when nothing changes: then no loop need hear of it.
            due_at = None
            if status is not target or (notes and notes != current.spec.notes):
                spec = replace(current.spec, status=target, notes=notes or current.spec.notes)
                now = self._clock.now()
                compiled = self.compiled_for(current)
                # Resuming starts from now: the paused time is not replayed.
                next_fire = (
                    NextFire(current.info.next_nominal_at, current.info.next_fire_at)
                    if status is target
                    else _next_fire(compiled, spec, now, current.info)
                )
                metadata = replace(current.metadata, updated_at=now)
                uow.schedules.update(replace(current, metadata=metadata, spec=spec), next_fire)
                uow.commit()
                due_at = next_fire.at
        self._notifier.schedules_changed(due_at)
        return self.get(principal, workspace_id, agent_id, schedule_id)

    def _validate(
        self,
        violations: Violations,
        schedule_id: str,
        spec: AgentScheduleSpec,
        agent_spec: AgentSpec,
    ) -> CompiledSchedule:
        check_schedule_spec(violations, spec, agent_spec)
        try:
            return compile_schedule(
                spec.schedule, schedule_id=schedule_id, min_interval=self._min_fire_interval
            )
        except InvalidArgumentError as error:
            violations.extend(error)
            violations.raise_if_any()
            raise

    def _read(self, workspace_id: str, schedule_id: str) -> AgentSchedule | None:
        """The stored schedule, presented, read as the hottest read should be: one statement
        on the DB-API connection, not a unit of work."""
        found = read_schedule(self._database, workspace_id, schedule_id)
        if found is None:
            return None
        schedule, fires = found
        return self._with_read_time_facts(
            schedule, fires.recent.get(schedule_id, []), fires.running.get(schedule_id, [])
        )

    def _present(self, uow: UnitOfWork, schedules: list[AgentSchedule]) -> list[AgentSchedule]:
        """Adds the facts computed at read time: future fire times and recent objectives."""
        ids = [s.metadata.id for s in schedules if s.metadata.id]
        fires = uow.objectives.read_time_facts(ids)
        return [
            self._with_read_time_facts(
                schedule,
                fires.recent.get(schedule.metadata.id, []),
                fires.running.get(schedule.metadata.id, []),
            )
            for schedule in schedules
        ]

    def _with_read_time_facts(
        self, schedule: AgentSchedule, recent: list[RecentFire], running: list[str]
    ) -> AgentSchedule:
        """The schedule with its read-time facts. While the schedule object (decoded once per
        stored row, see read_schedule) and its facts are the same as last time, the result is
        the same object too, so the API layer can reuse its message."""
        facts = (tuple(recent), tuple(running))
        last = self._presented.get(schedule.metadata.id)
        if last is not None and last[0] is schedule and last[1] == facts:
            return last[2]
        info = replace(
            schedule.info,
            recent_fires=facts[0],
            running_objective_ids=facts[1],
            last_objective_status=recent[0].status if recent else ObjectiveStatus.UNSPECIFIED,
            future_fire_times=self._future_fire_times(schedule),
        )
        presented = replace(schedule, info=info)
        if schedule.metadata.id:
            if len(self._presented) >= _CACHE_SIZE:
                self._presented.clear()
            self._presented[schedule.metadata.id] = (schedule, facts, presented)
        return presented

    def _future_fire_times(self, schedule: AgentSchedule) -> tuple[datetime, ...]:
        """The pending fire and the ones after it. They depend only on the rules (fixed
        for an etag) and the pending nominal time, not on the clock, so they are cached by
        those: any change the engine makes moves the nominal time, any edit the etag."""
        nominal = schedule.info.next_nominal_at
        if nominal is None:
            return ()
        key = (schedule.metadata.id, schedule.metadata.etag, nominal)
        times = self._future_times.get(key) if schedule.metadata.etag else None
        if times is None:
            compiled = self.compiled_for(schedule)
            fires = compiled.fire_times(nominal - timedelta(microseconds=1), FUTURE_FIRE_TIMES)
            times = tuple(fire.at for fire in fires)
            if schedule.metadata.etag:
                if len(self._future_times) >= _CACHE_SIZE:
                    self._future_times.clear()
                self._future_times[key] = times
        return times

    def compiled_for(self, schedule: AgentSchedule) -> CompiledSchedule:
        """The schedule's compiled rules (compile_schedule shares the work of equal rules).
        Stored specs were valid when written; a tighter minimum interval since then must not
        make them unreadable, so they are compiled without it."""
        return compile_schedule(
            schedule.spec.schedule, schedule_id=schedule.metadata.id, min_interval=timedelta(0)
        )


def _next_fire(
    compiled: CompiledSchedule,
    spec: AgentScheduleSpec,
    after: datetime,
    info: AgentScheduleInfo | None = None,
) -> NextFire:
    """Where the engine picks the schedule up: nowhere unless ACTIVE with fires left."""
    if spec.status is not ScheduleStatus.ACTIVE:
        return NextFire()
    if spec.max_fires and info is not None and info.scheduled_fires >= spec.max_fires:
        return NextFire()
    fire = compiled.next_fire(after)
    return NextFire() if fire is None else NextFire(fire.nominal, fire.at)


def require_schedule(
    uow: UnitOfWork,
    principal: Principal,
    workspace_id: str,
    agent_id: str,
    schedule_id: str,
    *,
    for_update: bool = False,
) -> AgentSchedule:
    require_workspace(uow, principal, workspace_id)
    schedule = uow.schedules.get(workspace_id, schedule_id, for_update=for_update)
    if schedule is None or agent_id not in (schedule.info.agent_id, ALL_AGENTS):
        raise NotFoundError("schedule", schedule_id)
    return schedule
