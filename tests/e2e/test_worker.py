"""A real `sundial worker` process survives a real `sundial serve` restarted twice on the
same port (SQLite in a temp dir): started before the server, it waits, then works; its
heartbeats reach the restarted server while a command runs; a result finished while the
server is down is reported once it is back; every objective is completed exactly once and
the worker never exits until SIGTERM, then exits 0.

Each command waits for a gate file the test creates, so the test decides when a command
ends (before, during or after an outage), not a sleep."""

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sundial.api.client import authorized_channel
from sundial.v1 import (
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    objective_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
)
from tests.api.schedule_requests import create_request, schedule_spec
from tests.e2e.workload import SUNDIAL, create_workload
from tests.support.auth import ADMIN_SECRET

# A heartbeat every 10 s: after one fails, 20 s of lease are left for the restart (a
# restart takes a few seconds, more on a busy machine).
LEASE_SECONDS = 30
WAIT_TIMEOUT = 60  # for anything a test waits for (it fails, not hangs)
RPC_TIMEOUT = 10
COMMAND = """
import json, pathlib, sys, time
objective = json.load(sys.stdin)
objective_id = objective["metadata"]["id"]
here = pathlib.Path(sys.argv[1])
with open(here / "log", "a") as log:
    log.write(f"start {objective_id}\\n")
while not (here / f"gate-{objective_id}").exists():
    time.sleep(0.05)
with open(here / "log", "a") as log:
    log.write(f"end {objective_id}\\n")
print(json.dumps({"id": objective_id}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def eventually(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Scene:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.url = f"sqlite:///{tmp_path / 'sundial.db'}"
        self.address = f"127.0.0.1:{free_port()}"
        workload = create_workload(self.url, 0, admin_secret=ADMIN_SECRET)
        self.ids = {"workspace_id": workload.workspace_id, "agent_id": workload.agent_id}
        self.server: subprocess.Popen[bytes] | None = None
        self.servers = 0
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_log = tmp_path / "worker.log"
        self._schedule_id = ""

    def start_worker(self, grace: int = 10) -> None:
        self.worker = subprocess.Popen(
            [
                SUNDIAL, "--log-level", "INFO", "worker",
                "--workspace", self.ids["workspace_id"], "--agent", self.ids["agent_id"],
                "--grpc-address", self.address, "--worker-id", "survivor",
                "--lease", str(LEASE_SECONDS), "--wait", "5", "--grace", str(grace),
                "--", sys.executable, "-c", COMMAND, str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.worker_log.open("wb"),
            env={**os.environ, "SUNDIAL_API_KEY": ADMIN_SECRET},
        )  # fmt: skip

    def start_server(self) -> None:
        # Output to files: a pipe nobody reads fills up and blocks the server's logging.
        self.servers += 1
        out = self.dir / f"server-{self.servers}.out"
        self.server = subprocess.Popen(
            [
                SUNDIAL, "serve", "--database-url", self.url, "--grpc-address", self.address,
                "--http-address", "", "--drain-delay", "0", "--shutdown-grace", "5",
            ],
            stdout=out.open("wb"),
            stderr=(self.dir / f"server-{self.servers}.err").open("wb"),
            env={**os.environ, "SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
        )  # fmt: skip
        eventually("the server to serve", lambda: "serving gRPC on" in out.read_text())

    def stop_server(self) -> None:
        assert self.server is not None
        self.server.send_signal(signal.SIGTERM)
        assert self.server.wait(timeout=WAIT_TIMEOUT) == 0
        self.server = None

    def worker_says(self) -> str:
        return self.worker_log.read_text()

    def log(self) -> list[str]:
        path = self.dir / "log"
        return path.read_text().splitlines() if path.exists() else []

    def open_gate(self, objective_id: str) -> None:
        (self.dir / f"gate-{objective_id}").touch()

    def trigger(self) -> str:
        with authorized_channel(self.address, ADMIN_SECRET) as channel:
            schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
            if not self._schedule_id:
                # Paused: only the test's triggers make objectives.
                spec = schedule_spec(status=agent_schedule_pb2.AGENT_SCHEDULE_STATUS_PAUSED)
                request = create_request(**self.ids, spec=spec)
                self._schedule_id = schedules.CreateAgentSchedule(
                    request, timeout=RPC_TIMEOUT
                ).metadata.id
            objective = schedules.TriggerAgentSchedule(
                agent_schedule_service_pb2.TriggerAgentScheduleRequest(
                    **self.ids, schedule_id=self._schedule_id
                ),
                timeout=RPC_TIMEOUT,
            )
        return objective.metadata.id

    def objective(self, objective_id: str) -> objective_pb2.Objective:
        with authorized_channel(self.address, ADMIN_SECRET) as channel:
            return objective_service_pb2_grpc.ObjectiveServiceStub(channel).GetObjective(
                objective_service_pb2.GetObjectiveRequest(**self.ids, objective_id=objective_id),
                timeout=RPC_TIMEOUT,
            )

    def objectives(self) -> list[objective_pb2.Objective]:
        with authorized_channel(self.address, ADMIN_SECRET) as channel:
            return list(
                objective_service_pb2_grpc.ObjectiveServiceStub(channel)
                .ListObjectives(
                    objective_service_pb2.ListObjectivesRequest(**self.ids), timeout=RPC_TIMEOUT
                )
                .objectives
            )

    def succeeded(self, objective_id: str) -> bool:
        return self.objective(objective_id).info.status == objective_pb2.OBJECTIVE_STATUS_SUCCEEDED

    def alive(self) -> bool:
        assert self.worker is not None
        return self.worker.poll() is None


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    scene = Scene(tmp_path)
    try:
        yield scene
    finally:
        for process in (scene.worker, scene.server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)


@pytest.mark.slow(seconds=80)
def test_a_worker_survives_two_server_restarts_and_completes_every_objective_once(scene):
    # Started before the server: it waits (one line), then works.
    scene.start_worker()
    eventually("the worker to find no server", lambda: "not answering" in scene.worker_says())
    scene.start_server()
    first = scene.trigger()
    scene.open_gate(first)
    eventually("the first objective to succeed", lambda: scene.succeeded(first))

    # Restart 1, while a command runs: a heartbeat fails while the server is down, a later
    # one reaches the restarted server, and the command completes.
    running = scene.trigger()
    eventually("the command to start", lambda: f"start {running}" in scene.log())
    outages = scene.worker_says().count("not answering")
    scene.stop_server()
    eventually(
        "a heartbeat to find the server gone",
        lambda: scene.worker_says().count("not answering") == outages + 1,
    )
    assert scene.alive()
    scene.start_server()
    lease = scene.objective(running).info.lease_expires_at.ToDatetime()
    eventually(
        "a heartbeat to reach the restarted server",
        lambda: scene.objective(running).info.lease_expires_at.ToDatetime() > lease,
    )
    scene.open_gate(running)
    eventually("the running objective to succeed", lambda: scene.succeeded(running))

    # Restart 2, while a finished command's result waits for the server.
    finished = scene.trigger()
    eventually("the command to start", lambda: f"start {finished}" in scene.log())
    outages = scene.worker_says().count("not answering")
    scene.stop_server()
    scene.open_gate(finished)
    eventually("the command to end", lambda: f"end {finished}" in scene.log())
    eventually(
        "the worker to find the server gone",
        lambda: scene.worker_says().count("not answering") == outages + 1,
    )
    # Real time for the real worker to try (and fail) to complete it while the server is
    # down; the test passes either way, this makes it likely that it covers that path.
    time.sleep(1)
    assert scene.alive()
    scene.start_server()
    eventually("the finished objective to succeed", lambda: scene.succeeded(finished))

    # And it claims on.
    last = scene.trigger()
    scene.open_gate(last)
    eventually("the last objective to succeed", lambda: scene.succeeded(last))
    assert scene.alive()

    ids = [first, running, finished, last]
    objectives = scene.objectives()
    assert sorted(o.metadata.id for o in objectives) == sorted(ids)  # no retry attempts
    for objective in objectives:
        assert objective.info.status == objective_pb2.OBJECTIVE_STATUS_SUCCEEDED
        assert objective.info.worker_id == "survivor"
        assert objective.info.output.struct_value["id"] == objective.metadata.id
    runs = Counter(scene.log())
    assert runs == Counter({f"{event} {i}": 1 for i in ids for event in ("start", "end")})

    assert scene.worker is not None
    scene.worker.send_signal(signal.SIGTERM)
    assert scene.worker.wait(timeout=WAIT_TIMEOUT) == 0
    said = scene.worker_says()
    assert "Traceback" not in said
    # One line per change of state, not one per retry: outages and reconnections alternate.
    changes = [
        line for line in said.splitlines() if "not answering" in line or "connected to" in line
    ]
    assert len(changes) == 6  # down at start, then at each restart; connected after each
    for before, after in itertools.pairwise(changes):
        assert ("not answering" in before) != ("not answering" in after), said


def test_a_bad_key_ends_the_worker_with_one_line_and_exit_code_1(scene):
    scene.start_server()
    result = subprocess.run(
        [
            SUNDIAL, "worker", "--workspace", scene.ids["workspace_id"],
            "--agent", scene.ids["agent_id"], "--grpc-address", scene.address,
            "--", sys.executable, "-c", "pass",
        ],
        capture_output=True, text=True, timeout=WAIT_TIMEOUT, check=False,
        env={**os.environ, "SUNDIAL_API_KEY": "sdl_" + "A" * 43},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "sundial worker: cannot claim objectives: UNAUTHENTICATED: the API key is not valid"
    ), result.stderr


def test_an_unknown_agent_ends_the_worker_with_one_line_and_exit_code_1(scene):
    scene.start_server()
    result = subprocess.run(
        [
            SUNDIAL, "worker", "--workspace", scene.ids["workspace_id"],
            "--agent", "agent_nope", "--grpc-address", scene.address,
            "--", sys.executable, "-c", "pass",
        ],
        capture_output=True, text=True, timeout=WAIT_TIMEOUT, check=False,
        env={**os.environ, "SUNDIAL_API_KEY": ADMIN_SECRET},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "sundial worker: cannot claim objectives: NOT_FOUND: agent 'agent_nope' was not found"
    ), result.stderr


def test_on_sigterm_the_running_command_finishes_and_is_completed_then_exit_0(scene):
    scene.start_server()
    scene.start_worker(grace=60)
    objective_id = scene.trigger()
    eventually("the command to start", lambda: f"start {objective_id}" in scene.log())
    assert scene.worker is not None
    scene.worker.send_signal(signal.SIGTERM)
    eventually("the worker to say it is stopping", lambda: "stopping" in scene.worker_says())
    assert scene.alive()
    scene.open_gate(objective_id)

    assert scene.worker.wait(timeout=WAIT_TIMEOUT) == 0
    assert scene.succeeded(objective_id)


def test_on_sigterm_a_command_that_outlasts_the_grace_is_stopped_and_handed_back(scene):
    scene.start_server()
    scene.start_worker(grace=1)
    objective_id = scene.trigger()
    eventually("the command to start", lambda: f"start {objective_id}" in scene.log())
    assert scene.worker is not None
    scene.worker.send_signal(signal.SIGTERM)

    assert scene.worker.wait(timeout=WAIT_TIMEOUT) == 0
    assert f"end {objective_id}" not in scene.log()  # stopped, not finished
    said = scene.worker_says()
    assert f"handing back objective {objective_id}" in said
    assert "Released" in said
    # Released for another worker at once: nothing was reported, no attempt counted.
    left = scene.objective(objective_id).info
    assert left.status == objective_pb2.OBJECTIVE_STATUS_PENDING
    assert left.worker_id == ""
    assert left.attempt == 1
