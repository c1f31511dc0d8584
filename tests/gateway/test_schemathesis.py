"""Schemathesis against /openapi.json of a real `sundial serve`: no 5xx, no response that
breaks the schema. Bounded by SUNDIAL_FUZZ_SECONDS (default 150 s of fuzzing)."""

import os
import subprocess
import sys

import pytest

from tests.gateway.client import call
from tests.gateway.served import sundial_serve
from tests.gateway.test_rest_api import SEED_CREATE_BODY

pytestmark = pytest.mark.slow

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
)
FUZZ_SECONDS = int(os.environ.get("SUNDIAL_FUZZ_SECONDS", "150"))


def _create(port: int, path: str, body: dict) -> str:
    reply = call(port, "POST", path, body)
    assert reply.status == 200, reply.body
    return str(reply.json()["metadata"]["id"])


def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path):
    with sundial_serve(f"sqlite:///{tmp_path / 'fuzz.db'}", "--drain-delay", "0") as served:
        port, agents = served.rest_port, f"/v1/workspaces/{served.workspace}/agents"
        # Real ids, so that calls get past NOT_FOUND into validation and the database; DELETE
        # gets its own resources, so deleting them does not starve the other operations.
        ids = {}
        for role in ("", "deleted_"):
            agent = _create(port, agents, {"metadata": {"name": f"{role}agent"}})
            ids[f"{role}agent"] = agent
            ids[f"{role}schedule"] = _create(port, f"{agents}/{agent}/schedules", SEED_CREATE_BODY)
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            f'[parameters]\nworkspaceId = "{served.workspace}"\n'
            f'agentId = "{ids["agent"]}"\nscheduleId = "{ids["schedule"]}"\n\n'
            f'[[operations]]\ninclude-method = "DELETE"\n'
            f'parameters = {{ agentId = "{ids["deleted_agent"]}", '
            f'scheduleId = "{ids["deleted_schedule"]}" }}\n'
        )
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
             f"http://127.0.0.1:{port}/openapi.json", "--checks", ",".join(CHECKS),
             "--max-time", str(FUZZ_SECONDS),
             # One worker: hypothesis' lambda descriptions call ast.parse, which CPython 3.11
             # does not make safe across threads (SystemError: AST constructor recursion).
             "--workers", "1", "--output-truncate", "true"],
            cwd=tmp_path, capture_output=True, text=True, timeout=FUZZ_SECONDS + 120, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
