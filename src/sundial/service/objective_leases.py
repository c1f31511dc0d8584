"""Leasing a PENDING objective to a worker: the one claim step that a worker's
ClaimObjectives and the pusher (service.pusher) share, so both leave the same RUNNING row:
worker id, lease, start time and execution deadline. And its undoing, a worker's release,
which leaves the row as the claim found it; and the checks of the lease protocol a worker's
call meets (held, expired, a repeat of the ending already recorded)."""

import logging
from datetime import datetime, timedelta
from typing import Any

from sundial.domain.clock import later
from sundial.domain.errors import FailedPreconditionError
from sundial.domain.objectives import Objective, ObjectiveStatus
from sundial.store.unit_of_work import UnitOfWork

logger = logging.getLogger("sundial.objectives")

# The worker ids of pushers (service.pusher): `push:<replica>`. Workers may not use them.
PUSH_WORKER_PREFIX = "push:"


def lease_objective(
    uow: UnitOfWork,
    objective: Objective,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    timeout: timedelta | None,
) -> None:
    """Makes a PENDING objective RUNNING for `worker_id` until `now + lease`, due to end
    by its schedule's execution `timeout` (if any)."""
    values: dict[str, Any] = {
        "status": ObjectiveStatus.RUNNING,
        "worker_id": worker_id,
        "lease_expires_at": now + lease,
        "started_at": now,
        "deadline": later(now, timeout) if timeout else None,
    }
    uow.objectives.update(objective.metadata.id, now, **values)


def release_lease(uow: UnitOfWork, objective_id: str, worker_id: str, now: datetime) -> bool:
    """Makes an objective `worker_id` holds at `now` PENDING again, as before its claim: no
    worker, lease, start time or deadline; its attempt and available_at stay, so it is the
    next one claimed. Returns False, changing nothing, when the lease is not held."""
    return uow.objectives.update_leased(
        objective_id,
        worker_id,
        now,
        status=ObjectiveStatus.PENDING,
        worker_id="",
        lease_expires_at=None,
        started_at=None,
        deadline=None,
    )


def execution_timeout(uow: UnitOfWork, objective: Objective) -> timedelta | None:
    """The objective's schedule's execution_timeout. A stored schedule that cannot be read
    (values no longer accepted) gives none: it must not fail the claim of other objectives."""
    try:
        schedule = uow.schedules.get(objective.metadata.workspace_id, objective.spec.schedule_id)
    except (ArithmeticError, ValueError, TypeError, KeyError) as error:
        logger.warning(
            "schedule %s of objective %s cannot be read, claimed without its "
            "execution_timeout: %s: %s",
            objective.spec.schedule_id,
            objective.metadata.id,
            type(error).__name__,
            error,
        )
        return None
    return schedule.spec.execution_timeout if schedule is not None else None


def require_held(objective: Objective, worker_id: str) -> None:
    """Refuses a worker's call on an objective that is not RUNNING for that worker."""
    if (
        objective.info.status is not ObjectiveStatus.RUNNING
        or objective.info.worker_id != worker_id
    ):
        raise FailedPreconditionError(
            f"objective {objective.metadata.id!r} is not leased to worker {worker_id!r} "
            f"(status {objective.info.status.name}); it may have timed out",
            reason="LEASE_NOT_HELD",
        )


def repeats_ending(
    objective: Objective,
    worker_id: str,
    status: ObjectiveStatus,
    *,
    output: Any = None,
    error: str = "",
) -> bool:
    """Whether a worker's Complete or Fail repeats the ending the objective recorded (its
    first answer was lost): same status, worker, output and error. Then it changes nothing."""
    info = objective.info
    return (
        info.status is status
        and info.worker_id == worker_id
        and info.output == output
        and info.error == error
    )


def lease_expired(objective_id: str, worker_id: str) -> FailedPreconditionError:
    """The refusal of a worker's call once its lease ran out (the reaper has not run yet)."""
    return FailedPreconditionError(
        f"the lease of worker {worker_id!r} on objective {objective_id!r} has expired; "
        "the objective will be timed out and, if its retry policy allows, retried",
        reason="LEASE_EXPIRED",
    )
