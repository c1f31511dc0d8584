"""An objective attempt's ending, in two halves. In the ending's transaction, what the
ending causes: the retry its schedule's (or chain's) policy grants, the schedule's failure
count and pause_on_failure, the oldest BUFFERED fire it promotes, the chain nodes it makes
ready and the outbox events it writes. Once that transaction committed, what it tells the
operator: the metrics it moves (the outbox's decisions among them) and its log line
(timeout, retry, final failure, auto-pause). The objective service owns the lease protocol
and hands each ended attempt here."""

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sundial.domain.clock import later
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.objectives import Objective, ObjectiveStatus, TriggerKind
from sundial.domain.schedules import AgentSchedule, RetryPolicy, ScheduleStatus
from sundial.domain.webhooks import EventType
from sundial.metrics import Metrics
from sundial.service.chain_steps import ChainSteps
from sundial.service.outbox import Outbox, OutboxReport, ScheduleEvent
from sundial.store.firing import new_objective_row
from sundial.store.repositories.schedules import NextFire
from sundial.store.unit_of_work import UnitOfWork

# The objective service's logger: these lines are its events.
logger = logging.getLogger("sundial.objectives")

DEFAULT_INITIAL_BACKOFF = timedelta(seconds=10)
DEFAULT_MAX_BACKOFF = timedelta(hours=1)
DEFAULT_BACKOFF_MULTIPLIER = 2.0


def backoff(policy: RetryPolicy, attempt: int) -> timedelta:
    """Delay before attempt `attempt + 1`: initial * multiplier^(attempt-1), capped at
    max_backoff (however large the stored values, the product never overflows)."""
    initial = policy.initial_backoff or DEFAULT_INITIAL_BACKOFF
    ceiling = policy.max_backoff or DEFAULT_MAX_BACKOFF
    multiplier = policy.backoff_multiplier or DEFAULT_BACKOFF_MULTIPLIER
    try:
        seconds = initial.total_seconds() * multiplier ** max(attempt - 1, 0)
    except OverflowError:
        return ceiling
    if not seconds < ceiling.total_seconds():  # also NaN
        return ceiling
    return timedelta(seconds=max(seconds, 0.0))


@dataclass(frozen=True, slots=True)
class Ending:
    """How one attempt ended, reported (metrics, log) once its transaction committed."""

    objective: Objective
    status: ObjectiveStatus
    error: str
    ended_at: datetime
    retry_at: datetime | None = None  # when the retry it got becomes available
    paused: bool = False  # its schedule was paused (pause_on_failure)
    outbox: OutboxReport | None = None  # the deliveries its transaction wrote
    # The agents whose objectives its end made PENDING: the chain nodes it started, the
    # buffered fire it promoted (their workers and the pusher are woken).
    started_agents: frozenset[str] = frozenset()


class EndingWriter:
    """Writes, in an ending's transaction, what the attempt's end causes (the objective's
    own row is already updated) and returns the Ending to report once it committed."""

    def __init__(self, outbox: Outbox, chains: ChainSteps) -> None:
        # Writes each ending's events and results in the ending's transaction.
        self._outbox = outbox
        # A chain node's objective's end starts the nodes it makes ready, in its transaction.
        self._chains = chains

    def write(
        self,
        uow: UnitOfWork,
        objective: Objective,
        status: ObjectiveStatus,
        now: datetime,
        *,
        error: str = "",
        retryable: bool = False,
        retry_after: timedelta | None = None,
    ) -> Ending:
        """Retries the attempt when `retryable` and its policy allows (`retry_after`, the
        target's wish, replaces the backoff); otherwise ends it for its schedule and chain."""
        schedule = uow.schedules.get(
            objective.metadata.workspace_id, objective.spec.schedule_id, for_update=True
        )
        ending = Ending(objective, status, error, now)
        workspace_id = objective.metadata.workspace_id
        if retryable and status in (ObjectiveStatus.FAILED, ObjectiveStatus.TIMED_OUT):
            policy = (
                schedule.spec.retry_policy
                if schedule is not None
                else self._chains.retry_policy(uow, objective)
            )
            if schedule is not None or policy is not None:
                policy = policy or RetryPolicy()
                if objective.info.attempt < max(policy.max_attempts, 1):
                    delay = backoff(policy, objective.info.attempt)
                    available_at = later(now, delay if retry_after is None else retry_after)
                    retry_id = self._retry(uow, objective, available_at, now)
                    self._chains.objective_retried(uow, objective, retry_id, now)
                    # Not an ending yet: the retry's own ending is announced.
                    return replace(ending, retry_at=available_at)
        steps = self._chains.objective_ended(uow, objective, status, now)
        ending = replace(ending, started_agents=frozenset(steps.agent_ids))
        if schedule is None:
            report = self._outbox.objective_ended(
                uow, objective.metadata.id, workspace_id, None, now
            )
            report.merge(steps.outbox)
            return replace(ending, outbox=report)
        pause_note = self._record_outcome(uow, schedule, objective, status, error, now)
        if self._promote_buffered(uow, schedule.metadata.id, now):
            ending = replace(
                ending, started_agents=ending.started_agents | {schedule.info.agent_id}
            )
        report = self._outbox.objective_ended(
            uow, objective.metadata.id, workspace_id, schedule, now
        )
        if pause_note is not None:
            paused = ScheduleEvent(
                EventType.SCHEDULE_AUTO_PAUSED,
                account_id=objective.metadata.account_id,
                workspace_id=workspace_id,
                schedule_id=schedule.metadata.id,
                agent_id=schedule.info.agent_id,
                scheduled_times=(
                    ()
                    if objective.spec.scheduled_time is None
                    else (objective.spec.scheduled_time,)
                ),
                count=schedule.info.consecutive_failure_count + 1,
                reason=pause_note,
                schedule_name=schedule.metadata.name,
                schedule_labels=dict(schedule.metadata.labels),
            )
            report.merge(self._outbox.schedule_events(uow.outbox, [paused], now))
        report.merge(steps.outbox)
        return replace(ending, paused=pause_note is not None, outbox=report)

    def _retry(
        self, uow: UnitOfWork, objective: Objective, available_at: datetime, now: datetime
    ) -> str:
        """Inserts the next attempt; returns its id."""
        spec = objective.spec
        assert spec.scheduled_time is not None
        retry_id = new_id(IdPrefix.OBJECTIVE)
        uow.objectives.insert(
            [
                new_objective_row(
                    objective_id=retry_id,
                    account_id=objective.metadata.account_id,
                    workspace_id=objective.metadata.workspace_id,
                    agent_id=spec.agent_id,
                    schedule_id=spec.schedule_id,
                    profile_id=objective.metadata.profile_id,
                    scheduled_time=spec.scheduled_time,
                    trigger_kind=TriggerKind.RETRY.name,
                    trigger_key=objective.metadata.id,
                    status=ObjectiveStatus.PENDING.name,
                    spec={
                        "initial_message": spec.initial_message,
                        "data": spec.data,
                        "variation_id": spec.variation_id,
                    },
                    now=now,
                    attempt=objective.info.attempt + 1,
                    retry_of=objective.metadata.id,
                    available_at=available_at,
                    trace_parent=objective.info.trace_parent,
                    chain_run_id=spec.chain_run_id,
                    chain_node=spec.chain_node,
                )
            ]
        )
        uow.schedules.count_objectives(spec.schedule_id, "retry_attempts")
        return retry_id

    def _record_outcome(
        self,
        uow: UnitOfWork,
        schedule: AgentSchedule,
        objective: Objective,
        status: ObjectiveStatus,
        error: str,
        now: datetime,
    ) -> str | None:
        """Updates the schedule's failure count; returns the note of the pause if it paused
        the schedule (pause_on_failure), else None."""
        failures = schedule.info.consecutive_failure_count
        if status is ObjectiveStatus.SUCCEEDED:
            failures = 0
        elif status in (ObjectiveStatus.FAILED, ObjectiveStatus.TIMED_OUT):
            failures += 1
        uow.schedules.set_failure_count(schedule.metadata.id, failures)
        failed = status in (ObjectiveStatus.FAILED, ObjectiveStatus.TIMED_OUT)
        if (
            failed
            and schedule.spec.pause_on_failure
            and schedule.spec.status is ScheduleStatus.ACTIVE
        ):
            note = (
                f"Paused at {now.isoformat()} because objective {objective.metadata.id} "
                f"ended {status.name} after {objective.info.attempt} attempt(s): {error}"
            )
            spec = replace(schedule.spec, status=ScheduleStatus.PAUSED, notes=note[:4096])
            metadata = replace(schedule.metadata, updated_at=now)
            uow.schedules.update(replace(schedule, spec=spec, metadata=metadata), NextFire())
            return spec.notes
        return None

    def _promote_buffered(self, uow: UnitOfWork, schedule_id: str, now: datetime) -> bool:
        """When nothing of the schedule is in flight, its oldest buffered fire starts;
        returns whether one did."""
        if uow.objectives.count_in_flight(schedule_id):
            return False
        buffered = uow.objectives.oldest_buffered(schedule_id)
        if buffered is None:
            return False
        uow.objectives.update(buffered, now, status=ObjectiveStatus.PENDING, available_at=now)
        return True


def report_ending(ending: Ending, metrics: Metrics) -> None:
    """Counts and logs one ended attempt: its status, its retry, its schedule's pause."""
    objective, status = ending.objective, ending.status
    started = objective.info.started_at
    duration = (ending.ended_at - started).total_seconds() if started else None
    metrics.objective_finished(status.name, duration)
    if ending.retry_at is not None:
        metrics.retries.inc()
    else:
        metrics.attempts.observe(objective.info.attempt)
    if ending.paused:
        metrics.auto_paused.inc()
    if ending.outbox is not None:
        ending.outbox.record(metrics)
    ids = {
        "objective_id": objective.metadata.id,
        "schedule_id": objective.spec.schedule_id,
        "agent_id": objective.spec.agent_id,
        "workspace_id": objective.metadata.workspace_id,
        "attempt": objective.info.attempt,
    }
    if status is ObjectiveStatus.TIMED_OUT:
        logger.info(
            "objective %s of schedule %s timed out (attempt %d): %s",
            objective.metadata.id,
            objective.spec.schedule_id,
            objective.info.attempt,
            ending.error,
            extra={**ids, "event": "timeout", "reason": ending.error},
        )
    if ending.retry_at is not None:
        logger.info(
            "objective %s of schedule %s ended %s; attempt %d retries at %s",
            objective.metadata.id,
            objective.spec.schedule_id,
            status.name,
            objective.info.attempt + 1,
            ending.retry_at.isoformat(),
            extra={**ids, "event": "retry", "retry_at": ending.retry_at.isoformat()},
        )
    elif status is ObjectiveStatus.FAILED:
        logger.info(
            "objective %s of schedule %s failed after %d attempt(s): %s",
            objective.metadata.id,
            objective.spec.schedule_id,
            objective.info.attempt,
            ending.error,
            extra={**ids, "event": "failure", "reason": ending.error},
        )
    if ending.paused:
        logger.info(
            "schedule %s paused itself (pause_on_failure): objective %s ended %s",
            objective.spec.schedule_id,
            objective.metadata.id,
            status.name,
            extra={**ids, "event": "auto_pause", "status": status.name},
        )
