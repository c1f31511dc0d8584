"""Leasing a PENDING objective to a worker: the one claim step that a worker's
ClaimObjectives and the pusher (service.pusher) share, so both leave the same RUNNING row:
worker id, lease, start time and execution deadline."""

import logging
from datetime import datetime, timedelta
from typing import Any

from sundial.domain.clock import later
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
