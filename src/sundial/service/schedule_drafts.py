"""A new schedule before its write transaction: CreateAgentSchedule and
BatchCreateAgentSchedules build and check each schedule the same way, here.

What needs no database (metadata checks, compiling the rules, the first fire) is done before
the write transaction, which then holds the write lock only for its statements (on SQLite,
the process's writers queue behind it); `draft_violations` keeps the errors in their order."""

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sundial.domain.agents import AgentSpec
from sundial.domain.errors import FieldViolation, InvalidArgumentError
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal
from sundial.domain.schedules import (
    AgentSchedule,
    AgentScheduleInfo,
    AgentScheduleSpec,
    ScheduleRules,
    ScheduleStatus,
)
from sundial.service.updates import new_metadata
from sundial.service.validation import (
    Violations,
    check_delivery_webhooks,
    check_metadata,
    check_request_id,
    check_schedule_spec,
)
from sundial.store.repositories.schedules import NextFire
from sundial.store.unit_of_work import UnitOfWork
from sundial.timing import CompiledSchedule, Fire, compile_schedule, describe_rules


@dataclass(frozen=True, slots=True)
class Draft:
    """A new schedule as built before its transaction, and what is left to check of it
    there: `violations` so far, the rules' error if they did not compile, and whether they
    have a fire after now."""

    schedule: AgentSchedule
    next_fire: NextFire
    violations: tuple[FieldViolation, ...]
    rules_error: InvalidArgumentError | None
    has_fire: bool


class FutureFires:
    """The next `count` fires of new schedules, for a batch of drafts. Rules without jitter
    fire at the same times whatever schedule they belong to (jitter is the one part seeded
    by the schedule's id), so equal rules are walked once per batch: an import often
    repeats a few rules."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._by_rules: dict[tuple[ScheduleRules, datetime], list[Fire]] = {}

    def of(self, compiled: CompiledSchedule, rules: ScheduleRules, after: datetime) -> list[Fire]:
        """The fires of `compiled` (the rules `rules`) after `after`."""
        if rules.jitter:
            return compiled.fire_times(after, self._count)
        key = (rules, after)
        try:
            fires = self._by_rules.get(key)
        except TypeError:  # rules holding an unhashable value (compile_schedule takes them)
            return compiled.fire_times(after, self._count)
        if fires is None:
            fires = self._by_rules[key] = compiled.fire_times(after, self._count)
        return fires


def draft_schedule(
    principal: Principal,
    workspace_id: str,
    agent_id: str,
    metadata: MetadataInput,
    spec: AgentScheduleSpec,
    *,
    schedule_id: str,
    now: datetime,
    min_interval: timedelta,
    request_id: str = "",
    future: FutureFires | None = None,
) -> Draft:
    """The schedule a Create of `spec` would store (`schedule_id` empty for validate_only),
    with the violations found without the database. `spec.status` UNSPECIFIED is ACTIVE.
    With `future`, its info holds its future fire times as a read shows them (computed
    with its first fire, in one walk of the rules)."""
    violations = Violations()
    check_metadata(violations, metadata)
    check_request_id(violations, request_id)
    if spec.status is ScheduleStatus.UNSPECIFIED:
        spec = replace(spec, status=ScheduleStatus.ACTIVE)
    rules_error: InvalidArgumentError | None = None
    fires: list[Fire] = []
    try:
        compiled = compile_schedule(
            spec.schedule, schedule_id=schedule_id, min_interval=min_interval
        )
    except InvalidArgumentError as error:
        rules_error = error
    else:
        if future is not None:
            fires = future.of(compiled, spec.schedule, now)
        else:
            fire = compiled.next_fire(now)
            fires = [] if fire is None else [fire]
    # Where the engine picks the schedule up: nowhere unless ACTIVE with a fire ahead.
    next_fire = NextFire()
    if fires and spec.status is ScheduleStatus.ACTIVE:
        next_fire = NextFire(fires[0].nominal, fires[0].at)
    schedule = AgentSchedule(
        metadata=new_metadata(principal, workspace_id, schedule_id, metadata, now),
        spec=spec,
        info=AgentScheduleInfo(
            agent_id=agent_id,
            next_fire_at=next_fire.at,
            next_nominal_at=next_fire.nominal,
            # A read shows future fire times only while the engine has a fire pending.
            future_fire_times=(
                tuple(f.at for f in fires) if future is not None and next_fire.nominal else ()
            ),
            remaining_fires=spec.max_fires if spec.max_fires > 0 else None,
            description=describe_rules(spec.schedule) if rules_error is None else "",
        ),
    )
    return Draft(schedule, next_fire, tuple(violations.items), rules_error, has_fire=bool(fires))


def draft_violations(
    draft: Draft, agent_spec: AgentSpec | None, webhook_ids: Collection[str]
) -> list[FieldViolation]:
    """Every violation of the draft once its agent's spec and the workspace's webhooks it
    names (`webhook_ids`: those found) are known, in a fixed order: the metadata's, the rest
    of the spec's, then the rules'. Without an agent (a batch request that names none) the
    checks against it are left out."""
    violations = Violations()
    violations.items.extend(draft.violations)
    if agent_spec is not None:
        check_schedule_spec(violations, draft.schedule.spec, agent_spec)
    check_delivery_webhooks(violations, draft.schedule.spec.deliveries, webhook_ids)
    if draft.rules_error is not None:
        violations.extend(draft.rules_error)
    elif not draft.has_fire:
        violations.add("spec.schedule", "the schedule has no fire time after now")
    return violations.items


def chain_violations(
    uow: UnitOfWork, workspace_id: str, spec: AgentScheduleSpec, prefix: str = "spec"
) -> list[FieldViolation]:
    """A schedule that fires a chain names one of its workspace's (the fire would
    otherwise find nothing to start)."""
    if not spec.chain_id or uow.chains.get(workspace_id, spec.chain_id) is not None:
        return []
    return [FieldViolation(f"{prefix}.chain_id", f"the workspace has no chain {spec.chain_id!r}")]
