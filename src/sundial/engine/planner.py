"""What firing a due schedule means: pure decisions, no I/O.

Given a schedule whose next fire is due, the objectives already in flight and "now", the
planner walks the due fire times and decides for each one: fire it (PENDING), queue it
(BUFFERED), drop it under the overlap policy (skipped) or count it as missed (older than the
catch-up window). The caller writes the result in the same transaction that locked the
schedule, which is what makes each fire happen exactly once."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import AgentScheduleSpec, OverlapPolicy
from sundial.timing import CompiledSchedule

DEFAULT_CATCHUP_WINDOW = timedelta(hours=24)
# Per schedule and pass; a longer backlog continues in the next pass.
MAX_CATCHUP_FIRES = 1000
MAX_MISSED_PER_PASS = 100_000
BUFFER_ALL_CAP = 100
# Missed and skipped fire times a plan lists (for the events that announce them); the
# counts have them all.
MAX_LISTED_TIMES = 100

SKIP_IN_FLIGHT = "previous objective still in flight"
SKIP_BUFFER_FULL = "a fire is already buffered (BUFFER_ONE)"
SKIP_BUFFER_ALL_FULL = f"the buffer is full ({BUFFER_ALL_CAP} fires, BUFFER_ALL)"


@dataclass(frozen=True, slots=True)
class DueSchedule:
    """A locked schedule whose next fire is due, with its objectives in flight."""

    id: str
    spec: AgentScheduleSpec
    compiled: CompiledSchedule
    next_nominal_at: datetime
    next_fire_at: datetime
    scheduled_fires: int
    in_flight_ids: tuple[str, ...] = ()
    buffered: int = 0


@dataclass(frozen=True, slots=True)
class PlannedObjective:
    scheduled_time: datetime
    status: ObjectiveStatus


@dataclass(slots=True)
class FirePlan:
    """What to write for one schedule."""

    schedule_id: str
    objectives: list[PlannedObjective] = field(default_factory=list)
    cancel_ids: list[str] = field(default_factory=list)
    next_nominal_at: datetime | None = None
    next_fire_at: datetime | None = None
    scheduled_fires: int = 0
    missed: int = 0
    skipped: int = 0
    skip_reason: str = ""
    missed_times: list[datetime] = field(default_factory=list)  # the first MAX_LISTED_TIMES
    skipped_times: list[datetime] = field(default_factory=list)  # the first MAX_LISTED_TIMES


def plan_fires(due: DueSchedule, now: datetime) -> FirePlan:
    """Every decision for `due`'s fires whose (jittered) time is at or before `now`."""
    spec = due.spec
    policy = spec.overlap_policy
    catchup = spec.catchup_window if spec.catchup_window is not None else DEFAULT_CATCHUP_WINDOW
    plan = FirePlan(due.id, scheduled_fires=due.scheduled_fires)
    in_flight = len(due.in_flight_ids)
    buffered = due.buffered
    nominal: datetime | None = due.next_nominal_at
    at: datetime | None = due.next_fire_at
    decided = 0
    while nominal is not None and at is not None and at <= now:
        if spec.max_fires and plan.scheduled_fires >= spec.max_fires:
            nominal = at = None
            break
        if decided >= MAX_CATCHUP_FIRES or plan.missed >= MAX_MISSED_PER_PASS:
            break
        if now - nominal > catchup:
            plan.missed += 1
            if len(plan.missed_times) < MAX_LISTED_TIMES:
                plan.missed_times.append(nominal)
        else:
            decided += 1
            status, reason = decide(policy, in_flight, buffered)
            if status is None:
                plan.skipped += 1
                plan.skip_reason = reason
                if len(plan.skipped_times) < MAX_LISTED_TIMES:
                    plan.skipped_times.append(nominal)
            else:
                if policy is OverlapPolicy.CANCEL_OTHER and in_flight:
                    plan.cancel_ids.extend(due.in_flight_ids)
                    _cancel_planned(plan)
                    in_flight = 0
                plan.objectives.append(PlannedObjective(nominal, status))
                plan.scheduled_fires += 1
                if status is ObjectiveStatus.BUFFERED:
                    buffered += 1
                else:
                    in_flight += 1
        fire = due.compiled.next_fire(nominal)
        nominal, at = (fire.nominal, fire.at) if fire is not None else (None, None)
    if spec.max_fires and plan.scheduled_fires >= spec.max_fires:
        nominal = at = None
    plan.next_nominal_at, plan.next_fire_at = nominal, at
    return plan


def decide(
    policy: OverlapPolicy, in_flight: int, buffered: int, *, buffer_cap: int = BUFFER_ALL_CAP
) -> tuple[ObjectiveStatus | None, str]:
    """A new fire's status under `policy`, or None and why it is skipped."""
    if not in_flight or policy in (OverlapPolicy.ALLOW, OverlapPolicy.CANCEL_OTHER):
        return ObjectiveStatus.PENDING, ""
    if policy is OverlapPolicy.BUFFER_ONE:
        if buffered:
            return None, SKIP_BUFFER_FULL
        return ObjectiveStatus.BUFFERED, ""
    if policy is OverlapPolicy.BUFFER_ALL:
        if buffered >= buffer_cap:
            return None, SKIP_BUFFER_ALL_FULL
        return ObjectiveStatus.BUFFERED, ""
    return None, SKIP_IN_FLIGHT


def _cancel_planned(plan: FirePlan) -> None:
    """CANCEL_OTHER within one pass: earlier fires of the same pass are superseded."""
    plan.objectives = [
        PlannedObjective(o.scheduled_time, ObjectiveStatus.CANCELLED) for o in plan.objectives
    ]
