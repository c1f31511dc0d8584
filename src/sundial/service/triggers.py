"""Fires outside the rules: TriggerAgentSchedule (run now) and BackfillAgentSchedule (fire
every nominal time of a past range). Neither counts toward max_fires."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sundial.domain.agents import AgentSpec, choose_variation
from sundial.domain.clock import Clock
from sundial.domain.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.objectives import Objective, ObjectiveStatus, TriggerKind
from sundial.domain.principals import Principal
from sundial.domain.schedules import AgentSchedule, OverlapPolicy
from sundial.engine.planner import decide
from sundial.metrics import Metrics
from sundial.service.idempotency import RequestKey, find_replay, record_request, request_key
from sundial.service.notifier import Notifier
from sundial.service.outbox import Outbox, OutboxReport
from sundial.service.schedules import ScheduleService, require_schedule
from sundial.service.validation import Violations, check_request_id
from sundial.store.codec import to_json
from sundial.store.database import Database
from sundial.store.duplicate_keys import DuplicateKeyError
from sundial.store.firing import new_objective_row, objective_spec_of
from sundial.store.unit_of_work import UnitOfWork
from sundial.tracing import Tracing

MAX_BACKFILL_FIRES = 10_000
MAX_BACKFILL_RANGE = timedelta(days=366)
MAX_BACKFILL_LISTED = 100


@dataclass(frozen=True, slots=True)
class BackfillResult:
    created_count: int
    existing_count: int
    skipped_count: int
    objectives: list[Objective]


class TriggerService:
    """With `tracing` on, a manual trigger's objective keeps the traceparent of its fire's
    span (a child of the trigger call's), a backfill's those of the backfill call's span."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        schedules: ScheduleService,
        notifier: Notifier,
        *,
        tracing: Tracing | None = None,
        outbox: Outbox | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._tracing = tracing or Tracing()
        # Announces the objectives a CANCEL_OTHER trigger cancels, in its transaction.
        self._outbox = outbox or Outbox()
        self._metrics = metrics or Metrics()
        self._database = database
        self._clock = clock
        self._schedules = schedules
        self._notifier = notifier

    def trigger(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        *,
        request_id: str = "",
        overlap_policy: OverlapPolicy = OverlapPolicy.UNSPECIFIED,
    ) -> Objective:
        """One objective now, whatever the rules and status say. Default policy: ALLOW."""
        violations = Violations()
        check_request_id(violations, request_id)
        violations.raise_if_any()
        policy = (
            overlap_policy
            if overlap_policy is not OverlapPolicy.UNSPECIFIED
            else OverlapPolicy.ALLOW
        )

        key = request_key(workspace_id, "TriggerAgentSchedule", request_id, schedule_id, policy)
        try:
            objective = self._trigger_once(principal, key, agent_id, schedule_id, policy)
        except DuplicateKeyError:
            if not request_id:
                raise
            # A concurrent call with this request id committed first: now its record is found.
            objective = self._trigger_once(principal, key, agent_id, schedule_id, policy)
        self._notifier.objectives_available([objective.spec.agent_id])
        return objective

    def _trigger_once(
        self,
        principal: Principal,
        key: RequestKey,
        agent_id: str,
        schedule_id: str,
        policy: OverlapPolicy,
    ) -> Objective:
        workspace_id, request_id = key.scope_id, key.request_id
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                return _require_objective(uow, workspace_id, replayed_id)
            schedule = require_schedule(
                uow, principal, workspace_id, agent_id, schedule_id, for_update=True
            )
            now = self._clock.now()
            in_flight = uow.objectives.in_flight_ids(schedule_id)
            status, reason = decide(
                policy, len(in_flight), uow.objectives.count_buffered(schedule_id)
            )
            if status is None:
                raise FailedPreconditionError(
                    f"not triggered: {reason} (overlap policy {policy.name})",
                    reason="TRIGGER_SKIPPED",
                )
            cancelled = OutboxReport()
            if policy is OverlapPolicy.CANCEL_OTHER and in_flight:
                uow.objectives.cancel(
                    in_flight, now, "cancelled by a manual trigger (CANCEL_OTHER)"
                )
                webhooks = uow.outbox.webhooks_in([workspace_id])
                for ended_id in in_flight if webhooks else ():
                    cancelled.merge(
                        self._outbox.objective_ended(
                            uow, ended_id, workspace_id, schedule, now, webhooks=webhooks
                        )
                    )
            objective_id = new_id(IdPrefix.OBJECTIVE)
            span = self._tracing.fire_span(
                {
                    "sundial.workspace_id": workspace_id,
                    "sundial.agent_id": schedule.info.agent_id,
                    "sundial.schedule_id": schedule_id,
                    "sundial.objective_id": objective_id,
                    "sundial.objective_status": status.name,
                    "sundial.trigger_kind": TriggerKind.MANUAL.name,
                }
            )
            uow.objectives.insert(
                [
                    _row(
                        schedule,
                        _variation(schedule, _agent_spec(uow, schedule), now, 0),
                        objective_id,
                        now,
                        TriggerKind.MANUAL,
                        status,
                        now,
                        request_id or objective_id,
                        span.trace_parent,
                    )
                ]
            )
            uow.schedules.count_objectives(schedule_id, "manual_fires")
            record_request(uow, self._clock, key, objective_id)
            # Answered as a Get will read it.
            created = _require_objective(uow, workspace_id, objective_id)
            uow.commit()
        cancelled.record(self._metrics)
        span.end()
        return created

    def backfill(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        *,
        start_time: datetime | None,
        end_time: datetime | None,
        overlap_policy: OverlapPolicy = OverlapPolicy.UNSPECIFIED,
    ) -> BackfillResult:
        """Fires every nominal time in [start_time, end_time) that has not fired yet."""
        policy = (
            overlap_policy
            if overlap_policy is not OverlapPolicy.UNSPECIFIED
            else OverlapPolicy.BUFFER_ALL
        )
        now = self._clock.now()
        start, end = _check_range(start_time, end_time, now, policy)
        with UnitOfWork(self._database, write=True) as uow:
            schedule = require_schedule(
                uow, principal, workspace_id, agent_id, schedule_id, for_update=True
            )
            times = self._nominal_times(schedule, start, end)
            already = uow.objectives.fired_times(schedule_id, start, end)
            in_flight = len(uow.objectives.in_flight_ids(schedule_id))
            buffered = uow.objectives.count_buffered(schedule_id)
            rows: list[dict[str, Any]] = []
            skipped = 0
            agent = _agent_spec(uow, schedule)
            trace_parent = self._tracing.current_trace_parent()
            for nominal in times:
                if nominal in already:
                    continue
                status, _ = decide(policy, in_flight, buffered, buffer_cap=MAX_BACKFILL_FIRES)
                if status is None:
                    skipped += 1
                    continue
                if status is ObjectiveStatus.BUFFERED:
                    buffered += 1
                else:
                    in_flight += 1
                rows.append(
                    _row(
                        schedule,
                        _variation(schedule, agent, nominal, len(rows)),
                        new_id(IdPrefix.OBJECTIVE),
                        nominal,
                        TriggerKind.BACKFILL,
                        status,
                        now,
                        trace_parent=trace_parent,
                    )
                )
            uow.objectives.insert(rows)
            uow.schedules.count_objectives(schedule_id, "backfill_fires", len(rows))
            uow.commit()
            listed = [uow.objectives.get(workspace_id, r["id"]) for r in rows[:MAX_BACKFILL_LISTED]]
        if rows:
            self._notifier.objectives_available([schedule.info.agent_id])
        return BackfillResult(
            created_count=len(rows),
            existing_count=len([t for t in times if t in already]),
            skipped_count=skipped,
            objectives=[o for o in listed if o is not None],
        )

    def _nominal_times(
        self, schedule: AgentSchedule, start: datetime, end: datetime
    ) -> list[datetime]:
        times: list[datetime] = []
        for fire in self._schedules.compiled_for(schedule).fires(start - timedelta(microseconds=1)):
            if fire.nominal >= end:
                break
            if len(times) == MAX_BACKFILL_FIRES:
                raise InvalidArgumentError.single(
                    "end_time", f"the range holds more than {MAX_BACKFILL_FIRES} fires; split it"
                )
            times.append(fire.nominal)
        return times


def _check_range(
    start: datetime | None, end: datetime | None, now: datetime, policy: OverlapPolicy
) -> tuple[datetime, datetime]:
    violations = Violations()
    if start is None:
        violations.add("start_time", "start_time is required")
    if end is None:
        violations.add("end_time", "end_time is required")
    elif end > now:
        violations.add("end_time", "end_time must not be in the future: the engine fires those")
    if start is not None and end is not None:
        if end <= start:
            violations.add("end_time", "end_time must be after start_time")
        elif end - start > MAX_BACKFILL_RANGE:
            violations.add("end_time", f"the range may span at most {MAX_BACKFILL_RANGE.days} days")
    if policy is OverlapPolicy.CANCEL_OTHER:
        violations.add(
            "overlap_policy", "CANCEL_OTHER would cancel the backfill itself; use another"
        )
    violations.raise_if_any()
    assert start is not None
    assert end is not None
    return start, end


def _agent_spec(uow: UnitOfWork, schedule: AgentSchedule) -> AgentSpec | None:
    """The agent's spec when the schedule names no variation (the agent then chooses)."""
    if schedule.spec.variation_id:
        return None
    agent = uow.agents.get(schedule.metadata.workspace_id, schedule.info.agent_id)
    return None if agent is None else agent.spec


def _variation(
    schedule: AgentSchedule, agent: AgentSpec | None, scheduled_time: datetime, index: int
) -> str:
    """The schedule's variation, or the one its agent chooses for this fire (manual and
    backfilled fires continue the schedule's round-robin count)."""
    if agent is None:
        return schedule.spec.variation_id
    return choose_variation(
        agent,
        schedule_id=schedule.metadata.id,
        nominal=scheduled_time,
        sequence=schedule.info.total_fires + index,
    )


def _row(
    schedule: AgentSchedule,
    variation_id: str,
    objective_id: str,
    scheduled_time: datetime,
    kind: TriggerKind,
    status: ObjectiveStatus,
    now: datetime,
    trigger_key: str = "",
    trace_parent: str = "",
) -> dict[str, Any]:
    return new_objective_row(
        objective_id=objective_id,
        account_id=schedule.metadata.account_id,
        workspace_id=schedule.metadata.workspace_id,
        agent_id=schedule.info.agent_id,
        schedule_id=schedule.metadata.id,
        profile_id=schedule.metadata.profile_id,
        scheduled_time=scheduled_time,
        trigger_kind=kind.name,
        trigger_key=trigger_key,
        status=status.name,
        spec={**objective_spec_of(to_json(schedule.spec)), "variation_id": variation_id},
        now=now,
        trace_parent=trace_parent,
    )


def _require_objective(uow: UnitOfWork, workspace_id: str, objective_id: str) -> Objective:
    objective = uow.objectives.get(workspace_id, objective_id)
    if objective is None:
        raise NotFoundError("objective", objective_id)
    return objective
