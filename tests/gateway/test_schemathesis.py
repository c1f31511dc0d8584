"""Schemathesis against /openapi.json of a real `sundial serve`: no 5xx, no response that
breaks the schema. Bounded by SUNDIAL_FUZZ_SECONDS (default 90 s): the budget is shared by
schemathesis' phases (examples, coverage, fuzzing, stateful), and fuzzing and stateful testing
repeat until it is spent. Every phase covers every operation well within the default, so a
longer budget only adds repeats (set it higher to fuzz longer by hand)."""

import os
import subprocess
import sys

import pytest

from tests.gateway.client import call
from tests.gateway.served import sundial_serve
from tests.gateway.test_rest_api import SEED_CREATE_BODY
from tests.support.auth import ADMIN_SECRET, bearer

pytestmark = pytest.mark.slow(seconds=110)

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
)
FUZZ_SECONDS = int(os.environ.get("SUNDIAL_FUZZ_SECONDS", "90"))
CONFIG = """
[parameters]
accountId = "{account}"
workspaceId = "{workspace}"
agentId = "{agent}"
scheduleId = "{schedule}"
objectiveId = "{objective}"

# Real resources for DELETE of their own, so deleting them does not starve the others.
[[operations]]
include-method = "DELETE"
parameters = {{ agentId = "{deleted_agent}", scheduleId = "{deleted_schedule}" }}

# A claim long-polls for up to `wait` (at most 60 s) when nothing is pending: keep it short,
# so that it does not eat the time budget, and let a slow answer finish anyway.
[[operations]]
include-operation-id = "ObjectiveService_ClaimObjectives"
request-timeout = 70
parameters = {{ "body.wait" = "1s" }}
"""


def _create(port: int, path: str, body: dict) -> str:
    reply = call(port, "POST", path, body, bearer())
    assert reply.status == 200, reply.body
    return str(reply.json()["metadata"]["id"])


def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path):
    with sundial_serve(f"sqlite:///{tmp_path / 'fuzz.db'}", "--drain-delay", "0") as served:
        port, agents = served.rest_port, f"/v1/workspaces/{served.workspace}/agents"
        # Real ids, so that calls get past NOT_FOUND into validation and the database.
        ids = {}
        for role in ("", "deleted_"):
            agent = _create(port, agents, {"metadata": {"name": f"{role}agent"}})
            ids[f"{role}agent"] = agent
            ids[f"{role}schedule"] = _create(port, f"{agents}/{agent}/schedules", SEED_CREATE_BODY)
        trigger = f"{agents}/{ids['agent']}/schedules/{ids['schedule']}:trigger"
        ids["objective"] = _create(port, trigger, {})
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            CONFIG.format(
                account=served.account,
                workspace=served.workspace,
                agent=ids["agent"],
                schedule=ids["schedule"],
                objective=ids["objective"],
                deleted_agent=ids["deleted_agent"],
                deleted_schedule=ids["deleted_schedule"],
            )
        )
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
             f"http://127.0.0.1:{port}/openapi.json", "--checks", ",".join(CHECKS),
             "--header", f"Authorization: Bearer {ADMIN_SECRET}",
             "--max-time", str(FUZZ_SECONDS),
             # One worker: hypothesis' lambda descriptions call ast.parse, which CPython 3.11
             # does not make safe across threads (SystemError: AST constructor recursion).
             "--workers", "1", "--output-truncate", "true"],
            cwd=tmp_path, capture_output=True, text=True, timeout=FUZZ_SECONDS + 120, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
