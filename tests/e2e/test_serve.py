"""The real `sundial` command in a subprocess: serve, health, SIGTERM, admin."""

import contextlib
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sundial.api.client import authorized_channel
from tests.support.auth import ADMIN_SECRET

SUNDIAL = str(Path(sys.executable).with_name("sundial"))
STARTUP_TIMEOUT = 60


class Process:
    """A running `sundial serve` whose stdout lines arrive on a queue."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.popen = subprocess.Popen(
            [SUNDIAL, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.workspace = ""
        self.account = ""
        # stderr is read as it comes too: a server that logs more than a pipe holds would
        # otherwise block on its next log line.
        self._stderr_parts: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self._stderr_thread = threading.Thread(target=self._pump_stderr, daemon=True)
        self._stderr_thread.start()

    def finish(self) -> tuple[str, str]:
        """Waits for the exit; returns the stdout lines not yet read, and stderr."""
        self.popen.wait(timeout=60)
        self._pump_thread.join(timeout=60)
        self._stderr_thread.join(timeout=60)
        stderr = "".join(self._stderr_parts)
        lines = []
        while not self.lines.empty():
            lines.append(self.lines.get())
        return "\n".join(lines), stderr

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def _pump_stderr(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self._stderr_parts.append(line)

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
        self._stderr_thread.join(timeout=60)
        return "".join(self._stderr_parts)[-2000:]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Process, str]]:
    process = Process(
        "serve",
        "--database-url",
        f"sqlite:///{tmp_path / 'sundial.db'}",
        "--grpc-address",
        "127.0.0.1:0",
        "--http-address",
        "127.0.0.1:0",
        "--drain-delay",
        "2",
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )
    try:
        port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        process.account = process.wait_for_line(r"account: (acct_\w+)")[1]
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


def _admin(url: str, *args: str) -> str:
    result = subprocess.run(
        [SUNDIAL, "admin", *args, "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


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
    # The empty database got its bootstrap account, whose admin key is shown once.
    assert re.search(r"secret \(shown only now\): sdl_\S+", result.stderr)
    assert re.fullmatch(r"ws_[0-9A-Z]{26}\n", _admin(url, "create-workspace", "more"))


def test_admin_manages_accounts_and_keys(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    created = _admin(url, "create-account", "acme")
    account = re.search(r"account: (acct_\w+)", created)
    assert account is not None
    assert re.search(r"secret \(shown only now\): sdl_\S{40,}", created)
    assert account[1] in _admin(url, "list-accounts")

    made = _admin(
        url, "create-key", "ci", "--account", account[1], "--role", "viewer",
        "--expires-in-days", "30",
    )  # fmt: skip
    key_id = re.search(r"api key: (key_\w+) \(viewer\)", made)
    secret = re.search(r"secret \(shown only now\): (sdl_\S+)", made)
    assert key_id is not None
    assert secret is not None
    listed = _admin(url, "list-keys", "--account", account[1])
    assert key_id[1] in listed
    assert "expires" in listed
    assert secret[1] not in listed
    assert "revoked" in _admin(url, "revoke-key", key_id[1], "--account", account[1])
    assert re.search(rf"{key_id[1]}.*revoked", _admin(url, "list-keys", "--account", account[1]))


def test_first_start_prints_a_working_admin_key_once(tmp_path: Path):
    from sundial.v1 import workspace_service_pb2, workspace_service_pb2_grpc

    url = f"sqlite:///{tmp_path / 'first.db'}"
    args = ("serve", "--database-url", url, "--grpc-address", "127.0.0.1:0",
            "--http-address", "", "--drain-delay", "0")  # fmt: skip
    first = Process(*args)
    try:
        port = first.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        account = first.wait_for_line(r"account: (acct_\w+)")[1]
        secret = first.wait_for_line(r"admin api key secret \(shown only now\): (sdl_\S+)")[1]
        with authorized_channel(f"127.0.0.1:{port}", secret) as channel:
            listed = workspace_service_pb2_grpc.WorkspaceServiceStub(channel).ListWorkspaces(
                workspace_service_pb2.ListWorkspacesRequest(account_id=account)
            )
        assert len(listed.workspaces) == 1
        first.popen.send_signal(signal.SIGTERM)
        _, stderr = first.finish()
        assert secret not in stderr
    finally:
        if first.popen.poll() is None:
            first.popen.kill()

    again = Process(*args)
    try:
        again.wait_for_line(r"default workspace: (ws_\w+)")
        again.popen.send_signal(signal.SIGTERM)
        stdout, stderr = again.finish()
        assert "secret" not in stdout
        assert secret not in stderr
    finally:
        if again.popen.poll() is None:
            again.popen.kill()


def test_worker_runs_a_command_for_a_triggered_objective(served):
    from sundial.v1 import (
        access_pb2,
        agent_schedule_service_pb2_grpc,
        agent_service_pb2,
        agent_service_pb2_grpc,
        api_key_pb2,
        api_key_service_pb2,
        api_key_service_pb2_grpc,
        metadata_pb2,
        objective_pb2,
        objective_service_pb2,
        objective_service_pb2_grpc,
    )
    from sundial.v1 import agent_schedule_service_pb2 as spb
    from tests.api.schedule_requests import create_request

    process, address = served
    workspace = process.workspace
    with authorized_channel(address, ADMIN_SECRET) as channel:
        account_id = process.account
        worker_key = api_key_service_pb2_grpc.ApiKeyServiceStub(channel).CreateApiKey(
            api_key_service_pb2.CreateApiKeyRequest(
                account_id=account_id,
                metadata=metadata_pb2.CreateResourceMetadata(name="worker"),
                spec=api_key_pb2.ApiKeySpec(role=access_pb2.ROLE_WORKER, workspace_ids=[workspace]),
            )
        )
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
            env={**os.environ, "SUNDIAL_API_KEY": worker_key.info.secret},
        )
        assert "ran 1 objective(s)" in result.stdout
        done = objective_service_pb2_grpc.ObjectiveServiceStub(channel).GetObjective(
            objective_service_pb2.GetObjectiveRequest(**ids, objective_id=objective.metadata.id)
        )
    assert done.info.status == objective_pb2.OBJECTIVE_STATUS_SUCCEEDED
    assert done.info.output.struct_value["echo"] == "summarize the day"


def test_serve_signs_in_a_jwt_from_the_configured_issuer(tmp_path: Path):
    from datetime import UTC, datetime, timedelta

    from sundial.v1 import workspace_service_pb2, workspace_service_pb2_grpc
    from tests.support.jwts import AUDIENCE, ISSUER, TokenIssuer

    issuer = TokenIssuer()
    keys = issuer.write_pem(tmp_path)
    url = f"sqlite:///{tmp_path / 'jwt.db'}"
    process = Process(
        "serve", "--database-url", url, "--grpc-address", "127.0.0.1:0", "--http-address", "",
        "--drain-delay", "0", "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE,
        "--jwt-keys-file", str(keys), "--jwt-max-lifetime", "3600",
    )  # fmt: skip
    try:
        port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        account = process.wait_for_line(r"account: (acct_\w+)")[1]
        request = workspace_service_pb2.ListWorkspacesRequest(account_id=account)
        now = datetime.now(UTC)
        claims = {"sundial_account_id": account, "sundial_role": "viewer"}
        for algorithm in ("RS256", "ES256"):
            token = issuer.mint(now=now, algorithm=algorithm, extra=claims)
            with authorized_channel(f"127.0.0.1:{port}", token) as channel:
                stub = workspace_service_pb2_grpc.WorkspaceServiceStub(channel)
                assert len(stub.ListWorkspaces(request).workspaces) == 1
        forged = issuer.mint(now=now, extra=claims, sign_with_other_key=True)
        # Valid for two hours, past --jwt-max-lifetime.
        long_lived = issuer.mint(now=now, extra=claims, expires_in=timedelta(hours=2))
        for refused in (forged, long_lived):
            with authorized_channel(f"127.0.0.1:{port}", refused) as channel:
                stub = workspace_service_pb2_grpc.WorkspaceServiceStub(channel)
                with pytest.raises(grpc.RpcError) as caught:
                    stub.ListWorkspaces(request)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        process.popen.send_signal(signal.SIGTERM)
        _, stderr = process.finish()
        assert token not in stderr
    finally:
        if process.popen.poll() is None:
            process.popen.kill()


@pytest.mark.parametrize("taken_listener", ["grpc", "rest"])
def test_a_start_that_cannot_listen_creates_nothing_and_the_next_prints_the_key(
    tmp_path: Path, taken_listener: str
):
    path = tmp_path / "first.db"
    url = f"sqlite:///{path}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        addresses = {"grpc": "127.0.0.1:0", "rest": "127.0.0.1:0"}
        addresses[taken_listener] = f"127.0.0.1:{taken.getsockname()[1]}"
        failed = subprocess.run(
            [SUNDIAL, "serve", "--database-url", url, "--grpc-address", addresses["grpc"],
             "--http-address", addresses["rest"], "--drain-delay", "0"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert failed.returncode == 1
    assert "cannot start" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert "secret" not in failed.stdout
    with contextlib.closing(sqlite3.connect(path)) as database:
        assert database.execute("SELECT count(*) FROM accounts").fetchone() == (0,)

    again = Process(
        "serve", "--database-url", url, "--grpc-address", "127.0.0.1:0",
        "--http-address", "127.0.0.1:0", "--drain-delay", "0",
    )  # fmt: skip
    try:
        again.wait_for_line(r"admin api key secret \(shown only now\): sdl_\S+")
        again.popen.send_signal(signal.SIGTERM)
        again.finish()
        assert again.popen.returncode == 0
    finally:
        if again.popen.poll() is None:
            again.popen.kill()


def test_a_bootstrap_key_too_short_is_one_line_and_creates_nothing(tmp_path: Path):
    path = tmp_path / "short-key.db"
    failed = subprocess.run(
        [SUNDIAL, "serve", "--database-url", f"sqlite:///{path}", "--grpc-address",
         "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--drain-delay", "0"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "SUNDIAL_BOOTSTRAP_API_KEY": "short"},
    )  # fmt: skip
    assert failed.returncode == 2
    assert failed.stderr.strip() == (
        "sundial serve: SUNDIAL_BOOTSTRAP_API_KEY: an API key secret must be 24-512 "
        "printable characters (this one has 5)"
    )
    assert "short" not in failed.stdout
    assert not path.exists()  # refused before the database was opened


def test_the_command_module_imports_nothing_slow_before_it_catches_sigterm():
    slow = ("sqlalchemy", "alembic", "grpc", "cryptography", "sundial.server")
    probe = (
        f"import sys, sundial.cli.main; print([name for name in {slow!r} if name in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"


def _catches_sigterm(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_sigterm_during_start_up_stops_serve_cleanly(tmp_path: Path):
    """Sent as soon as the handler is in place (long before the server is up), SIGTERM
    makes `sundial serve` start, then stop, and exit 0; it used to die of the signal."""
    process = subprocess.Popen(
        [SUNDIAL, "serve", "--database-url", f"sqlite:///{tmp_path / 'early.db'}",
         "--grpc-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0",
         "--drain-delay", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _catches_sigterm(process.pid):
            assert process.poll() is None
            assert time.monotonic() < deadline, "sundial serve never caught SIGTERM"
            time.sleep(0.001)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()


SHUTDOWN_GRACE_SECONDS = 30
# How soon after SIGTERM a server whose only calls in flight are long-polling claims must
# have exited: well before the grace period, which it would sit out were the claims to
# wait their whole 60 s. A generous bound for a loaded machine; not a benchmark.
PROMPT_EXIT_SECONDS = 10


def test_sigterm_answers_long_polling_claims_at_once_and_exits_long_before_the_grace(
    tmp_path: Path,
):
    import json
    import urllib.request

    from google.protobuf import duration_pb2

    from sundial.v1 import (
        agent_service_pb2,
        agent_service_pb2_grpc,
        metadata_pb2,
        objective_service_pb2,
        objective_service_pb2_grpc,
    )

    process = Process(
        "serve", "--database-url", f"sqlite:///{tmp_path / 'claims.db'}",
        "--grpc-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0",
        "--drain-delay", "1", "--shutdown-grace", str(SHUTDOWN_GRACE_SECONDS),
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )  # fmt: skip
    try:
        grpc_port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        http_port = process.wait_for_line(r"serving REST on 127\.0\.0\.1:(\d+)")[1]
        workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        with authorized_channel(f"127.0.0.1:{grpc_port}", ADMIN_SECRET) as channel:
            agent = agent_service_pb2_grpc.AgentServiceStub(channel).CreateAgent(
                agent_service_pb2.CreateAgentRequest(
                    workspace_id=workspace,
                    metadata=metadata_pb2.CreateResourceMetadata(name="idle"),
                )
            )
            claim = objective_service_pb2.ClaimObjectivesRequest(
                workspace_id=workspace,
                agent_id=agent.metadata.id,
                worker_id="w",
                wait=duration_pb2.Duration(seconds=60),
            )
            stub = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
            claims = [stub.ClaimObjectives.future(claim, timeout=120) for _ in range(3)]
            rest_answers: queue.Queue[tuple[int, dict[str, object]]] = queue.Queue()

            def rest_claim() -> None:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{http_port}/v1/workspaces/{workspace}/agents/"
                    f"{agent.metadata.id}/objectives:claim",
                    data=json.dumps({"workerId": "w", "wait": "60s"}).encode(),
                    headers={
                        "Authorization": f"Bearer {ADMIN_SECRET}",
                        "Content-Type": "application/json",
                    },
                    method="POST",
                )
                with urllib.request.urlopen(request, timeout=120) as response:
                    rest_answers.put((response.status, json.loads(response.read())))

            rest = threading.Thread(target=rest_claim, daemon=True)
            rest.start()
            assert not any(future.done() for future in claims)  # they wait (up to 60 s)

            sent = time.monotonic()
            process.popen.send_signal(signal.SIGTERM)
            assert process.popen.wait(timeout=120) == 0
            took = time.monotonic() - sent

            for future in claims:  # answered normally, with nothing pending
                assert list(future.result(timeout=30).objectives) == []
            rest.join(timeout=60)
            status, body = rest_answers.get(timeout=30)
            assert (status, body.get("objectives", [])) == (200, [])
        assert took < PROMPT_EXIT_SECONDS, f"exited {took:.1f} s after SIGTERM"
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait(timeout=30)
