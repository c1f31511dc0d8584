"""`sundial mcp --http` against a real `sundial serve`, both real processes, driven by the MCP
SDK's own streamable HTTP client: each request's bearer key is the one Sundial checks, so
an admin's calls succeed where a viewer's are refused, and the key the MCP process itself
was started with is never lent to a caller."""

import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from sundial.api.client import authorized_channel
from tests.e2e import test_serve
from tests.e2e.test_serve import Process
from tests.support.auth import ADMIN_SECRET
from tests.support.mcp_calls import (
    TOOL_NAMES,
    answer,
    complete_next_run,
    create_agent,
    key_of_role,
    tool_error,
)

served = test_serve.served  # a `sundial serve` process with the known admin key

pytestmark = pytest.mark.slow(seconds=15)
Body = Callable[[Client], Awaitable[Any]]


@pytest.fixture
def mcp_url(served: tuple[Process, str], tmp_path: Path) -> Iterator[str]:
    serve, address = served
    process = Process(
        "mcp", "--http", "--mcp-address", "127.0.0.1:0",
        env={
            "SUNDIAL_ADDRESS": address,
            "SUNDIAL_WORKSPACE": serve.workspace,
            # Set to show that HTTP callers never get it: each must bring its own.
            "SUNDIAL_API_KEY": ADMIN_SECRET,
            "SUNDIAL_CONFIG": str(tmp_path / "no-config.yaml"),
        },
    )  # fmt: skip
    try:
        yield process.wait_for_line(r"serving MCP on (http://127\.0\.0\.1:\d+/mcp)")[1]
        process.popen.send_signal(signal.SIGTERM)
        assert process.popen.wait(timeout=30) == 0
    finally:
        if process.popen.poll() is None:
            process.popen.kill()


def over_http(url: str, key: str | None, body: Body) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    async def connected() -> Any:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            return await body(client)

    return anyio.run(connected)


def test_each_request_acts_with_its_own_bearer_key(served, mcp_url):
    serve, address = served
    with authorized_channel(address, ADMIN_SECRET) as channel:
        agent = create_agent(channel, serve.workspace, "summarizer")
        viewer = key_of_role(channel, serve.account, serve.workspace, "viewer")
        create = {
            "agent": agent,
            "cadence": "30 6 * * *",
            "timezone": "America/New_York",
            "message": "summarize the news",
            "idempotency_key": "daily-news",
        }

        async def as_admin(client: Client) -> str:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOL_NAMES
            first = answer(await client.call_tool("create_scheduled_run", create))
            again = answer(await client.call_tool("create_scheduled_run", create))
            schedule_id = first["schedule"]["schedule_id"]
            assert again["schedule"]["schedule_id"] == schedule_id
            assert first["message"].startswith("Schedule created. Next run at ")
            assert first["message"].endswith(", America/New_York).")
            listed = answer(await client.call_tool("list_scheduled_runs", {"agent": agent}))
            assert [found["schedule_id"] for found in listed["schedules"]] == [schedule_id]
            ids = {"schedule_id": schedule_id}
            paused = answer(
                await client.call_tool("update_scheduled_run", {**ids, "status": "paused"})
            )
            assert paused["schedule"]["enabled"] is False
            resumed = answer(
                await client.call_tool("update_scheduled_run", {**ids, "status": "active"})
            )
            assert resumed["schedule"]["enabled"] is True
            run = answer(await client.call_tool("trigger_scheduled_run", ids))["run"]
            await anyio.to_thread.run_sync(
                complete_next_run, channel, serve.workspace, agent, "three stories"
            )
            output = answer(await client.call_tool("get_run_output", {"run_id": run["run_id"]}))
            assert (output["status"], output["output"]) == ("succeeded", "three stories")
            return str(schedule_id)

        schedule_id = over_http(mcp_url, ADMIN_SECRET, as_admin)

    async def as_viewer(client: Client) -> None:
        listed = answer(await client.call_tool("list_scheduled_runs", {}))
        assert [found["schedule_id"] for found in listed["schedules"]] == [schedule_id]
        refused = tool_error(
            await client.call_tool("delete_scheduled_run", {"schedule_id": schedule_id})
        )
        assert refused["code"] == "PERMISSION_DENIED"
        assert "viewer role" in refused["message"]

    over_http(mcp_url, viewer, as_viewer)


@pytest.mark.parametrize("key", [None, "sdl_not-a-key-of-this-server-000000"], ids=str)
def test_a_request_without_a_key_or_with_a_wrong_one_is_refused_before_mcp(mcp_url, key):
    async def post() -> httpx2.Response:
        headers = {"Accept": "application/json, text/event-stream"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        async with httpx2.AsyncClient(timeout=60) as http:
            return await http.post(
                mcp_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers=headers,
            )

    refused = anyio.run(post)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_sdk_client_with_a_wrong_key_fails_at_connect(mcp_url):
    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async def connect() -> None:
        async with (
            httpx2.AsyncClient(
                headers={"Authorization": "Bearer sdl_not-a-key-of-this-server-000000"},
                timeout=60,
                event_hooks={"response": [record]},
            ) as http,
            Client(streamable_http_client(mcp_url, http_client=http)),
        ):
            raise AssertionError("the session started with a wrong key")

    with pytest.RaisesGroup(MCPError, flatten_subgroups=True):
        anyio.run(connect)
    # Refused at the first request, the initialize: no MCP session ever started.
    assert statuses[:1] == [401]
