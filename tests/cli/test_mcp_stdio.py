"""`sundial mcp` over stdio as an MCP host runs it: a `sundial mcp` subprocess with the key
in SUNDIAL_API_KEY, driven by the MCP SDK's own client, calling a real server in this
process (tests/cli/conftest.py's, on free ports and the fake clock)."""

import shutil
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import grpc
import pytest
from mcp import Client, StdioServerParameters

from sundial.api.client import authorized_channel
from sundial.server import SundialServer
from sundial.v1 import agent_schedule_service_pb2_grpc
from tests.api.schedule_requests import create_request
from tests.support.auth import ADMIN_SECRET
from tests.support.mcp_calls import (
    TOOL_NAMES,
    answer,
    complete_next_run,
    create_agent,
    key_of_role,
    tool_error,
)

pytestmark = pytest.mark.slow
SUNDIAL = str(Path(sys.executable).with_name("sundial"))
Body = Callable[[Client], Awaitable[Any]]


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite alone: the MCP server only calls the API, whose own tests cover PostgreSQL."""
    path = tmp_path / "sundial.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def channel(server: SundialServer) -> Iterator[grpc.Channel]:
    with authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as admin:
        yield admin


@pytest.fixture
def workspace(server: SundialServer) -> str:
    return server.bootstrap.default_workspace.id


def over_stdio(server: SundialServer, tmp_path: Path, key: str, body: Body) -> Any:
    """Runs `body` with a client connected to a new `sundial mcp` process."""
    parameters = StdioServerParameters(
        command=SUNDIAL,
        args=["mcp"],
        env={
            "SUNDIAL_ADDRESS": f"127.0.0.1:{server.port}",
            "SUNDIAL_API_KEY": key,
            "SUNDIAL_WORKSPACE": server.bootstrap.default_workspace.id,
            "SUNDIAL_CONFIG": str(tmp_path / "no-config.yaml"),
            "SUNDIAL_LOG_LEVEL": "WARNING",
        },
    )

    async def connected() -> Any:
        async with Client(parameters) as client:
            return await body(client)

    return anyio.run(connected)


def test_lists_every_tool_with_a_description_and_both_schemas(server, tmp_path):
    async def body(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in over_stdio(server, tmp_path, ADMIN_SECRET, body)}
    assert set(tools) == TOOL_NAMES
    for tool in tools.values():
        assert len(tool.description or "") > 80, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None, tool.name
    create = tools["create_scheduled_run"]
    assert set(create.input_schema["required"]) == {"agent", "cadence", "message"}
    assert "idempotency_key" in create.input_schema["properties"]
    assert set(create.output_schema["properties"]) == {"schedule", "message"}
    assert tools["get_run"].annotations.read_only_hint is True
    assert tools["delete_scheduled_run"].annotations.destructive_hint is True


def test_a_scheduled_run_from_creation_to_its_output(server, channel, workspace, tmp_path):
    agent = create_agent(channel, workspace, "forecaster")
    create = {
        "agent": "forecaster",  # by name: the tool finds its id
        "cadence": "0 8 * * 1",
        "timezone": "Europe/Berlin",
        "message": "forecast the week",
        "data": {"region": "eu"},
        "idempotency_key": "weekly-forecast-1",
    }

    async def body(client: Client) -> None:
        first = answer(await client.call_tool("create_scheduled_run", create))
        schedule = first["schedule"]
        assert schedule["agent_id"] == agent
        assert (schedule["cadence"], schedule["timezone"]) == ("0 8 * * 1", "Europe/Berlin")
        assert (schedule["status"], schedule["data"]) == ("active", {"region": "eu"})
        # The fake clock is Monday 2026-03-02 12:00 UTC: next Monday 08:00 in Berlin (CET).
        assert schedule["next_run_at"] == "2026-03-09T07:00:00Z"
        assert first["message"] == (
            "Schedule created. Next run at 2026-03-09T07:00:00Z "
            "(Mon 2026-03-09 08:00 CET, Europe/Berlin)."
        )
        again = answer(await client.call_tool("create_scheduled_run", create))
        assert again["schedule"]["schedule_id"] == schedule["schedule_id"]
        listed = answer(await client.call_tool("list_scheduled_runs", {}))
        assert [found["schedule_id"] for found in listed["schedules"]] == [schedule["schedule_id"]]

        ids = {"schedule_id": schedule["schedule_id"]}
        paused = answer(
            await client.call_tool(
                "update_scheduled_run", {**ids, "status": "paused", "reason": "holiday"}
            )
        )
        assert (paused["schedule"]["status"], paused["schedule"]["next_run_at"]) == ("paused", None)
        assert paused["message"].startswith("Schedule paused")
        resumed = answer(
            await client.call_tool(
                "update_scheduled_run", {**ids, "status": "active", "message": "forecast it"}
            )
        )
        assert (resumed["schedule"]["status"], resumed["schedule"]["message"]) == (
            "active",
            "forecast it",
        )
        assert resumed["message"].startswith("Schedule resumed. Next run at 2026-03-09T07:00:00Z")

        run = answer(await client.call_tool("trigger_scheduled_run", ids))["run"]
        assert (run["trigger"], run["status"]) == ("manual", "pending")
        waiting = answer(await client.call_tool("get_run_output", {"run_id": run["run_id"]}))
        assert (waiting["finished"], waiting["has_output"]) == (False, False)
        finished = await anyio.to_thread.run_sync(
            complete_next_run, channel, workspace, agent, {"rain": [0.1, 0.7]}
        )
        assert finished == run["run_id"]
        output = answer(await client.call_tool("get_run_output", {"run_id": run["run_id"]}))
        assert (output["status"], output["finished"]) == ("succeeded", True)
        assert output["output"] == {"rain": [0.1, 0.7]}
        detail = answer(await client.call_tool("get_run", {"run_id": run["run_id"]}))
        assert (detail["message"], detail["data"]) == ("forecast it", {"region": "eu"})
        runs = answer(await client.call_tool("list_runs", ids))
        assert [found["run_id"] for found in runs["runs"]] == [run["run_id"]]

    over_stdio(server, tmp_path, ADMIN_SECRET, body)


def test_a_viewer_key_reads_but_every_change_is_refused_with_a_clear_error(
    server, channel, workspace, tmp_path
):
    agent = create_agent(channel, workspace, "reporter")
    schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
    schedule_id = schedules.CreateAgentSchedule(create_request(workspace, agent)).metadata.id
    viewer = key_of_role(channel, server.bootstrap.account.id, workspace, "viewer")
    changes = [
        ("create_scheduled_run", {"agent": agent, "cadence": "@daily", "message": "m"}),
        ("trigger_scheduled_run", {"schedule_id": schedule_id}),
        ("update_scheduled_run", {"schedule_id": schedule_id, "status": "paused"}),
        ("delete_scheduled_run", {"schedule_id": schedule_id}),
    ]

    async def body(client: Client) -> None:
        listed = answer(await client.call_tool("list_scheduled_runs", {}))
        assert [found["schedule_id"] for found in listed["schedules"]] == [schedule_id]
        for tool, arguments in changes:
            refused = tool_error(await client.call_tool(tool, arguments))
            assert refused["code"] == "PERMISSION_DENIED", tool
            assert "viewer role lacks the write permission" in refused["message"]
            assert "ask the user for a key whose role allows it" in refused["text"]

    over_stdio(server, tmp_path, viewer, body)


def test_a_cadence_the_server_cannot_read_names_the_argument(server, channel, workspace, tmp_path):
    agent = create_agent(channel, workspace, "reporter")

    async def body(client: Client) -> dict[str, Any]:
        return tool_error(
            await client.call_tool(
                "create_scheduled_run", {"agent": agent, "cadence": "0 25 * * *", "message": "m"}
            )
        )

    refused = over_stdio(server, tmp_path, ADMIN_SECRET, body)
    assert refused["code"] == "INVALID_ARGUMENT"
    assert [v["argument"] for v in refused["field_violations"]] == ["cadence"]
    assert refused["text"].startswith("INVALID_ARGUMENT: ")
    assert "- cadence: " in refused["text"]


def test_without_an_api_key_the_command_says_so_and_exits_2(tmp_path):
    result = anyio.run(_run_without_key, tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        "sundial mcp: no API key: set SUNDIAL_API_KEY, pass --api-key-file, or give the context one"
    )


async def _run_without_key(tmp_path: Path) -> Any:
    env = {"SUNDIAL_CONFIG": str(tmp_path / "none.yaml"), "PATH": str(Path(SUNDIAL).parent)}
    return await anyio.run_process([SUNDIAL, "mcp"], env=env, check=False)
