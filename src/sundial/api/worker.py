"""`sundial worker`: claims an agent's objectives over gRPC and runs a command for each.

The command gets the objective as ProtoJSON on stdin, and, when the server traces, the W3C
trace context of the objective's fire as TRACEPARENT in its environment. Exit 0 completes
the objective with its stdout (as JSON when it parses, else as a string); any other exit
fails it, retryable, with its stderr. While it runs, the lease is kept alive with heartbeats.
Stopped (SIGTERM), it lets the running command finish within a grace, then releases
(ReleaseObjective) what it could not finish, for another worker to claim at once.

It survives the server: a call that fails for a reason that may pass (UNAVAILABLE,
DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ...) is retried after a full-jitter exponential
backoff (0 .. 0.5 s x 2^n, capped at 30 s) or the server's RetryInfo delay, with one log
line when the server stops answering and one when it answers again. Heartbeats go on
through an outage, and a finished command's result is reported until the server takes it.
Only errors that retrying cannot fix (a bad key, an unknown agent) end it: `WorkerError`.

The retry loop is written here rather than with a retry library (tenacity, backoff): it is
interleaved, on one thread, with supervising the command, its heartbeats and the stop
grace, which a retry decorator around one call does not model; the delay is one line.
Time, waiting and randomness are injected so that tests drive them without sleeping."""

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import duration_pb2, json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from sundial.api.client import authorized_channel
from sundial.api.worker_commands import Finished, RunningCommand, start_subprocess
from sundial.v1 import objective_pb2, objective_service_pb2, objective_service_pb2_grpc

logger = logging.getLogger("sundial.worker")
MAX_REPORTED_ERROR = 4000
MIN_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
# Heartbeats, completions and failures answer at once when the server is up.
RPC_TIMEOUT_SECONDS = 10.0
# How often a running command is checked for a stop request.
STOP_CHECK_SECONDS = 0.5

# Codes a later call may not meet: the server restarting or overloaded, a network blip.
_RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,
    }
)
# The key or its grants are wrong: nothing this worker does next can succeed.
_DENIED = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
# The gRPC channel's own reconnection backoff (defaults 1 s growing to 120 s) would keep
# failing calls for up to two minutes after the server is back.
_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.min_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


class WorkerError(Exception):
    """An error that retrying cannot fix (a bad key, an unknown agent or workspace)."""

    def __init__(self, doing: str, error: grpc.RpcError) -> None:
        code, details = _code_of(error), _details_of(error)
        super().__init__(f"{doing}: {code.name}: {details}")
        self.code = code


class _LeaseLostError(Exception):
    """The server no longer holds the objective for this worker."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    target: str
    # The key the worker authenticates with (a worker-role key is enough).
    api_key: str = field(repr=False)
    workspace_id: str
    agent_id: str
    worker_id: str
    command: Sequence[str]
    lease_seconds: int = 60
    wait_seconds: int = 20
    max_objectives: int = 1
    # After a stop request, how long the running command may take to finish.
    stop_grace_seconds: float = 30.0


def command_environment(objective: objective_pb2.Objective) -> dict[str, str]:
    """What a command gets on top of the worker's environment: TRACEPARENT, the W3C trace
    context of the objective's fire (when the server traces), which OpenTelemetry's
    environment-variable propagation reads, so the command's spans continue that trace."""
    trace_parent = objective.info.trace_parent
    return {"TRACEPARENT": trace_parent} if trace_parent else {}


def _wait_for(event: threading.Event, seconds: float) -> bool:
    return event.wait(seconds)


class _Link:
    """Whether the server answers; says so once per change, not at every retry."""

    def __init__(self, target: str) -> None:
        self._target = target
        self.up: bool | None = None

    def answered(self) -> None:
        if self.up is not True:
            logger.info("connected to %s", self._target)
        self.up = True

    def failed(self, error: grpc.RpcError) -> None:
        if self.up is not False:
            logger.warning(
                "server %s is not answering (%s: %s); retrying with backoff",
                self._target,
                _code_of(error).name,
                _details_of(error),
            )
        self.up = False


class Worker:
    def __init__(
        self,
        options: WorkerOptions,
        *,
        stub: objective_service_pb2_grpc.ObjectiveServiceStub | None = None,
        start: Callable[[Sequence[str], str, Mapping[str, str]], RunningCommand] = start_subprocess,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[threading.Event, float], bool] = _wait_for,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        """`stub`, `start`, `clock`, `wait` and `jitter` are for tests: by default a channel
        to `options.target`, real subprocesses, time and randomness."""
        self._options = options
        self._channel: grpc.Channel | None = None
        if stub is None:
            self._channel = authorized_channel(
                options.target, options.api_key, options=_CHANNEL_OPTIONS
            )
            stub = objective_service_pb2_grpc.ObjectiveServiceStub(self._channel)
        self._stub = stub
        self._start = start
        self._clock = clock
        self._wait = wait
        self._jitter = jitter
        self._link = _Link(options.target)
        self._stop = threading.Event()
        self._never = threading.Event()
        self._stop_deadline = float("inf")
        self._beat_interval = max(options.lease_seconds / 3, 1.0)

    def stop(self) -> None:
        """Stops claiming; the running command gets `stop_grace_seconds` to finish (safe to
        call from a signal handler)."""
        if not self._stop.is_set():
            self._stop_deadline = self._clock() + self._options.stop_grace_seconds
            self._stop.set()

    def run(self, *, once: bool = False) -> int:
        """Claims and runs objectives until stopped (or, with `once`, one claim round);
        returns how many objectives it ran. Raises WorkerError for what retrying cannot fix."""
        ran = 0
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    claimed = self._claim()
                except grpc.RpcError as error:
                    if _code_of(error) not in _RETRYABLE:
                        raise WorkerError("cannot claim objectives", error) from None
                    self._link.failed(error)
                    failures += 1
                    self._wait(self._stop, self._delay(failures, error))
                    continue
                self._link.answered()
                failures = 0
                for objective in claimed:
                    self._run_one(objective)
                    ran += 1
                if once:
                    break
        finally:
            if self._channel is not None:
                self._channel.close()
        return ran

    def _claim(self) -> list[objective_pb2.Objective]:
        options = self._options
        # Back from an outage (or just started): answer at once, so that "connected" is
        # said when it is true, not after a long poll.
        wait = options.wait_seconds if self._link.up else 0
        request = objective_service_pb2.ClaimObjectivesRequest(
            workspace_id=options.workspace_id,
            agent_id=options.agent_id,
            worker_id=options.worker_id,
            max_objectives=options.max_objectives,
            wait=duration_pb2.Duration(seconds=wait),
            lease_duration=duration_pb2.Duration(seconds=options.lease_seconds),
        )
        return list(self._stub.ClaimObjectives(request, timeout=wait + 30).objectives)

    def _run_one(self, objective: objective_pb2.Objective) -> None:
        objective_id = objective.metadata.id
        if self._past_grace():
            # Claimed by a long poll that answered after the grace: never started.
            self._hand_back(objective_id, "the stop grace ended before it could start")
            return
        command = self._start(
            self._options.command,
            json_format.MessageToJson(objective),
            command_environment(objective),
        )
        try:
            finished = self._supervise(objective_id, command)
        except BaseException:
            command.kill()
            raise
        if finished is not None:
            self._report(objective_id, finished)

    def _supervise(self, objective_id: str, command: RunningCommand) -> Finished | None:
        """Waits for the command, heartbeating; None when it was stopped (the stop grace
        ended, or the lease was lost) and its result is not to be reported."""
        next_beat = self._clock() + self._beat_interval
        failures = 0
        announced = False
        while True:
            now = self._clock()
            if self._stop.is_set() and not announced:
                announced = True
                logger.info(
                    "stopping: objective %s has %.0f s to finish",
                    objective_id,
                    max(self._stop_deadline - now, 0),
                )
            if self._past_grace():
                command.kill()
                self._hand_back(objective_id, "its command did not finish within the grace")
                return None
            if now >= next_beat:
                try:
                    unanswered = self._heartbeat(objective_id)
                except _LeaseLostError:
                    command.kill()
                    return None
                delay = self._beat_interval
                failures = 0 if unanswered is None else failures + 1
                if unanswered is not None:
                    # Sooner than the usual interval: the lease is running out.
                    delay = min(self._delay(failures, unanswered), delay)
                now = self._clock()
                next_beat = now + delay
            timeout = min(next_beat - now, self._stop_deadline - now, STOP_CHECK_SECONDS)
            finished = command.wait(max(timeout, 0.01))
            if finished is not None:
                return finished

    def _heartbeat(self, objective_id: str) -> grpc.RpcError | None:
        """Renews the lease; the error when the server did not answer (worth retrying soon);
        raises _LeaseLostError when the lease is gone (the server times the objective out)."""
        request = objective_service_pb2.HeartbeatObjectiveRequest(
            **self._ids(objective_id),
            lease_duration=duration_pb2.Duration(seconds=self._options.lease_seconds),
        )
        try:
            self._stub.HeartbeatObjective(request, timeout=RPC_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            code = _code_of(error)
            if code in _RETRYABLE:
                self._link.failed(error)
                return error
            if code in _DENIED:
                raise WorkerError(f"cannot heartbeat objective {objective_id}", error) from None
            logger.warning(
                "lost the lease on objective %s (%s: %s): stopped its command; the server "
                "times it out and retries it as its retry policy allows",
                objective_id,
                code.name,
                _details_of(error),
            )
            raise _LeaseLostError from None
        self._link.answered()
        return None

    def _report(self, objective_id: str, finished: Finished) -> None:
        """Completes or fails the objective, retrying until the server takes the result.

        A repeat of a CompleteObjective or FailObjective the server took answers OK, with
        nothing written twice. A server from before that answers FAILED_PRECONDITION (the
        lease is no longer held): after an attempt cut off by an outage, that answer may mean
        the earlier attempt went through, so the objective is read to tell."""
        ids = self._ids(objective_id)
        request: Any
        if finished.returncode == 0:
            request = objective_service_pb2.CompleteObjectiveRequest(
                **ids, output=_output(finished.stdout)
            )
        else:
            request = _failure(ids, finished)
        cut_off = False
        failures = 0
        while True:
            completing = isinstance(request, objective_service_pb2.CompleteObjectiveRequest)
            call = self._stub.CompleteObjective if completing else self._stub.FailObjective
            try:
                call(request, timeout=RPC_TIMEOUT_SECONDS)
            except grpc.RpcError as error:
                code = _code_of(error)
                if code in _RETRYABLE:
                    self._link.failed(error)
                    cut_off = True
                    failures += 1
                    if not self._pause_before_report(objective_id, failures, error):
                        return
                    continue
                if code in _DENIED:
                    raise WorkerError(f"cannot report objective {objective_id}", error) from None
                if code is grpc.StatusCode.INVALID_ARGUMENT and completing:
                    # The output itself was refused (too large, say): a retry would be too.
                    why = f"the server refused the command's output: {_details_of(error)}"
                    request = objective_service_pb2.FailObjectiveRequest(
                        **ids, error=why[:MAX_REPORTED_ERROR], retryable=False
                    )
                    continue
                if code is grpc.StatusCode.FAILED_PRECONDITION and cut_off:
                    self._confirm(objective_id, completing, error)
                    return
                logger.warning(
                    "could not report objective %s: %s: %s",
                    objective_id,
                    code.name,
                    _details_of(error),
                )
                return
            self._link.answered()
            _log_outcome(objective_id, completing, finished)
            return

    def _pause_before_report(self, objective_id: str, failures: int, error: grpc.RpcError) -> bool:
        """Waits before reporting again; False when the stop grace is over (then gives up).
        Never longer than a heartbeat interval: the lease runs out while the report waits."""
        delay = min(self._delay(failures, error), self._beat_interval)
        if self._stop.is_set():
            remaining = self._stop_deadline - self._clock()
            if remaining <= 0:
                self._hand_back(objective_id, "its result could not be reported within the grace")
                return False
            self._wait(self._never, min(delay, remaining))
        else:
            self._wait(self._stop, delay)
        return True

    def _confirm(self, objective_id: str, completing: bool, refusal: grpc.RpcError) -> None:
        expected = (
            objective_pb2.OBJECTIVE_STATUS_SUCCEEDED
            if completing
            else objective_pb2.OBJECTIVE_STATUS_FAILED
        )
        request = objective_service_pb2.GetObjectiveRequest(
            workspace_id=self._options.workspace_id,
            agent_id=self._options.agent_id,
            objective_id=objective_id,
        )
        try:
            objective = self._stub.GetObjective(request, timeout=RPC_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            logger.warning(
                "objective %s: the server no longer holds it for this worker (%s); the earlier "
                "report, cut off by the outage, may have been taken (the key cannot read "
                "objectives to tell: %s)",
                objective_id,
                _details_of(refusal),
                _code_of(error).name,
            )
            return
        info = objective.info
        if info.status == expected and info.worker_id == self._options.worker_id:
            logger.info(
                "objective %s %s (the server took the report before the connection broke)",
                objective_id,
                "succeeded" if completing else "failed",
            )
        else:
            logger.warning(
                "could not report objective %s: %s: %s (it is %s)",
                objective_id,
                _code_of(refusal).name,
                _details_of(refusal),
                objective_pb2.ObjectiveStatus.Name(info.status),
            )

    def _hand_back(self, objective_id: str, why: str) -> None:
        """Releases an objective this worker will not finish, so that another worker claims
        it at once; once, without retrying: the stop grace is over."""
        request = objective_service_pb2.ReleaseObjectiveRequest(**self._ids(objective_id))
        try:
            self._stub.ReleaseObjective(request, timeout=RPC_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            logger.warning(
                "handing back objective %s: %s. It could not be released (%s: %s), so its "
                "lease lapses (within %d s) and the server times it out and retries it as "
                "its retry policy allows",
                objective_id,
                why,
                _code_of(error).name,
                _details_of(error),
                self._options.lease_seconds,
            )
            return
        logger.warning(
            "handing back objective %s: %s. Released: it is PENDING again for another worker",
            objective_id,
            why,
        )

    def _past_grace(self) -> bool:
        return self._stop.is_set() and self._clock() >= self._stop_deadline

    def _delay(self, failures: int, error: grpc.RpcError) -> float:
        """The server's RetryInfo delay when it gives one, else full jitter."""
        hinted = _retry_delay(error)
        if hinted is not None:
            return hinted
        ceiling = min(MAX_BACKOFF_SECONDS, MIN_BACKOFF_SECONDS * 2 ** min(failures - 1, 16))
        return self._jitter(0.0, ceiling)

    def _ids(self, objective_id: str) -> dict[str, str]:
        return {
            "workspace_id": self._options.workspace_id,
            "agent_id": self._options.agent_id,
            "objective_id": objective_id,
            "worker_id": self._options.worker_id,
        }


def _failure(ids: dict[str, str], finished: Finished) -> objective_service_pb2.FailObjectiveRequest:
    error = (finished.stderr or f"exit code {finished.returncode}")[-MAX_REPORTED_ERROR:]
    return objective_service_pb2.FailObjectiveRequest(**ids, error=error, retryable=True)


def _log_outcome(objective_id: str, completing: bool, finished: Finished) -> None:
    if completing and finished.returncode == 0:
        logger.info("objective %s succeeded", objective_id)
    else:
        logger.warning("objective %s failed: exit code %d", objective_id, finished.returncode)


def _output(stdout: str) -> struct_pb2.Value:
    value = struct_pb2.Value()
    parsed: Any
    try:
        parsed = json.loads(stdout)
    except ValueError:
        parsed = stdout
    json_format.ParseDict(parsed, value)
    return value


def _code_of(error: grpc.RpcError) -> grpc.StatusCode:
    code = error.code() if isinstance(error, grpc.Call) else None
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _details_of(error: grpc.RpcError) -> str:
    return (error.details() if isinstance(error, grpc.Call) else None) or str(error)


def _retry_delay(error: grpc.RpcError) -> float | None:
    """The delay of the RetryInfo the server attached (RESOURCE_EXHAUSTED, UNAVAILABLE)."""
    if not isinstance(error, grpc.Call):
        return None
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # a status that contradicts the call's code or message
        return None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return max(info.retry_delay.ToTimedelta().total_seconds(), 0.0)
    return None
