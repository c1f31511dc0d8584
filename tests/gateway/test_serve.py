"""`sundial serve` with its REST listener, in a subprocess: seed 001's create call with curl,
readiness through a SIGTERM drain, exit 0."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.gateway.client import call
from tests.gateway.served import sundial_serve
from tests.gateway.test_rest_api import OUR_INFO, OUR_METADATA, SEED, SEED_CREATE_BODY
from tests.support.auth import ADMIN_SECRET

pytestmark = pytest.mark.slow(seconds=15)


def _curl(*args: str) -> tuple[int, dict]:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    result = subprocess.run(
        [curl, "-sS", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {ADMIN_SECRET}",
         *args],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


def test_seed_001_create_with_curl(database_url):
    with sundial_serve(database_url) as served:
        base = f"http://127.0.0.1:{served.rest_port}/v1/workspaces/{served.workspace}"
        status, agent = _curl("-X", "POST", f"{base}/agents", "-d", '{"metadata":{"name":"a"}}')
        assert status == 200
        status, created = _curl(
            "-X", "POST", f"{base}/agents/{agent['metadata']['id']}/schedules",
            "-H", "Content-Type: application/json", "-d", json.dumps(SEED_CREATE_BODY),
        )  # fmt: skip
    assert status == 200, created
    assert set(created["metadata"]) == set(SEED["metadata"]) | OUR_METADATA
    assert set(created["spec"]) == set(SEED_CREATE_BODY["spec"])
    assert set(created["info"]) - OUR_INFO <= set(SEED["info"])
    assert created["spec"]["overlapPolicy"] == "OVERLAP_POLICY_ALLOW"


def test_sigterm_fails_readiness_then_drains_and_exits_zero(database_url):
    with sundial_serve(database_url, "--drain-delay", "3") as served:
        assert call(served.rest_port, "GET", "/readyz").status == 200
        served.popen.send_signal(signal.SIGTERM)
        # During the drain delay REST still answers, and /readyz says NOT_SERVING.
        deadline = time.monotonic() + 3
        while (reply := call(served.rest_port, "GET", "/readyz")).status == 200:
            assert time.monotonic() < deadline, "readiness did not fail after SIGTERM"
        assert reply.json() == {"status": "NOT_SERVING"}
        assert call(served.rest_port, "GET", "/healthz").status == 200
        assert served.popen.wait(timeout=30) == 0


def test_serve_takes_cors_origins_from_flags(database_url):
    origin = "https://app.example.com"
    with sundial_serve(database_url, "--cors-origin", origin, "--trusted-proxy", "10.0.0.0/8") as s:
        reply = call(s.rest_port, "GET", "/healthz", headers={"Origin": origin})
    assert reply.headers["access-control-allow-origin"] == origin


def test_serve_serves_the_console_beside_the_api(database_url):
    with sundial_serve(database_url) as served:
        page = call(served.rest_port, "GET", "/console/")
        health = call(served.rest_port, "GET", "/healthz")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert b'<div id="app">' in page.body
    assert health.status == 200


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (
            ["--cors-origin", "https://app.example.com/"],
            {},
            "did you mean https://app.example.com?",
        ),
        (["--trusted-proxy", "10.0.0.1/8"], {}, "has host bits set"),
        ([], {"SUNDIAL_CORS_ORIGIN": "https://a.example, app.example"}, "SUNDIAL_CORS_ORIGIN"),
        ([], {"SUNDIAL_TRUSTED_PROXY": "10.0.0.0/8,bogus"}, "SUNDIAL_TRUSTED_PROXY"),
    ],
    ids=["origin-with-path", "cidr-host-bits", "env-origin", "env-proxy"],
)
def test_a_bad_cors_origin_or_trusted_proxy_is_refused_at_start(tmp_path, flags, env, message):
    path = tmp_path / "refused.db"
    failed = subprocess.run(
        [sys.executable, "-m", "sundial.cli.main", "serve", "--database-url", f"sqlite:///{path}",
         "--grpc-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", *flags],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, **env},
    )  # fmt: skip
    assert failed.returncode == 2, failed.stderr
    assert message in failed.stderr
    assert not path.exists()
