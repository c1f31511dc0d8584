"""The worker's survival rules on a scripted fake ObjectiveService, fake commands and fake
time (nothing sleeps): backoff with full jitter and RetryInfo, one log line per change of
the server's state, heartbeats through an outage, results reported until taken (and never
twice), the stop grace, and the errors that retrying cannot fix."""

import logging
import sys
from collections.abc import Callable
from datetime import timedelta

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from sundial.api.worker import MAX_BACKOFF_SECONDS, Worker, WorkerError, WorkerOptions
from sundial.api.worker_commands import Finished, start_subprocess
from sundial.v1 import objective_pb2, objective_service_pb2

WORKER_ID = "w1"
LEASE = 30  # heartbeats every 10 s


class FakeRpcError(grpc.RpcError, grpc.Call):
    def __init__(self, code: grpc.StatusCode, details: str = "", retry_after: float = 0) -> None:
        self._code, self._details = code, details or code.name.lower()
        self._trailing: tuple[tuple[str, bytes], ...] = ()
        if retry_after:
            retry = error_details_pb2.RetryInfo()
            retry.retry_delay.FromTimedelta(timedelta(seconds=retry_after))
            packed = any_pb2.Any()
            packed.Pack(retry)
            status = status_pb2.Status(code=code.value[0], message=self._details, details=[packed])
            self._trailing = (("grpc-status-details-bin", status.SerializeToString()),)

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailing

    def initial_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


def down(details: str = "failed to connect to all addresses") -> FakeRpcError:
    return FakeRpcError(grpc.StatusCode.UNAVAILABLE, details)


class FakeTime:
    """A monotonic clock that moves only when the worker waits; `at` runs an action once
    the clock passes a moment (a SIGTERM, say)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self._actions: list[tuple[float, Callable[[], None]]] = []

    def clock(self) -> float:
        return self.now

    def at(self, moment: float, action: Callable[[], None]) -> None:
        self._actions.append((moment, action))
        self._actions.sort(key=lambda pair: pair[0])

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while self._actions and self._actions[0][0] <= end:
            moment, action = self._actions.pop(0)
            self.now = max(self.now, moment)
            action()
        self.now = end

    def wait(self, event, seconds: float) -> bool:
        self.waits.append(seconds)
        if not event.is_set():
            self.advance(seconds)
        return event.is_set()


class FakeCommand:
    def __init__(self, time: FakeTime, runs_for: float, finished: Finished) -> None:
        self._time, self._ends_at, self._finished = time, time.now + runs_for, finished
        self.killed = False
        self.stdin = ""
        self.environment: dict[str, str] = {}

    def wait(self, timeout: float) -> Finished | None:
        if self.killed:
            raise AssertionError("waited for a killed command")
        if self._time.now + timeout >= self._ends_at:
            self._time.advance(max(self._ends_at - self._time.now, 0))
            return self._finished
        self._time.advance(timeout)
        return None

    def kill(self) -> None:
        self.killed = True


class FakeStub:
    """Each RPC answers from its script in turn (an exception is raised, a callable is
    called, anything else returned); past its script, a claim stops the worker and answers
    nothing, other RPCs answer an empty Objective."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[object]] = {}
        self.calls: list[tuple[str, object, float | None]] = []
        self.when_drained: Callable[[], None] = lambda: None
        for name in (
            "ClaimObjectives",
            "HeartbeatObjective",
            "CompleteObjective",
            "FailObjective",
            "GetObjective",
            "ReleaseObjective",
        ):
            setattr(self, name, self._rpc(name))

    def _rpc(self, name: str):
        def call(request, timeout=None):
            self.calls.append((name, request, timeout))
            script = self.scripts.get(name, [])
            if not script:
                if name == "ClaimObjectives":
                    self.when_drained()
                    return objective_service_pb2.ClaimObjectivesResponse()
                return objective_pb2.Objective()
            answer = script.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer() if callable(answer) else answer

        return call

    def names(self, name: str) -> list[object]:
        return [request for called, request, _ in self.calls if called == name]


def claimed(*ids: str) -> objective_service_pb2.ClaimObjectivesResponse:
    response = objective_service_pb2.ClaimObjectivesResponse()
    for objective_id in ids:
        response.objectives.add().metadata.id = objective_id
    return response


class Harness:
    def __init__(self, *, grace: float = 30.0, runs_for: float = 1.0, returncode: int = 0):
        self.time = FakeTime()
        self.stub = FakeStub()
        self.commands: list[FakeCommand] = []
        self.runs_for = runs_for
        self.finished = Finished(returncode, '{"ok": true}', "boom" if returncode else "")
        options = WorkerOptions(
            target="127.0.0.1:1",
            api_key="sdl_x",
            workspace_id="ws_1",
            agent_id="agent_1",
            worker_id=WORKER_ID,
            command=["true"],
            lease_seconds=LEASE,
            wait_seconds=20,
            stop_grace_seconds=grace,
        )
        self.worker = Worker(
            options,
            stub=self.stub,  # type: ignore[arg-type]
            start=self._start,
            clock=self.time.clock,
            wait=self.time.wait,
            jitter=lambda low, high: high,  # the ceiling: the longest wait full jitter allows
        )
        self.stub.when_drained = self.worker.stop

    def _start(self, argv, stdin_text, environment):
        command = FakeCommand(self.time, self.runs_for, self.finished)
        command.stdin = stdin_text
        command.environment = dict(environment)
        self.commands.append(command)
        return command


def messages(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


@pytest.fixture(autouse=True)
def _logs(caplog):
    caplog.set_level(logging.INFO, logger="sundial.worker")


def test_a_server_not_up_yet_is_waited_for_with_backoff_then_worked_for(caplog):
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [down(), down(), down(), claimed("obj_1")]

    assert h.worker.run() == 1

    assert h.time.waits == [0.5, 1.0, 2.0]
    assert len(h.stub.names("CompleteObjective")) == 1
    warnings = messages(caplog, logging.WARNING)
    assert warnings == [
        "server 127.0.0.1:1 is not answering (UNAVAILABLE: failed to connect to all "
        "addresses); retrying with backoff"
    ]
    assert messages(caplog, logging.INFO) == [
        "connected to 127.0.0.1:1",
        "objective obj_1 succeeded",
    ]


def test_the_first_claim_after_an_outage_does_not_wait_then_claims_long_poll():
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [
        claimed(),
        down(),
        claimed(),
        claimed(),
    ]

    h.worker.run()

    waits = [request.wait.seconds for request in h.stub.names("ClaimObjectives")]
    assert waits == [0, 20, 0, 20, 20]


def test_backoff_doubles_from_half_a_second_and_is_capped():
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [down() for _ in range(10)]

    h.worker.run()

    assert h.time.waits == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert max(h.time.waits) == MAX_BACKOFF_SECONDS


def test_backoff_is_full_jitter_between_zero_and_the_ceiling():
    h = Harness()
    seen = []
    h.worker._jitter = lambda low, high: seen.append((low, high)) or low
    h.stub.scripts["ClaimObjectives"] = [down() for _ in range(3)]

    h.worker.run()

    assert seen == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0)]


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE],
    ids=["resource-exhausted", "unavailable"],
)
def test_the_servers_retry_info_delay_is_honoured(code):
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [FakeRpcError(code, "slow down", retry_after=7)]

    h.worker.run()

    assert h.time.waits == [7.0]


def test_many_retries_log_one_line_per_change_of_state(caplog):
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [
        *[down() for _ in range(5)],
        claimed(),
        *[FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED) for _ in range(5)],
        claimed(),
    ]

    h.worker.run()

    assert len(messages(caplog, logging.WARNING)) == 2
    assert messages(caplog, logging.INFO) == ["connected to 127.0.0.1:1"] * 2
    assert "Traceback" not in caplog.text


def test_heartbeats_go_on_through_an_outage_and_the_objective_completes_once(caplog):
    h = Harness(runs_for=100)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["HeartbeatObjective"] = [
        objective_pb2.Objective(),
        down(),
        down(),
        down(),
        objective_pb2.Objective(),
    ]
    h.stub.scripts["CompleteObjective"] = [down(), down()]

    assert h.worker.run() == 1

    beats = [t for name, _, t in h.stub.calls if name == "HeartbeatObjective"]
    assert len(beats) >= 7  # 100 s of command, a heartbeat every 10 s, sooner after failures
    assert all(t == 10.0 for t in beats)  # each call has its own deadline
    assert len(h.stub.names("CompleteObjective")) == 3  # two cut off, one taken
    assert not h.commands[0].killed
    assert messages(caplog, logging.INFO).count("objective obj_1 succeeded") == 1
    # Renewed each time for the full lease.
    assert {r.lease_duration.seconds for r in h.stub.names("HeartbeatObjective")} == {LEASE}


def test_a_heartbeat_after_a_failure_comes_sooner_than_the_lease_interval():
    h = Harness(runs_for=25)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    beat_times = []

    def failing():
        beat_times.append(h.time.now)
        raise down()

    def renewing():
        beat_times.append(h.time.now)
        return objective_pb2.Objective()

    h.stub.scripts["HeartbeatObjective"] = [failing, renewing, renewing]

    h.worker.run()

    assert beat_times == [10.0, 10.5, 20.5]  # interval 10 s; 0.5 s after the failure


def test_a_report_taken_before_the_connection_broke_is_not_made_twice(caplog):
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    taken = objective_pb2.Objective()
    taken.info.status = objective_pb2.OBJECTIVE_STATUS_SUCCEEDED
    taken.info.worker_id = WORKER_ID
    h.stub.scripts["CompleteObjective"] = [
        down("Socket closed"),
        FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "not leased (status SUCCEEDED)"),
    ]
    h.stub.scripts["GetObjective"] = [taken]

    h.worker.run()

    assert len(h.stub.names("CompleteObjective")) == 2
    assert (
        "objective obj_1 succeeded (the server took the report before the connection broke)"
        in messages(caplog, logging.INFO)
    )


def test_a_worker_key_that_cannot_read_the_objective_says_the_report_may_have_been_taken(
    caplog,
):
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1"), claimed("obj_2")]
    h.stub.scripts["CompleteObjective"] = [
        down("Socket closed"),
        FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "not leased"),
    ]
    h.stub.scripts["GetObjective"] = [FakeRpcError(grpc.StatusCode.PERMISSION_DENIED)]

    assert h.worker.run() == 2  # and it works on

    assert any("may have been taken" in m for m in messages(caplog, logging.WARNING))
    assert len(h.stub.names("CompleteObjective")) == 3


def test_a_report_is_retried_at_least_every_heartbeat_interval_while_the_lease_runs():
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["CompleteObjective"] = [down() for _ in range(10)]

    h.worker.run()

    assert h.time.waits == [0.5, 1, 2, 4, 8, 10, 10, 10, 10, 10]  # LEASE / 3 at most
    assert len(h.stub.names("CompleteObjective")) == 11


def test_a_report_refused_after_a_cut_off_one_says_why_and_what_the_objective_is(caplog):
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["CompleteObjective"] = [
        down(),
        FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "the lease has expired"),
    ]
    still = objective_pb2.Objective()
    still.info.status = objective_pb2.OBJECTIVE_STATUS_RUNNING
    still.info.worker_id = WORKER_ID
    h.stub.scripts["GetObjective"] = [still]

    h.worker.run()

    assert (
        "could not report objective obj_1: FAILED_PRECONDITION: the lease has expired "
        "(it is OBJECTIVE_STATUS_RUNNING)"
    ) in messages(caplog, logging.WARNING)


def test_a_lease_lost_before_any_outage_is_not_read_back(caplog):
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["CompleteObjective"] = [
        FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "the lease has expired")
    ]

    h.worker.run()

    assert h.stub.names("GetObjective") == []
    assert (
        "could not report objective obj_1: FAILED_PRECONDITION: the lease has expired"
        in messages(caplog, logging.WARNING)
    )


def test_a_failed_command_is_failed_retryable_with_its_stderr_retried_through_an_outage():
    h = Harness(returncode=3)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["FailObjective"] = [down()]

    h.worker.run()

    failures = h.stub.names("FailObjective")
    assert len(failures) == 2
    assert (failures[-1].error, failures[-1].retryable) == ("boom", True)
    assert h.stub.names("CompleteObjective") == []


def test_an_output_the_server_refuses_fails_the_objective_for_good():
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["CompleteObjective"] = [
        FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "output is larger than 262144 bytes")
    ]

    h.worker.run()

    (failure,) = h.stub.names("FailObjective")
    assert failure.retryable is False
    assert "output is larger than 262144 bytes" in failure.error


def test_a_lost_lease_stops_the_command_and_reports_nothing(caplog):
    h = Harness(runs_for=100)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["HeartbeatObjective"] = [
        FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "lease expired")
    ]

    h.worker.run()

    assert h.commands[0].killed
    assert h.stub.names("CompleteObjective") == h.stub.names("FailObjective") == []
    assert any("lost the lease on objective obj_1" in m for m in messages(caplog, logging.WARNING))


def test_on_stop_the_running_objective_finishes_within_the_grace_and_no_more_is_claimed():
    h = Harness(grace=30, runs_for=20)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1"), claimed("obj_2")]
    h.time.at(5, h.worker.stop)

    assert h.worker.run() == 1

    assert len(h.stub.names("ClaimObjectives")) == 1
    assert len(h.stub.names("CompleteObjective")) == 1
    assert not h.commands[0].killed


def test_on_stop_an_objective_that_outlasts_the_grace_is_stopped_and_handed_back(caplog):
    h = Harness(grace=10, runs_for=100)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.time.at(5, h.worker.stop)

    assert h.worker.run() == 1

    assert h.commands[0].killed
    assert h.time.now == pytest.approx(15)
    assert h.stub.names("CompleteObjective") == h.stub.names("FailObjective") == []
    [release] = h.stub.names("ReleaseObjective")
    assert (release.objective_id, release.worker_id) == ("obj_1", WORKER_ID)
    (hand_back,) = [m for m in messages(caplog, logging.WARNING) if "handing back" in m]
    assert "obj_1" in hand_back
    assert "Released" in hand_back


def test_on_stop_an_objective_that_cannot_be_released_is_left_to_its_lease(caplog):
    h = Harness(grace=10, runs_for=100)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["ReleaseObjective"] = [down()]
    h.time.at(5, h.worker.stop)

    assert h.worker.run() == 1

    assert len(h.stub.names("ReleaseObjective")) == 1  # once: the grace is over
    (hand_back,) = [m for m in messages(caplog, logging.WARNING) if "handing back" in m]
    assert "could not be released (UNAVAILABLE" in hand_back
    assert "lease lapses" in hand_back


def test_on_stop_a_result_the_server_does_not_take_is_given_up_at_the_end_of_the_grace(
    caplog,
):
    h = Harness(grace=10, runs_for=2)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["CompleteObjective"] = [down() for _ in range(100)]
    h.time.at(1, h.worker.stop)

    h.worker.run()

    assert h.time.now == pytest.approx(11)
    assert any("handing back objective obj_1" in m for m in messages(caplog, logging.WARNING))


def test_an_objective_claimed_after_the_grace_ended_is_not_started(caplog):
    h = Harness(grace=0)
    h.stub.scripts["ClaimObjectives"] = [lambda: (h.worker.stop(), claimed("obj_1"))[1]]

    h.worker.run()

    assert h.commands == []
    assert any("handing back objective obj_1" in m for m in messages(caplog, logging.WARNING))
    assert [r.objective_id for r in h.stub.names("ReleaseObjective")] == ["obj_1"]


def test_a_stop_during_the_backoff_ends_the_wait():
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [down() for _ in range(10)]
    h.time.at(2, h.worker.stop)

    h.worker.run()

    assert len(h.stub.names("ClaimObjectives")) == 3  # waits of 0.5 and 1, then stopped


@pytest.mark.parametrize(
    ("code", "details"),
    [
        (grpc.StatusCode.UNAUTHENTICATED, "missing or invalid API key"),
        (grpc.StatusCode.PERMISSION_DENIED, "the key may not work in workspace 'ws_1'"),
        (grpc.StatusCode.NOT_FOUND, "agent 'agent_1' not found"),
        (grpc.StatusCode.INVALID_ARGUMENT, "wait must be 0-60s"),
    ],
    ids=["bad-key", "no-grant", "unknown-agent", "bad-flag"],
)
def test_errors_retrying_cannot_fix_end_the_worker_with_one_line(code, details):
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [down(), FakeRpcError(code, details)]

    with pytest.raises(WorkerError) as raised:
        h.worker.run()

    assert str(raised.value) == f"cannot claim objectives: {code.name}: {details}"
    assert raised.value.code is code


def test_a_key_revoked_while_a_command_runs_stops_the_command_and_the_worker():
    h = Harness(runs_for=100)
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]
    h.stub.scripts["HeartbeatObjective"] = [
        down(),
        FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "the API key was revoked"),
    ]

    with pytest.raises(WorkerError, match="cannot heartbeat objective obj_1: UNAUTHENTICATED"):
        h.worker.run()

    assert h.commands[0].killed


def test_the_command_gets_the_objective_as_protojson():
    h = Harness()
    h.stub.scripts["ClaimObjectives"] = [claimed("obj_1")]

    h.worker.run()

    assert '"id": "obj_1"' in h.commands[0].stdin


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_the_command_gets_the_objectives_trace_context_as_traceparent():
    h = Harness()
    response = claimed("obj_1", "obj_2")
    response.objectives[0].info.trace_parent = TRACEPARENT
    h.stub.scripts["ClaimObjectives"] = [response]

    h.worker.run()

    assert [c.environment for c in h.commands] == [{"TRACEPARENT": TRACEPARENT}, {}]


def test_a_real_subprocess_gets_the_extra_environment_on_top_of_the_workers(monkeypatch):
    monkeypatch.setenv("SUNDIAL_TEST_INHERITED", "kept")
    script = "import os; print(os.environ['TRACEPARENT'], os.environ['SUNDIAL_TEST_INHERITED'])"
    command = start_subprocess([sys.executable, "-c", script], "", {"TRACEPARENT": TRACEPARENT})
    finished = None
    while finished is None:
        finished = command.wait(5)
    assert finished == Finished(0, f"{TRACEPARENT} kept\n", "")


def test_a_real_subprocess_reads_stdin_and_its_output_is_kept():
    script = "import sys; data = sys.stdin.read(); print(data.upper()); sys.stderr.write('e')"
    command = start_subprocess([sys.executable, "-c", script], "hello", {})
    finished = None
    while finished is None:
        finished = command.wait(5)
    assert finished == Finished(0, "HELLO\n", "e")


def test_a_real_subprocess_is_killed():
    command = start_subprocess([sys.executable, "-c", "import time; time.sleep(600)"], "", {})
    assert command.wait(0.01) is None
    command.kill()
    assert command._process.poll() is not None  # ended (by SIGTERM)
