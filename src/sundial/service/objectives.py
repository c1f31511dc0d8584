"""Objective use cases: list, get, cancel, and the worker protocol (claim, heartbeat,
complete, fail, release), plus the reaper that times out expired leases. Finishing an attempt
ends its row here and hands the rest (retry policy, failure pause, buffered-fire promotion,
chain steps, outbox events) to objective_endings, in the same transaction. A worker's
Complete or Fail that repeats the ending already recorded (its answer was lost) changes
nothing and answers the objective, so that workers may retry them."""

import logging
import time
from datetime import timedelta
from typing import Any

from sundial.domain.clock import Clock
from sundial.domain.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from sundial.domain.listing import Page
from sundial.domain.objectives import Objective, ObjectiveStatus, TriggerKind
from sundial.domain.principals import Principal
from sundial.metrics import Metrics
from sundial.service.agents import require_agent
from sundial.service.chain_steps import ChainSteps
from sundial.service.filtering import enum_value
from sundial.service.listing import ALL_AGENTS, page_of, prepare_query
from sundial.service.notifier import Notifier
from sundial.service.objective_endings import Ending, EndingWriter, report_ending
from sundial.service.objective_leases import (
    PUSH_WORKER_PREFIX,
    execution_timeout,
    lease_expired,
    lease_objective,
    release_lease,
    repeats_ending,
    require_held,
)
from sundial.service.outbox import Outbox
from sundial.service.pagination import PageRequest
from sundial.service.tenancy import require_workspace
from sundial.service.validation import json_size
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork
from sundial.tracing import Tracing

logger = logging.getLogger("sundial.objectives")

DEFAULT_LEASE = timedelta(seconds=60)
MAX_LEASE = timedelta(hours=1)
MAX_WAIT = timedelta(seconds=60)
MAX_CLAIM = 100
MAX_OUTPUT_BYTES = 256 * 1024
MAX_ERROR_LENGTH = 4096
_REAP_BATCH = 500
# A waiting claimer re-checks at least this often: retries become available by time alone.
_POLL_SLICE_SECONDS = 1.0


_FILTERABLE = {
    "schedule_id": None,
    "status": enum_value(ObjectiveStatus, "OBJECTIVE_STATUS_"),
    "trigger_kind": enum_value(TriggerKind, "TRIGGER_KIND_"),
    "chain_run_id": None,
}


class ObjectiveService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        notifier: Notifier,
        *,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        outbox: Outbox | None = None,
        chains: ChainSteps | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._notifier = notifier
        self._metrics = metrics or Metrics()
        outbox = outbox or Outbox()
        # What an ending causes (retries, chain steps, outbox events) is written in its
        # transaction.
        self._endings = EndingWriter(outbox, chains or ChainSteps(outbox))
        # Each claim is recorded in its objective's trace (the one its fire started).
        self._tracing = tracing or Tracing()

    def pending_by_agent(self) -> dict[str, int]:
        """How many objectives wait for a worker, by agent id (every workspace's)."""
        with UnitOfWork(self._database, write=False) as uow:
            return uow.objectives.pending_by_agent()

    # --- reads and cancel -----------------------------------------------------------------

    def list_objectives(
        self, principal: Principal, workspace_id: str, agent_id: str, request: PageRequest
    ) -> Page[Objective]:
        scope_agent = "" if agent_id in ("", ALL_AGENTS) else agent_id
        prepared = prepare_query(
            request, _FILTERABLE, scope=("objectives", workspace_id, scope_agent), newest_first=True
        )
        with UnitOfWork(self._database, write=False) as uow:
            if scope_agent:
                require_agent(uow, principal, workspace_id, scope_agent)
            else:
                require_workspace(uow, principal, workspace_id)
            return page_of(
                prepared, uow.objectives.list_page(workspace_id, scope_agent, prepared.query)
            )

    def get(
        self, principal: Principal, workspace_id: str, agent_id: str, objective_id: str
    ) -> Objective:
        with UnitOfWork(self._database, write=False) as uow:
            return _require_objective(uow, principal, workspace_id, agent_id, objective_id)

    def cancel(
        self, principal: Principal, workspace_id: str, agent_id: str, objective_id: str, reason: str
    ) -> Objective:
        with UnitOfWork(self._database, write=True) as uow:
            objective = _require_objective(
                uow, principal, workspace_id, agent_id, objective_id, for_update=True
            )
            if objective.info.status.final:
                raise FailedPreconditionError(
                    f"objective {objective_id!r} already ended as {objective.info.status.name}",
                    reason="OBJECTIVE_FINISHED",
                )
            ending = self._finish(
                uow, objective, ObjectiveStatus.CANCELLED, error=reason or "cancelled"
            )
            uow.commit()
        self._ended(ending)
        return self.get(principal, workspace_id, agent_id, objective_id)

    # --- the worker protocol --------------------------------------------------------------

    def claim(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        *,
        worker_id: str,
        max_objectives: int = 1,
        wait: timedelta | None = None,
        lease: timedelta | None = None,
    ) -> list[Objective]:
        """Leases up to `max_objectives` PENDING objectives to `worker_id`, waiting up to
        `wait` for one when none is pending (not once `stop_waiting` was called: then the
        claim answers at once, with what is pending or nothing)."""
        _check_worker(worker_id)
        limit = max_objectives or 1
        if not 1 <= limit <= MAX_CLAIM:
            raise InvalidArgumentError.single(
                "max_objectives", f"must be 0-{MAX_CLAIM}, got {limit}"
            )
        lease = _check_lease(lease)
        wait = wait or timedelta(0)
        if not timedelta(0) <= wait <= MAX_WAIT:
            raise InvalidArgumentError.single("wait", f"wait must be 0-{MAX_WAIT.seconds}s")
        deadline = time.monotonic() + wait.total_seconds()
        while True:
            claimed = self._claim_once(principal, workspace_id, agent_id, worker_id, limit, lease)
            remaining = deadline - time.monotonic()
            if claimed or remaining <= 0 or self._notifier.waits_ended:
                return claimed
            self._notifier.wait_for_objectives(agent_id, min(remaining, _POLL_SLICE_SECONDS))

    def stop_waiting(self) -> None:
        """Shutdown: every claim waiting for objectives claims what is pending now (perhaps
        nothing) and answers, and later claims do not wait; so the server's in-flight calls
        end in moments, and workers call again (elsewhere) with a normal answer in hand."""
        self._notifier.end_waits()

    def _claim_once(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        worker_id: str,
        limit: int,
        lease: timedelta,
    ) -> list[Objective]:
        with UnitOfWork(self._database, write=True) as uow:
            agent = require_agent(uow, principal, workspace_id, agent_id)
            if agent.spec.pushed:
                raise FailedPreconditionError(
                    f"agent {agent_id!r} is a PUSH agent: Sundial posts its objectives to "
                    "its spec.push.url, and workers cannot claim them",
                    reason="AGENT_IS_PUSH",
                )
            now = self._clock.now()
            found = uow.objectives.claimable(agent_id, now, limit)
            claimed = []
            for objective in found:
                timeout = execution_timeout(uow, objective)
                lease_objective(uow, objective, worker_id, now, lease, timeout)
                claimed.append(objective.metadata.id)
            uow.commit()
            objectives = [
                o for o in (uow.objectives.get(workspace_id, i) for i in claimed) if o is not None
            ]
        for claimed_objective in objectives:
            self._tracing.claimed(
                claimed_objective.info.trace_parent,
                {
                    "sundial.workspace_id": workspace_id,
                    "sundial.agent_id": agent_id,
                    "sundial.objective_id": claimed_objective.metadata.id,
                    "sundial.worker_id": worker_id,
                    "sundial.attempt": claimed_objective.info.attempt,
                },
            )
        return objectives

    def heartbeat(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        objective_id: str,
        *,
        worker_id: str,
        lease: timedelta | None = None,
    ) -> Objective:
        lease = _check_lease(lease)
        with UnitOfWork(self._database, write=True) as uow:
            self._held(uow, principal, workspace_id, agent_id, objective_id, worker_id)
            now = self._clock.now()
            if not uow.objectives.update_leased(
                objective_id, worker_id, now, lease_expires_at=now + lease
            ):
                raise lease_expired(objective_id, worker_id)
            uow.commit()
        return self.get(principal, workspace_id, agent_id, objective_id)

    def complete(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        objective_id: str,
        *,
        worker_id: str,
        output: Any = None,
    ) -> Objective:
        if output is not None and json_size(output) > MAX_OUTPUT_BYTES:
            raise InvalidArgumentError.single(
                "output", f"output is larger than {MAX_OUTPUT_BYTES} bytes"
            )
        return self._end_as_worker(
            principal,
            (workspace_id, agent_id, objective_id),
            worker_id,
            ObjectiveStatus.SUCCEEDED,
            output=output,
        )

    def fail(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        objective_id: str,
        *,
        worker_id: str,
        error: str = "",
        retryable: bool = False,
    ) -> Objective:
        return self._end_as_worker(
            principal,
            (workspace_id, agent_id, objective_id),
            worker_id,
            ObjectiveStatus.FAILED,
            error=error[:MAX_ERROR_LENGTH],
            retryable=retryable,
        )

    def _end_as_worker(
        self,
        principal: Principal,
        path: tuple[str, str, str],
        worker_id: str,
        status: ObjectiveStatus,
        *,
        output: Any = None,
        error: str = "",
        retryable: bool = False,
    ) -> Objective:
        """A worker's Complete or Fail of the objective at `path` (workspace, agent, id): a
        repeat of the ending already recorded answers the objective unchanged."""
        with UnitOfWork(self._database, write=True) as uow:
            objective = self._worker_objective(uow, principal, *path, worker_id)
            if repeats_ending(objective, worker_id, status, output=output, error=error):
                return objective
            require_held(objective, worker_id)
            ending = self._finish(
                uow,
                objective,
                status,
                output=output,
                error=error,
                retryable=retryable,
                held_by=worker_id,
            )
            uow.commit()
        self._ended(ending)
        return self.get(principal, *path)

    def release(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        objective_id: str,
        *,
        worker_id: str,
    ) -> Objective:
        """Gives the objective `worker_id` holds back: PENDING again at once, with no attempt
        or failure counted, and the agent's waiting claimers are woken."""
        with UnitOfWork(self._database, write=True) as uow:
            objective = self._held(uow, principal, workspace_id, agent_id, objective_id, worker_id)
            if not release_lease(uow, objective_id, worker_id, self._clock.now()):
                raise lease_expired(objective_id, worker_id)
            uow.commit()
        logger.info(
            "worker %s released objective %s of schedule %s",
            worker_id,
            objective_id,
            objective.spec.schedule_id,
            extra={
                "objective_id": objective_id,
                "schedule_id": objective.spec.schedule_id,
                "agent_id": objective.spec.agent_id,
                "workspace_id": workspace_id,
                "event": "release",
            },
        )
        self._notifier.objectives_available([objective.spec.agent_id])
        return self.get(principal, workspace_id, agent_id, objective_id)

    def end_leased(
        self,
        objective: Objective,
        status: ObjectiveStatus,
        *,
        worker_id: str,
        output: Any = None,
        error: str = "",
        retryable: bool = False,
        retry_after: timedelta | None = None,
    ) -> bool:
        """Ends an attempt the engine itself holds (the pusher's), as complete and fail do
        a worker's; `retry_after` (the target's wish) replaces the retry policy's backoff.
        Returns False, changing nothing, when the lease was lost (the reaper ends it)."""
        with UnitOfWork(self._database, write=True) as uow:
            try:
                ending = self._finish(
                    uow,
                    objective,
                    status,
                    output=output,
                    error=error[:MAX_ERROR_LENGTH],
                    retryable=retryable,
                    held_by=worker_id,
                    retry_after=retry_after,
                )
            except FailedPreconditionError:
                return False
            uow.commit()
        self._ended(ending)
        return True

    def reap(self) -> int:
        """Times out RUNNING objectives whose lease or execution deadline passed (retryable)."""
        with UnitOfWork(self._database, write=True) as uow:
            now = self._clock.now()
            expired = uow.objectives.expired(now, _REAP_BATCH)
            endings = []
            for objective in expired:
                lease_over = (
                    objective.info.lease_expires_at is not None
                    and objective.info.lease_expires_at < now
                )
                why = (
                    "lease expired without a heartbeat"
                    if lease_over
                    else "execution_timeout passed"
                )
                endings.append(
                    self._finish(
                        uow, objective, ObjectiveStatus.TIMED_OUT, error=why, retryable=True
                    )
                )
            uow.commit()
        for ending in endings:
            self._ended(ending)
        return len(expired)

    # --- finishing an attempt -------------------------------------------------------------

    def _ended(self, ending: Ending) -> None:
        """Once the ending's transaction committed: its metrics and log, and the workers
        (and the pusher) of what it made claimable are woken: the chain nodes it started,
        the buffered fire it promoted, its retry (at the retry's time)."""
        report_ending(ending, self._metrics)
        if ending.started_agents:
            self._notifier.objectives_available(sorted(ending.started_agents))
        if ending.retry_at is not None:
            retry_at = ending.retry_at if ending.retry_at > self._clock.now() else None
            self._notifier.objectives_available([ending.objective.spec.agent_id], retry_at)

    def _finish(
        self,
        uow: UnitOfWork,
        objective: Objective,
        status: ObjectiveStatus,
        *,
        error: str = "",
        output: Any = None,
        retryable: bool = False,
        held_by: str = "",
        retry_after: timedelta | None = None,
    ) -> Ending:
        """Ends the attempt; `held_by`, a worker's finish, requires its lease to hold still.
        Returns how it ended, for `_ended` to tell once the transaction committed."""
        now = self._clock.now()
        values: dict[str, Any] = {
            "status": status,
            "completed_at": now,
            "error": error,
            "output": output,
        }
        if not held_by:
            uow.objectives.update(objective.metadata.id, now, **values)
        elif not uow.objectives.update_leased(objective.metadata.id, held_by, now, **values):
            raise lease_expired(objective.metadata.id, held_by)
        return self._endings.write(
            uow, objective, status, now, error=error, retryable=retryable, retry_after=retry_after
        )

    def _held(
        self,
        uow: UnitOfWork,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        objective_id: str,
        worker_id: str,
    ) -> Objective:
        objective = self._worker_objective(
            uow, principal, workspace_id, agent_id, objective_id, worker_id
        )
        require_held(objective, worker_id)
        return objective

    def _worker_objective(
        self,
        uow: UnitOfWork,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        objective_id: str,
        worker_id: str,
    ) -> Objective:
        """The objective a worker's call names, locked, whoever holds it."""
        _check_worker(worker_id)
        return _require_objective(
            uow, principal, workspace_id, agent_id, objective_id, for_update=True
        )


def _require_objective(
    uow: UnitOfWork,
    principal: Principal,
    workspace_id: str,
    agent_id: str,
    objective_id: str,
    *,
    for_update: bool = False,
) -> Objective:
    require_workspace(uow, principal, workspace_id)
    objective = uow.objectives.get(workspace_id, objective_id, for_update=for_update)
    if objective is None or agent_id not in (objective.spec.agent_id, ALL_AGENTS):
        raise NotFoundError("objective", objective_id)
    return objective


def _check_worker(worker_id: str) -> None:
    if not worker_id or len(worker_id) > 256:
        raise InvalidArgumentError.single(
            "worker_id", "worker_id is required (at most 256 characters)"
        )
    if worker_id.startswith(PUSH_WORKER_PREFIX):
        # A worker must not heartbeat, complete or fail an attempt a pusher holds.
        raise InvalidArgumentError.single(
            "worker_id",
            f"worker ids starting with {PUSH_WORKER_PREFIX!r} are Sundial's pushers'",
        )


def _check_lease(lease: timedelta | None) -> timedelta:
    if lease is None or lease == timedelta(0):
        return DEFAULT_LEASE
    if not timedelta(seconds=1) <= lease <= MAX_LEASE:
        raise InvalidArgumentError.single("lease_duration", "lease_duration must be 1s-1h")
    return lease
