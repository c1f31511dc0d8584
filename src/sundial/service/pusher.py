"""The pusher (engine role): POSTs the PENDING objectives of PUSH agents to their targets
and ends each attempt from the answer, as a worker would through the claim protocol.

- Claims go through the objectives' claim path (`lease_objective`, the same RUNNING state,
  lease and deadline a worker's claim sets) under the worker id `push:<replica>`, with a
  lease of the push timeout plus a margin: on PostgreSQL `FOR UPDATE SKIP LOCKED` lets every
  replica run a pusher while each attempt is claimed, so pushed, by one; on SQLite the write
  lock serializes claims. A pusher that dies mid-push leaves a lease the reaper times out.
- The body is the objective's ProtoJSON (what GET .../objectives/{id} shows), signed per
  Standard Webhooks with the agent's secret; `webhook-id` is `<objective id>_<attempt>`,
  the same whenever that attempt is sent, so a receiver can drop a duplicate.
- A 2xx completes the objective SUCCEEDED. Its output is the response body: JSON as
  parsed, an empty body as null, any other text as one JSON string (so nothing the agent
  answered is lost). A body larger than the objective output limit fails the attempt
  without retry: sending it again would get the same answer.
- Any other status or a connection error ends the attempt FAILED, no answer within the
  timeout TIMED_OUT; both retryable under the schedule's retry policy, and a `Retry-After`
  answer (at most MAX_RETRY_AFTER) says when instead of the policy's backoff.
- An agent whose stored target cannot be sent to (no longer passes WebhookTarget's checks)
  has its objectives failed without retry, with the reason: it must not stop the claims of
  every other agent's.
- At most `concurrency` pushes run at once, on one pooled WebhookSender. The loop is woken
  whenever an objective becomes claimable (Notifier, NOTIFY on PostgreSQL): at once for a
  fire, trigger, promoted buffered fire or chain step, and at its `available_at` for a retry
  waiting on its backoff (the loop remembers when, up to MAX_WAKE_TIMES of them). Otherwise
  it looks again every POLL_INTERVAL, for a wake-up that was lost. Stopping waits for the
  pushes in flight up to a grace; one still waiting is left to its lease.
"""

import heapq
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sundial.domain.agents import PushTarget
from sundial.domain.clock import Clock
from sundial.domain.errors import UnavailableError
from sundial.domain.objectives import Objective, ObjectiveStatus
from sundial.metrics import Metrics
from sundial.service.objective_leases import (
    PUSH_WORKER_PREFIX,
    execution_timeout,
    lease_objective,
)
from sundial.service.objectives import MAX_OUTPUT_BYTES, ObjectiveService
from sundial.service.push_targets import webhook_target
from sundial.service.validation import json_size
from sundial.service.webhooks import (
    ErrorKind,
    SendOutcome,
    WebhookMessage,
    WebhookSender,
    WebhookTarget,
)
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork
from sundial.tracing import Tracing

logger = logging.getLogger("sundial.pusher")

# Beyond the push timeout: the lease covers claiming, signing and ending the attempt too.
LEASE_MARGIN = timedelta(seconds=30)
# A target asking for more is retried then anyway; as long as webhook deliveries wait.
MAX_RETRY_AFTER = timedelta(hours=6)
POLL_INTERVAL = timedelta(seconds=1)
# Retry times remembered to wake at; one beyond them is found by a poll.
MAX_WAKE_TIMES = 10_000
DEFAULT_CONCURRENCY = 8
_ERROR_BODY_CHARS = 512

ObjectiveBody = Callable[[Objective], dict[str, Any]]


@dataclass(frozen=True)
class Push:
    """One claimed attempt and what it is sent as."""

    objective: Objective
    target: WebhookTarget
    message: WebhookMessage


class Pusher:
    """Claims and sends; `push_pending` does one round (tests), `start` runs the loop."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        objectives: ObjectiveService,
        sender: WebhookSender,
        body: ObjectiveBody,
        *,
        replica_id: str,
        concurrency: int = DEFAULT_CONCURRENCY,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        """`body`: the objective's ProtoJSON (gateway.bodies.objective_json: the service
        layer cannot encode protos itself). Each claim is recorded in its objective's
        trace, as a worker's claim is."""
        self._database = database
        self._clock = clock
        self._objectives = objectives
        self._sender = sender
        self._body = body
        self.worker_id = f"{PUSH_WORKER_PREFIX}{replica_id}"
        self._concurrency = concurrency
        self._metrics = metrics or Metrics()
        self._tracing = tracing or Tracing()
        self._wake = threading.Event()
        # When retries become claimable (a heap): the loop sleeps no later than the first.
        self._wake_times: list[datetime] = []
        self._wake_lock = threading.Lock()
        self.wakes = 0  # wake-ups heard (now or for later), for tests and debugging
        self._stop = threading.Event()
        self._free = threading.Semaphore(concurrency)
        # Pushes in flight, each on a daemon thread of its own: a target that hangs must
        # not hold the process's exit (an executor's threads are joined at exit).
        self._ended = threading.Condition()
        self._in_flight = 0
        self._waiting_for_database = False
        self._thread: threading.Thread | None = None

    # --- one round ------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Push]:
        """Leases up to `limit` available objectives of PUSH agents to this pusher."""
        # Looked for first in a read: on SQLite an idle pusher would otherwise take the
        # write lock at every poll.
        with UnitOfWork(self._database, write=False) as uow:
            if not uow.objectives.any_claimable_push(self._clock.now()):
                return []
        with UnitOfWork(self._database, write=True) as uow:
            now = self._clock.now()
            claimed: list[tuple[str, str, WebhookTarget | str]] = []
            # Agents read once per claim, however many of their objectives it takes.
            targets: dict[str, tuple[PushTarget, str] | None] = {}
            for objective in uow.objectives.claimable_pushes(now, limit):
                workspace_id = objective.metadata.workspace_id
                agent_id = objective.spec.agent_id
                if agent_id not in targets:
                    targets[agent_id] = _configured_target(uow, workspace_id, agent_id)
                found = targets[agent_id]
                if found is None:
                    continue  # the agent became PULL in the meantime: its workers claim it
                timeout = execution_timeout(uow, objective)
                target = _target_or_problem(found, timeout)
                lease = (
                    target.timeout if isinstance(target, WebhookTarget) else timedelta(0)
                ) + LEASE_MARGIN
                lease_objective(uow, objective, self.worker_id, now, lease, timeout)
                claimed.append((workspace_id, objective.metadata.id, target))
            uow.commit()
            pushes = []
            unsendable = []
            for workspace_id, objective_id, target in claimed:
                leased = uow.objectives.get(workspace_id, objective_id)
                if leased is None:
                    continue
                if isinstance(target, str):
                    unsendable.append((leased, target))
                else:
                    pushes.append(Push(leased, _traced(target, leased), self._message(leased)))
        for objective, problem in unsendable:
            # Sending again would meet the same target: fail it for good, and say why.
            self._objectives.end_leased(
                objective, ObjectiveStatus.FAILED, worker_id=self.worker_id, error=problem
            )
            logger.warning("objective %s cannot be pushed: %s", objective.metadata.id, problem)
        for push in pushes:
            objective = push.objective
            self._tracing.claimed(
                objective.info.trace_parent,
                {
                    "sundial.workspace_id": objective.metadata.workspace_id,
                    "sundial.agent_id": objective.spec.agent_id,
                    "sundial.objective_id": objective.metadata.id,
                    "sundial.worker_id": self.worker_id,
                    "sundial.attempt": objective.info.attempt,
                },
            )
        return pushes

    def push(self, push: Push) -> SendOutcome:
        """Sends one claimed attempt and ends it from the answer."""
        outcome = self._sender.send(push.target, push.message)
        objective = push.objective
        status, output, error = _ending_of(outcome)
        retry_after = outcome.retry_after
        if retry_after is not None:
            retry_after = min(retry_after, MAX_RETRY_AFTER)
        ended = self._objectives.end_leased(
            objective,
            status,
            worker_id=self.worker_id,
            output=output,
            error=error,
            retryable=status is not ObjectiveStatus.SUCCEEDED and error != _TOO_LARGE,
            retry_after=retry_after,
        )
        result = _metric_outcome(outcome) if ended else "lease_lost"
        self._metrics.pushed(result, outcome.duration.total_seconds())
        logger.info(
            "pushed objective %s (attempt %d) of agent %s: %s",
            objective.metadata.id,
            objective.info.attempt,
            objective.spec.agent_id,
            outcome.detail if ended else f"{outcome.detail}; the lease was lost meanwhile",
        )
        return outcome

    def push_pending(self) -> int:
        """Claims what is available (up to the concurrency) and pushes it, one by one."""
        pushes = self.claim(self._concurrency)
        for push in pushes:
            self.push(push)
        return len(pushes)

    def _message(self, objective: Objective) -> WebhookMessage:
        return WebhookMessage(
            id=f"{objective.metadata.id}_{objective.info.attempt}",
            body=json.dumps(self._body(objective), separators=(",", ":")),
        )

    # --- the loop -------------------------------------------------------------------------

    def wake(self, _agent_ids: object = None, available_at: datetime | None = None) -> None:
        """Objectives became claimable (somewhere), or will at `available_at`: look then
        rather than at the next poll."""
        self._metrics.woken("pusher")
        with self._wake_lock:
            self.wakes += 1
            if available_at is not None and available_at > self._clock.now():
                if len(self._wake_times) >= MAX_WAKE_TIMES:
                    return
                heapq.heappush(self._wake_times, available_at)
        # Also for a later time: the loop plans its sleep again.
        self._wake.set()

    @property
    def next_wake_at(self) -> datetime | None:
        """The earliest time the loop was told objectives become claimable, still ahead."""
        with self._wake_lock:
            return self._wake_times[0] if self._wake_times else None

    def seconds_to_sleep(self) -> float:
        """Until the next poll, or the first retry time ahead if that comes sooner; none
        when a time was reached (dropped: the claim that follows sees its objectives)."""
        now = self._clock.now()
        reached = False
        with self._wake_lock:
            while self._wake_times and self._wake_times[0] <= now:
                heapq.heappop(self._wake_times)
                reached = True
            first = self._wake_times[0] if self._wake_times else None
        if reached:
            return 0.0
        poll = POLL_INTERVAL.total_seconds()
        return poll if first is None else min(poll, (first - now).total_seconds())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pusher", daemon=True)
        self._thread.start()

    def stop(self, grace: timedelta | None = None) -> None:
        """Stops claiming and waits up to `grace` (None: as long as they take, each within
        its timeout) for the pushes in flight to end their attempts. One still going after
        that is left to its lease: the reaper times it out and the retry policy applies."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        seconds = None if grace is None else grace.total_seconds()
        with self._ended:
            self._ended.wait_for(lambda: self._in_flight == 0, seconds)
            left = self._in_flight
        if left:
            logger.warning(
                "stopping with %d push(es) still waiting for an answer; their leases "
                "will run out and the reaper time them out",
                left,
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            free = self._take_free_slots()
            pushes = self._claim_in_loop(free) if free else []
            for _ in range(free - len(pushes)):
                self._free.release()
            for push in pushes:
                with self._ended:
                    self._in_flight += 1
                threading.Thread(
                    target=self._push_in_slot, args=(push,), name="pusher-push", daemon=True
                ).start()
            if free and len(pushes) == free:
                continue  # maybe more is waiting: claim again once a slot frees
            self._wake.wait(self.seconds_to_sleep())

    def _claim_in_loop(self, limit: int) -> list[Push]:
        try:
            pushes = self.claim(limit)
        except UnavailableError as error:
            if not self._waiting_for_database:
                self._waiting_for_database = True
                # INFO: the outage itself is warned of once, where it is watched.
                logger.info("pushing paused: %s", error.message)
            return []
        except Exception:
            logger.exception("claiming objectives to push failed; retrying")
            return []
        if self._waiting_for_database:
            self._waiting_for_database = False
            logger.info("pushing resumed")
        return pushes

    def _take_free_slots(self) -> int:
        """Takes every free slot (waiting for one, up to the poll interval, when none is)."""
        if not self._free.acquire(timeout=POLL_INTERVAL.total_seconds()):
            return 0
        taken = 1
        while taken < self._concurrency and self._free.acquire(blocking=False):
            taken += 1
        return taken

    def _push_in_slot(self, push: Push) -> None:
        try:
            self.push(push)
        except Exception:
            # The lease runs out and the reaper times the attempt out (and retries it).
            logger.exception("pushing objective %s failed", push.objective.metadata.id)
        finally:
            self._free.release()
            self._wake.set()
            with self._ended:
                self._in_flight -= 1
                self._ended.notify_all()


def _configured_target(
    uow: UnitOfWork, workspace_id: str, agent_id: str
) -> tuple[PushTarget, str] | None:
    """The agent's push target and secret, None unless it is (still) a PUSH agent."""
    spec = uow.agents.spec_of(workspace_id, agent_id)
    configured = None if spec is None or not spec.pushed else spec.push
    secret = uow.agents.push_secret_of(agent_id)
    return None if configured is None or not secret else (configured, secret)


def _traced(target: WebhookTarget, objective: Objective) -> WebhookTarget:
    """The target, sent the objective's trace context too (W3C `traceparent`), so that an
    instrumented agent's spans join the trace of the fire that made the objective."""
    trace_parent = objective.info.trace_parent
    if not trace_parent:
        return target
    try:
        return replace(target, headers={**target.headers, "traceparent": trace_parent})
    except ValueError:
        return target  # a stored value no header may carry: sent without it


def _target_or_problem(
    configured: tuple[PushTarget, str], execution_timeout: timedelta | None
) -> WebhookTarget | str:
    """Where to send, or why the stored target cannot be sent to (written by an older
    version, or changed in the database by hand): one bad agent must not stop the claim."""
    try:
        return webhook_target(configured[0], configured[1], execution_timeout)
    except ValueError as error:
        return f"push: the agent's push target cannot be used: {error}"


_TOO_LARGE = f"the answer is larger than the output limit of {MAX_OUTPUT_BYTES} bytes"


def _ending_of(outcome: SendOutcome) -> tuple[ObjectiveStatus, Any, str]:
    """How the attempt ends: status, output (for a success), error (for a failure)."""
    if outcome.error is ErrorKind.TIMEOUT:
        return ObjectiveStatus.TIMED_OUT, None, f"push: {outcome.detail}"
    if not outcome.succeeded:
        text = outcome.body[:_ERROR_BODY_CHARS].decode("utf-8", "replace")
        return (
            ObjectiveStatus.FAILED,
            None,
            f"push: {outcome.detail}" + (f": {text}" if text else ""),
        )
    if outcome.body_truncated:
        return ObjectiveStatus.FAILED, None, _TOO_LARGE
    output = output_of(outcome.body)
    if output is not None and json_size(output) > MAX_OUTPUT_BYTES:
        return ObjectiveStatus.FAILED, None, _TOO_LARGE
    return ObjectiveStatus.SUCCEEDED, output, ""


def output_of(body: bytes) -> Any:
    """A 2xx body as the objective's output: JSON as parsed, empty as None, other text as
    a string."""
    text = body.decode("utf-8", "replace")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _metric_outcome(outcome: SendOutcome) -> str:
    return "succeeded" if outcome.error is None else str(outcome.error)
