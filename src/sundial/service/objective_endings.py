"""What an objective's ending tells the operator, once its transaction committed: the
metrics it moves (the outbox's decisions among them) and its log line (timeout, retry,
final failure, auto-pause)."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sundial.domain.objectives import Objective, ObjectiveStatus
from sundial.metrics import Metrics
from sundial.service.outbox import OutboxReport

# The objective service's logger: these lines are its events.
logger = logging.getLogger("sundial.objectives")


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
    # The agents of the chain nodes its end started (their workers are woken).
    started_agents: frozenset[str] = frozenset()


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
