"""A REST front apart, `sundial serve --roles rest`, in front of a `sundial serve --roles
api`, both real processes: REST through the front, /readyz following the upstream, a
graceful stop, and the client addresses the api believes only with the shared token."""

import contextlib
import json
import queue
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.test_serve import Process
from tests.gateway.client import Reply, call
from tests.support.auth import ADMIN_SECRET

TOKEN = "shared-by-the-api-and-its-fronts-0123456789"
WRONG = "Bearer wrong-secret-0123456789"
AUTH_FAILURE_BURST = 2
# How long a claim through the front waits upstream: it is in flight when the front stops.
CLAIM_WAIT_SECONDS = 3
READY_TIMEOUT_SECONDS = 30


@dataclass
class Front:
    """The two processes, and REST calls through the front."""

    api: Process
    front: Process
    port: int
    workspace: str

    def __call__(self, method: str, path: str, body: object = None, **headers: str) -> Reply:
        """A call with the admin key unless `authorization` is given."""
        sent = {"Authorization": f"Bearer {ADMIN_SECRET}"}
        sent.update({k.replace("_", "-").title(): v for k, v in headers.items()})
        return call(self.port, method, path, body, sent)

    def agents(self) -> str:
        return f"/v1/workspaces/{self.workspace}/agents"

    def fail(self, client: str) -> int:
        """A call with a wrong key, from `client` behind the trusted proxy (the test)."""
        return self("GET", self.agents(), authorization=WRONG, x_forwarded_for=client).status


@contextlib.contextmanager
def _api_and_front(tmp_path: Path, *, token: str) -> Iterator[Front]:
    api = Process(
        "serve", "--roles", "api", "--database-url", f"sqlite:///{tmp_path / 'api.db'}",
        "--grpc-address", "127.0.0.1:0", "--http-address", "", "--drain-delay", "0",
        "--auth-failure-burst", str(AUTH_FAILURE_BURST),
        # Nothing refills within the test.
        "--auth-failure-per-minute", "0.001",
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET, "SUNDIAL_GATEWAY_TOKEN": token},
    )  # fmt: skip
    front: Process | None = None
    try:
        grpc_port = api.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        workspace = api.wait_for_line(r"default workspace: (ws_\w+)")[1]
        front = Process(
            "serve", "--roles", "rest", "--grpc-target", f"127.0.0.1:{grpc_port}",
            "--http-address", "127.0.0.1:0", "--trusted-proxy", "127.0.0.1/32",
            "--drain-delay", "1",
            env={"SUNDIAL_GATEWAY_TOKEN": token},
        )  # fmt: skip
        http_port = front.wait_for_line(
            rf"serving REST on 127\.0\.0\.1:(\d+), in front of gRPC at 127\.0\.0\.1:{grpc_port}$"
        )[1]
        yield Front(api, front, int(http_port), workspace)
    finally:
        for process in (front, api):
            if process is not None and process.popen.poll() is None:
                process.popen.kill()
            if process is not None:
                process.popen.wait(timeout=30)


def _finish(process: Process) -> str:
    """SIGTERM, the exit code checked; returns what the process wrote."""
    process.popen.send_signal(signal.SIGTERM)
    stdout, stderr = process.finish()
    assert process.popen.returncode == 0, stderr
    return stdout + stderr


def test_rest_through_a_front_apart_then_503_once_its_upstream_stops(tmp_path: Path):
    with _api_and_front(tmp_path, token=TOKEN) as rest:
        assert rest("GET", "/readyz").json() == {"status": "SERVING"}
        agent = rest("POST", rest.agents(), {"metadata": {"name": "helper"}})
        assert agent.status == 200, agent.body
        schedules = f"{rest.agents()}/{agent.json()['metadata']['id']}/schedules"
        body = {
            "metadata": {"name": "nightly"},
            "spec": {
                "initialMessage": "Summarize yesterday's tickets",
                "schedule": {"calendars": [{"hour": [{"start": 2}]}], "timezone": "UTC"},
            },
        }
        created = rest("POST", schedules, body)
        assert created.status == 200, created.body
        path = f"{schedules}/{created.json()['metadata']['id']}"
        assert rest("GET", path).json() == created.json()
        update = {
            "spec": {"notes": "moved"},
            "updateMask": "spec.notes",
            "etag": created.json()["metadata"]["etag"],
        }
        updated = rest("PATCH", path, update)
        assert updated.status == 200, updated.body
        assert updated.json()["spec"]["notes"] == "moved"
        listed = rest("GET", schedules).json()["agentSchedules"]
        assert [s["metadata"]["id"] for s in listed] == [created.json()["metadata"]["id"]]
        assert rest("DELETE", path).status == 200
        assert rest("GET", path).status == 404

        output = _finish(rest.api)

        assert rest("GET", "/readyz").status == 503
        assert rest("GET", rest.agents()).status == 503  # UNAVAILABLE
        assert TOKEN not in output + _finish(rest.front)


def test_with_the_shared_token_the_api_limits_each_client_behind_the_front(tmp_path: Path):
    with _api_and_front(tmp_path, token=TOKEN) as rest:
        for _ in range(AUTH_FAILURE_BURST):
            assert rest.fail("203.0.113.5") == 401
        assert rest.fail("203.0.113.5") == 429
        # Another client of the same front is not limited: the api sees the two apart.
        assert rest.fail("198.51.100.7") == 401
        assert rest("GET", rest.agents()).status == 200


def test_without_a_shared_token_the_api_counts_every_client_as_the_front(tmp_path: Path):
    with _api_and_front(tmp_path, token="") as rest:
        for _ in range(AUTH_FAILURE_BURST):
            assert rest.fail("203.0.113.5") == 401
        assert rest.fail("198.51.100.7") == 429


def test_on_sigterm_a_front_answers_503_to_readyz_and_finishes_requests_in_flight(
    tmp_path: Path,
):
    with _api_and_front(tmp_path, token=TOKEN) as rest:
        agent = rest("POST", rest.agents(), {"metadata": {"name": "idle"}}).json()
        answers: queue.Queue[Reply] = queue.Queue()
        claim_path = f"{rest.agents()}/{agent['metadata']['id']}/objectives:claim"
        claim = {"workerId": "w", "wait": f"{CLAIM_WAIT_SECONDS}s"}
        claiming = threading.Thread(
            target=lambda: answers.put(rest("POST", claim_path, claim)), daemon=True
        )
        claiming.start()

        rest.front.popen.send_signal(signal.SIGTERM)
        # The drain delay (1 s): /readyz says 503 while requests are still served.
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while (ready := rest("GET", "/readyz").status) == 200 and time.monotonic() < deadline:
            pass
        assert ready == 503

        claiming.join(timeout=60)
        answer = answers.get(timeout=1)
        assert (answer.status, json.loads(answer.body).get("objectives", [])) == (200, [])
        _, stderr = rest.front.finish()
        assert rest.front.popen.returncode == 0, stderr
