"""AgentSchedule use cases: CRUD, pause, resume, archive. Writing a schedule also sets
where the firing engine picks it up (its next fire), in the same transaction. What a read
shows of a schedule beyond its row (future fire times, recent objectives) is
schedule_presenter's."""

from dataclasses import replace
from datetime import datetime, timedelta

from sundial.domain.agents import AgentSpec
from sundial.domain.clock import Clock
from sundial.domain.errors import (
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
)
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import Page
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal
from sundial.domain.schedules import (
    AgentSchedule,
    AgentScheduleInfo,
    AgentScheduleSpec,
    ParsedSchedule,
    ScheduleRules,
    ScheduleStatus,
)
from sundial.service.agents import require_agent, require_agent_spec
from sundial.service.chains import refuse_if_in_chains
from sundial.service.filtering import enum_value
from sundial.service.idempotency import RequestKey, find_replay, record_request, request_key
from sundial.service.listing import ALL_AGENTS, page_of, prepare_query
from sundial.service.notifier import Notifier
from sundial.service.pagination import PageRequest
from sundial.service.schedule_drafts import (
    Draft,
    chain_violations,
    draft_schedule,
    draft_violations,
)
from sundial.service.schedule_presenter import (
    FUTURE_FIRE_TIMES,
    SchedulePresenter,
    compiled_for,
)
from sundial.service.tenancy import require_workspace
from sundial.service.updates import Writable, check_etag, merge_update
from sundial.service.validation import (
    Violations,
    check_delivery_webhooks,
    check_metadata,
    check_pause_reason,
    check_schedule_spec,
    named_webhooks,
)
from sundial.store.database import Database
from sundial.store.duplicate_keys import DuplicateKeyError
from sundial.store.repositories.schedules import NextFire
from sundial.store.unit_of_work import UnitOfWork
from sundial.timing import (
    CompiledSchedule,
    Fire,
    compile_schedule,
    describe_rules,
    parse_schedule,
)

MAX_PREVIEW_COUNT = 1000


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
        # Every schedule a use case returns is presented with its read-time facts.
        self._presenter = SchedulePresenter()

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
        draft = draft_schedule(
            principal,
            workspace_id,
            agent_id,
            metadata,
            spec,
            schedule_id="" if validate_only else new_id(IdPrefix.SCHEDULE),
            now=self._clock.now(),
            min_interval=self._min_fire_interval,
            request_id=request_id,
        )
        spec = draft.schedule.spec
        if validate_only:
            with UnitOfWork(self._database, write=False) as uow:
                _check_draft(uow, principal, draft)
            return self._presenter.with_read_time_facts(draft.schedule, [], [])

        key = request_key(workspace_id, "CreateAgentSchedule", request_id, agent_id, metadata, spec)
        try:
            created = self._create_once(principal, key, draft)
        except DuplicateKeyError:
            if not request_id:
                raise
            # A concurrent call with this request id committed first: now its record is found.
            created = self._create_once(principal, key, draft)
        self._notifier.schedules_changed(created.info.next_fire_at)
        return created

    def _create_once(self, principal: Principal, key: RequestKey, draft: Draft) -> AgentSchedule:
        """The draft written in one transaction, with its request id; or, for a retry of a
        call that did, what that call created."""
        workspace_id = draft.schedule.metadata.workspace_id
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                replayed = self._presenter.read(uow, workspace_id, replayed_id)
                if replayed is None:
                    raise NotFoundError("schedule", replayed_id)
                return replayed
            _check_draft(uow, principal, draft)
            creator = uow.tenancy.get_profile(principal.account_id, principal.profile_id)
            created = uow.schedules.add(draft.schedule, draft.next_fire, creator)
            record_request(uow, self._clock, key, created.metadata.id)
            uow.commit()
        # Nothing has fired yet: no objectives to read.
        return self._presenter.with_read_time_facts(created, [], [])

    def get(
        self, principal: Principal, workspace_id: str, agent_id: str, schedule_id: str
    ) -> AgentSchedule:
        with UnitOfWork(self._database, write=False) as uow:
            schedule = self._presenter.read(uow, workspace_id, schedule_id)
            if (
                schedule is None
                or schedule.metadata.account_id != principal.account_id
                or agent_id not in (schedule.info.agent_id, ALL_AGENTS)
            ):
                # Only a miss asks after the workspace: its NOT_FOUND comes first.
                require_workspace(uow, principal, workspace_id)
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
            return Page(self.present(uow, page.items), page.next_page_token)

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
            check_delivery_webhooks(
                violations,
                new_spec.deliveries,
                uow.outbox.webhook_ids_in(workspace_id, named_webhooks(new_spec.deliveries)),
            )
            violations.items.extend(chain_violations(uow, workspace_id, new_spec))
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
            refuse_if_in_chains(uow, workspace_id, schedule_id=schedule_id)
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

    def describe(self, rules: ScheduleRules) -> str:
        """The rules in English (what AgentScheduleInfo.description says)."""
        return describe_rules(rules)

    def parse(
        self,
        principal: Principal,
        text: str,
        *,
        timezone: str = "",
        reference_time: datetime | None = None,
    ) -> ParsedSchedule:
        """The rules `text` means (timing.phrases), checked as PreviewSchedule checks rules;
        what the text says that the rules cannot hold is reported on `text`."""
        parsed = parse_schedule(
            text, timezone=timezone, reference=reference_time or self._clock.now()
        )
        try:
            compile_schedule(parsed.schedule, min_interval=self._min_fire_interval)
        except InvalidArgumentError as error:
            raise InvalidArgumentError(
                [FieldViolation("text", v.description) for v in error.violations]
            ) from None
        return parsed

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
                compiled = compiled_for(current)
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

    @property
    def min_fire_interval(self) -> timedelta:
        """The closest two fires of one schedule may come (a server setting)."""
        return self._min_fire_interval

    def present(self, uow: UnitOfWork, schedules: list[AgentSchedule]) -> list[AgentSchedule]:
        """Adds the facts computed at read time: future fire times and recent objectives."""
        return self._presenter.present(uow, schedules)

    def compiled_for(self, schedule: AgentSchedule) -> CompiledSchedule:
        """The schedule's compiled rules, as stored rules are read (schedule_presenter)."""
        return compiled_for(schedule)


def _check_draft(uow: UnitOfWork, principal: Principal, draft: Draft) -> None:
    """The checks that need the database. Errors come in a fixed order: the agent's
    NOT_FOUND first, then every violation (schedule_drafts.draft_violations)."""
    schedule = draft.schedule
    agent_spec = require_agent_spec(
        uow, principal, schedule.metadata.workspace_id, schedule.info.agent_id
    )
    webhook_ids = uow.outbox.webhook_ids_in(
        schedule.metadata.workspace_id, named_webhooks(schedule.spec.deliveries)
    )
    violations = draft_violations(draft, agent_spec, webhook_ids)
    violations.extend(chain_violations(uow, schedule.metadata.workspace_id, schedule.spec))
    if violations:
        raise InvalidArgumentError(violations)


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
