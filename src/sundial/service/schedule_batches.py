"""BatchCreateAgentSchedules (AIP-233): up to 1,000 schedules in one transaction, all of
them or none.

Each request is built and checked as CreateAgentSchedule does (service.schedule_drafts);
its violations are named under its index (`requests[7].spec.schedule.cron_expressions[0]`),
and every request's are reported at once. The batch's `request_id` makes the whole batch
idempotent, as a Create's does one schedule (service.idempotency): its record keeps every
id the batch created. The rows go in with one executemany."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sundial.domain.agents import AgentSpec
from sundial.domain.clock import Clock
from sundial.domain.errors import FieldViolation, InvalidArgumentError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal
from sundial.domain.schedules import AgentSchedule, AgentScheduleSpec
from sundial.service.idempotency import (
    RequestKey,
    find_batch_replay,
    record_batch_request,
    request_key,
)
from sundial.service.listing import ALL_AGENTS
from sundial.service.notifier import Notifier
from sundial.service.schedule_drafts import (
    Draft,
    FutureFires,
    chain_violations,
    draft_schedule,
    draft_violations,
)
from sundial.service.schedule_presenter import FUTURE_FIRE_TIMES
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import require_workspace
from sundial.service.validation import Violations, check_request_id, named_webhooks
from sundial.store.database import Database
from sundial.store.duplicate_keys import DuplicateKeyError
from sundial.store.repositories.schedules import new_schedules
from sundial.store.unit_of_work import UnitOfWork

MAX_BATCH_SIZE = 1000
OPERATION = "BatchCreateAgentSchedules"


@dataclass(frozen=True, slots=True)
class ScheduleRequest:
    """One request of a batch: what CreateAgentSchedule takes. Its `workspace_id` and
    `agent_id` may be empty (the batch's); `request_id` and `validate_only` must be."""

    workspace_id: str
    agent_id: str
    metadata: MetadataInput
    spec: AgentScheduleSpec
    request_id: str = ""
    validate_only: bool = False


def check_batch_size(count: int) -> None:
    """INVALID_ARGUMENT naming `requests` unless a batch of `count` may be created."""
    if count == 0:
        raise InvalidArgumentError.single("requests", "at least one request is required")
    if count > MAX_BATCH_SIZE:
        raise InvalidArgumentError.single(
            "requests",
            f"at most {MAX_BATCH_SIZE} requests per batch, got {count}; "
            "split them into several batches",
        )


class ScheduleBatchService:
    def __init__(
        self, database: Database, clock: Clock, schedules: ScheduleService, notifier: Notifier
    ) -> None:
        self._database = database
        self._clock = clock
        self._schedules = schedules
        self._notifier = notifier

    def create(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        requests: Sequence[ScheduleRequest],
        *,
        request_id: str = "",
        validate_only: bool = False,
    ) -> list[AgentSchedule]:
        """The schedules of `requests`, created together, in their order; or nothing, and
        every violation of every request."""
        check_batch_size(len(requests))
        violations = Violations()
        check_request_id(violations, request_id)
        if agent_id == "":
            violations.add(
                "agent_id",
                "agent_id is required: an agent's id, or '-' when each request names its agent",
            )
        now = self._clock.now()
        future = FutureFires(FUTURE_FIRE_TIMES)
        drafts: list[Draft] = []
        parents: list[tuple[FieldViolation, ...]] = []
        for index, request in enumerate(requests):
            parents.append(
                _request_violations(f"requests[{index}]", workspace_id, agent_id, request)
            )
            drafts.append(
                draft_schedule(
                    principal,
                    workspace_id,
                    request.agent_id if agent_id == ALL_AGENTS else agent_id,
                    request.metadata,
                    request.spec,
                    schedule_id="" if validate_only else new_id(IdPrefix.SCHEDULE),
                    now=now,
                    min_interval=self._schedules.min_fire_interval,
                    future=future,
                )
            )
        batch = _Batch(workspace_id, tuple(drafts), tuple(violations.items), tuple(parents))
        if validate_only:
            with UnitOfWork(self._database, write=False) as uow:
                _check_batch(uow, principal, batch)
            # Nothing has fired: the drafts' future fire times are all a read would add.
            return [draft.schedule for draft in drafts]

        asked = [
            (d.schedule.info.agent_id, r.metadata, r.spec)
            for d, r in zip(drafts, requests, strict=True)
        ]
        key = request_key(workspace_id, OPERATION, request_id, agent_id, asked)
        try:
            created = self._create_once(principal, key, batch)
        except DuplicateKeyError:
            if not request_id:
                raise
            # A concurrent call with this request id committed first: now its record is found.
            created = self._create_once(principal, key, batch)
        due = [s.info.next_fire_at for s in created if s.info.next_fire_at is not None]
        # One wake-up for the batch: the engine then takes every due schedule from the index.
        self._notifier.schedules_changed(min(due, default=None))
        return created

    def _create_once(
        self, principal: Principal, key: RequestKey, batch: "_Batch"
    ) -> list[AgentSchedule]:
        """The batch written in one transaction, with its request id; or, for a retry of a
        call that did, what that call created."""
        rows = new_schedules([(draft.schedule, draft.next_fire) for draft in batch.drafts])
        with UnitOfWork(self._database, write=True) as uow:
            replayed_ids = find_batch_replay(uow, self._clock, key)
            if replayed_ids is not None:
                return self._replayed(uow, batch.workspace_id, replayed_ids)
            _check_batch(uow, principal, batch)
            creator = uow.tenancy.get_profile(principal.account_id, principal.profile_id)
            created = uow.schedules.add_many(rows, creator)
            record_batch_request(uow, self._clock, key, [s.metadata.id for s in created])
            uow.commit()
        # As a read presents them: nothing has fired, the future fire times came with the
        # drafts, and so did the descriptions of their rules. They are not put in the
        # schedule service's cache: a thousand new schedules would push out the ones being
        # read.
        return [
            replace(made, info=replace(made.info, description=draft.schedule.info.description))
            for made, draft in zip(created, batch.drafts, strict=True)
        ]

    def _replayed(
        self, uow: UnitOfWork, workspace_id: str, schedule_ids: tuple[str, ...]
    ) -> list[AgentSchedule]:
        """The schedules a batch created, as they are now; NOT_FOUND if one was deleted since."""
        found = uow.schedules.get_many(workspace_id, schedule_ids)
        if len(found) != len(schedule_ids):
            present = {s.metadata.id for s in found}
            missing = next(i for i in schedule_ids if i not in present)
            raise NotFoundError("schedule", missing)
        return self._schedules.present(uow, found)


@dataclass(frozen=True, slots=True)
class _Batch:
    """The drafts of a batch, and the violations found before its transaction that are not
    any draft's: the batch's own fields', and each request's parent's (by index)."""

    workspace_id: str
    drafts: tuple[Draft, ...]
    violations: tuple[FieldViolation, ...]
    parent_violations: tuple[tuple[FieldViolation, ...], ...]


def _request_violations(
    prefix: str, workspace_id: str, agent_id: str, request: ScheduleRequest
) -> tuple[FieldViolation, ...]:
    """A request of the batch names the batch's parent or none (AIP-233), and leaves the
    fields that belong to the whole batch to it."""
    violations = Violations()
    if request.workspace_id not in ("", workspace_id):
        violations.add(
            f"{prefix}.workspace_id",
            f"must be empty or the batch's workspace_id {workspace_id!r}, "
            f"got {request.workspace_id!r}",
        )
    if agent_id == ALL_AGENTS:
        if request.agent_id in ("", ALL_AGENTS):
            violations.add(
                f"{prefix}.agent_id",
                "each request names its agent when the batch's agent_id is '-'",
            )
    elif request.agent_id not in ("", agent_id):
        violations.add(
            f"{prefix}.agent_id",
            f"must be empty or the batch's agent_id {agent_id!r}, got {request.agent_id!r}",
        )
    if request.request_id:
        violations.add(
            f"{prefix}.request_id",
            "set request_id on the batch request, not on its requests: "
            "a batch is retried as a whole",
        )
    if request.validate_only:
        violations.add(
            f"{prefix}.validate_only",
            "set validate_only on the batch request, not on its requests",
        )
    return tuple(violations.items)


def _check_batch(uow: UnitOfWork, principal: Principal, batch: _Batch) -> None:
    """The checks that need the database, in the order a Create makes them: each agent's
    NOT_FOUND first (in the order the requests name them), then every violation: the
    batch's own, then each request's under its index (its parent's, then its draft's)."""
    require_workspace(uow, principal, batch.workspace_id)
    agents: dict[str, AgentSpec | None] = {}
    for draft in batch.drafts:
        agent_id = draft.schedule.info.agent_id
        if agent_id not in agents:
            agents[agent_id] = _agent_spec(uow, batch.workspace_id, agent_id)
    # One query for the webhooks every request's deliveries name.
    webhook_ids = uow.outbox.webhook_ids_in(
        batch.workspace_id,
        set().union(*(named_webhooks(d.schedule.spec.deliveries) for d in batch.drafts)),
    )
    violations = list(batch.violations)
    for index, draft in enumerate(batch.drafts):
        violations.extend(batch.parent_violations[index])
        violations.extend(
            FieldViolation(f"requests[{index}].{v.field}", v.description)
            for v in draft_violations(draft, agents[draft.schedule.info.agent_id], webhook_ids)
            + chain_violations(uow, batch.workspace_id, draft.schedule.spec)
        )
    if violations:
        raise InvalidArgumentError(violations)


def _agent_spec(uow: UnitOfWork, workspace_id: str, agent_id: str) -> AgentSpec | None:
    """The spec of the agent a request names (its workspace checked already); None for a
    request that names no agent (a violation of its own); NOT_FOUND for an unknown one."""
    if agent_id in ("", ALL_AGENTS):
        return None
    spec = uow.agents.spec_of(workspace_id, agent_id)
    if spec is None:
        raise NotFoundError("agent", agent_id)
    return spec
