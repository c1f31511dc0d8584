"""The real `sundial` command in a subprocess: serve, health, SIGTERM, admin."""

import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

SUNDIAL = str(Path(sys.executable).with_name("sundial"))
STARTUP_TIMEOUT = 60


class Process:
    """A running `sundial serve` whose stdout lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        self.popen = subprocess.Popen(
            [SUNDIAL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.workspace = ""
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r}; stderr: {self._stderr()}")
            match = re.search(pattern, line)
            if match:
                return match

    def _stderr(self) -> str:
        if self.popen.poll() is None:
            return "(still running)"
        assert self.popen.stderr is not None
        return self.popen.stderr.read()[-2000:]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Process, str]]:
    process = Process(
        "serve",
        "--database-url",
        f"sqlite:///{tmp_path / 'sundial.db'}",
        "--grpc-address",
        "127.0.0.1:0",
        "--drain-delay",
        "2",
    )
    try:
        port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        process.workspace = workspace
        yield process, f"127.0.0.1:{port}"
        assert workspace.startswith("ws_")
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait(timeout=30)


def test_serve_reports_serving_then_drains_on_sigterm_and_exits_zero(served):
    process, address = served
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert (
            health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
            == health_pb2.HealthCheckResponse.SERVING
        )
        watch = health.Watch(
            health_pb2.HealthCheckRequest(service="sundial.v1.AgentScheduleService"), timeout=30
        )
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING

        process.popen.send_signal(signal.SIGTERM)

        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert process.popen.wait(timeout=30) == 0


def test_admin_create_workspace_prints_a_workspace_id(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    result = subprocess.run(
        [SUNDIAL, "admin", "create-workspace", "research", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert re.fullmatch(r"ws_[0-9A-Z]{26}\n", result.stdout)


def test_worker_runs_a_command_for_a_triggered_objective(served):
    from sundial.v1 import agent_schedule_service_pb2 as spb
    from sundial.v1 import (
        agent_schedule_service_pb2_grpc,
        agent_service_pb2,
        agent_service_pb2_grpc,
        metadata_pb2,
        objective_pb2,
        objective_service_pb2,
        objective_service_pb2_grpc,
    )
    from tests.api.schedule_requests import create_request

    process, address = served
    workspace = process.workspace
    with grpc.insecure_channel(address) as channel:
        agent = agent_service_pb2_grpc.AgentServiceStub(channel).CreateAgent(
            agent_service_pb2.CreateAgentRequest(
                workspace_id=workspace, metadata=metadata_pb2.CreateResourceMetadata(name="echo")
            )
        )
        schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
        schedule = schedules.CreateAgentSchedule(create_request(workspace, agent.metadata.id))
        ids = {"workspace_id": workspace, "agent_id": agent.metadata.id}
        objective = schedules.TriggerAgentSchedule(
            spb.TriggerAgentScheduleRequest(**ids, schedule_id=schedule.metadata.id)
        )
        script = (
            "import json, sys; o = json.load(sys.stdin); "
            "print(json.dumps({'echo': o['spec']['initialMessage']}))"
        )
        result = subprocess.run(
            [
                SUNDIAL,
                "worker",
                "--workspace",
                workspace,
                "--agent",
                agent.metadata.id,
                "--grpc-address",
                address,
                "--once",
                "--",
                sys.executable,
                "-c",
                script,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert "ran 1 objective(s)" in result.stdout
        done = objective_service_pb2_grpc.ObjectiveServiceStub(channel).GetObjective(
            objective_service_pb2.GetObjectiveRequest(**ids, objective_id=objective.metadata.id)
        )
    assert done.info.status == objective_pb2.OBJECTIVE_STATUS_SUCCEEDED
    assert done.info.output.struct_value["echo"] == "summarize the day"
