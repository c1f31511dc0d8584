"""PostgreSQL stopped under a running `sundial serve` whose schedules fire every second: the
API answers UNAVAILABLE (REST 503 with Retry-After), never INTERNAL; health says NOT_SERVING
until PostgreSQL is back, then SERVING by itself; firing resumes, with every nominal second
fired exactly once (no duplicates, no gaps); and the log holds one warning for the outage."""

import re
import subprocess
import threading
import time
import typing
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sundial.api.client import authorized_channel
from sundial.v1 import agent_schedule_service_pb2, agent_schedule_service_pb2_grpc
from tests.api.schedule_requests import create_request
from tests.e2e.workload import SUNDIAL, Workload, create_workload, verify
from tests.gateway.client import call
from tests.support import postgres
from tests.support.auth import ADMIN_SECRET, AUTHORIZATION

pytestmark = [pytest.mark.slow(seconds=25), pytest.mark.postgres]

SCHEDULES = 20
DEADLINE_SECONDS = 60
# Long enough for fires to fall due while PostgreSQL is down (they must be caught up).
OUTAGE_SECONDS = 3
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def cluster() -> Iterator[postgres.PostgresCluster]:
    """A cluster of this test's own: it is stopped and started again under the server."""
    if not postgres.available():
        pytest.skip(f"PostgreSQL binaries not found in {postgres.PG_BIN}")
    own = postgres.PostgresCluster()
    try:
        own.start()
        yield own
    finally:
        own.stop()


class Serve:
    """`sundial serve` (API and engine) on free ports; its log goes to a file."""

    def __init__(self, url: str, log: Path) -> None:
        self.log = log
        self._log_file = log.open("w")
        self.popen = subprocess.Popen(
            [SUNDIAL, "serve", "--database-url", url, "--grpc-address", "127.0.0.1:0",
             "--http-address", "127.0.0.1:0", "--drain-delay", "0"],
            stdout=subprocess.PIPE, stderr=self._log_file, text=True,
        )  # fmt: skip
        self.ports: dict[str, int] = {}
        ready = threading.Event()

        def read_ports() -> None:
            assert self.popen.stdout is not None
            for line in self.popen.stdout:
                found = re.search(r"serving (gRPC|REST) on 127\.0\.0\.1:(\d+)", line)
                if found:
                    self.ports[found[1]] = int(found[2])
                if len(self.ports) == 2:
                    ready.set()

        threading.Thread(target=read_ports, daemon=True).start()
        if not ready.wait(DEADLINE_SECONDS):
            self.popen.kill()
            pytest.fail(f"sundial serve did not start: {log.read_text()[-2000:]}")

    def stop(self) -> int:
        self.popen.terminate()
        code = self.popen.wait(timeout=DEADLINE_SECONDS)
        self._log_file.close()
        return code


def _objectives(url: str) -> int:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT min(fired) FROM (SELECT count(o.id) AS fired FROM agent_schedules s"
            " LEFT JOIN objectives o ON o.schedule_id = s.id GROUP BY s.id) AS counts"
        ).fetchone()
    assert row is not None
    return int(row[0] or 0)


def _wait_until(condition: typing.Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


class Client:
    """The calls made during the outage, with every status code they answered."""

    def __init__(self, serve: Serve, channel: grpc.Channel, workload: Workload) -> None:
        self._rest_port = serve.ports["REST"]
        self._health = health_pb2_grpc.HealthStub(channel)
        self._schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
        self._workload = workload
        self._path = f"/v1/workspaces/{workload.workspace_id}/agents/{workload.agent_id}/schedules"
        self.codes: list[str] = []
        self.retry_after: list[str | None] = []

    def health(self) -> int:
        return int(self._health.Check(health_pb2.HealthCheckRequest(), timeout=10).status)

    def ready(self) -> int:
        return call(self._rest_port, "GET", "/readyz").status

    def get(self) -> str:
        request = agent_schedule_service_pb2.GetAgentScheduleRequest(
            workspace_id=self._workload.workspace_id,
            agent_id=self._workload.agent_id,
            schedule_id=self._workload.schedule_ids[0],
        )
        return self._code_of(lambda: self._schedules.GetAgentSchedule(request, timeout=30))

    def grpc_get_and_create(self) -> None:
        self.codes.append(self.get())
        create = create_request(self._workload.workspace_id, self._workload.agent_id, "new")
        self.codes.append(
            self._code_of(lambda: self._schedules.CreateAgentSchedule(create, timeout=30))
        )

    @staticmethod
    def _code_of(rpc: typing.Callable[[], object]) -> str:
        try:
            rpc()
        except grpc.RpcError as error:
            return typing.cast(grpc.Call, error).code().name
        return "OK"

    def rest_get_and_create(self) -> None:
        headers = {"Authorization": AUTHORIZATION}
        body = {
            "metadata": {"name": "new"},
            "spec": {"initialMessage": "hi", "schedule": {"intervals": [{"every": "3600s"}]}},
        }
        for reply in (
            call(self._rest_port, "GET", f"{self._path}/{self._workload.schedule_ids[0]}",
                 None, headers),
            call(self._rest_port, "POST", self._path, body, headers),
        ):  # fmt: skip
            self.codes.append(f"HTTP {reply.status}")
            self.retry_after.append(reply.headers.get("retry-after"))


def test_postgresql_stopped_under_serve_answers_unavailable_then_recovers_exactly_once(
    cluster: postgres.PostgresCluster, tmp_path: Path
):
    url = cluster.create_database("outage")
    workload = create_workload(url, SCHEDULES, admin_secret=ADMIN_SECRET)
    serve = Serve(url, tmp_path / "serve.log")
    try:
        with authorized_channel(f"127.0.0.1:{serve.ports['gRPC']}", ADMIN_SECRET) as channel:
            client = Client(serve, channel, workload)
            fired_at_start = _objectives(url)
            _wait_until(lambda: _objectives(url) >= fired_at_start + 2, "firing")
            assert client.health() == SERVING

            cluster.stop_server()
            _wait_until(lambda: client.health() == NOT_SERVING, "health says NOT_SERVING")
            assert client.ready() == 503
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < outage_ends:
                client.grpc_get_and_create()
                client.rest_get_and_create()
            assert set(client.codes) == {"UNAVAILABLE", "HTTP 503"}, client.codes
            assert set(client.retry_after) == {"1"}
            assert client.health() == NOT_SERVING

            cluster.start_server()
            restarted = time.monotonic()
            _wait_until(lambda: client.health() == SERVING, "health says SERVING again")
            print(f"SERVING {time.monotonic() - restarted:.2f} s after PostgreSQL was back")
            assert client.ready() == 200
            fired_before = _objectives(url)
            _wait_until(lambda: _objectives(url) >= fired_before + 3, "firing resumed")
            assert client.get() == "OK"
    finally:
        exit_code = serve.stop()
    assert exit_code == 0

    verdict = verify(url)
    assert verdict.schedules == SCHEDULES  # no create during the outage went through
    assert verdict.duplicates == 0
    assert verdict.gaps == 0
    log = serve.log.read_text()
    assert len(re.findall(r" WARNING ", log)) == 1, log
    assert len(re.findall(r"WARNING sundial.database: the database is unavailable", log)) == 1
    assert len(re.findall(r"the database is available again", log)) == 1, log
    assert len(re.findall(r"firing paused", log)) == 1, log
    assert "Traceback" not in log
    assert "ERROR" not in log
