"""The tools of `sundial mcp` one by one, through the MCP SDK's in-memory client (the SDK's
own way to test a server, with the real protocol layer: schemas, validation, results)
against a real server in this process. The transports are tested in test_mcp_stdio.py and
tests/e2e/test_mcp_http.py."""

import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import grpc
import pytest
from mcp import Client

from sundial.api.client import authorized_channel
from sundial.mcp.tool_server import build_server
from sundial.mcp.upstream import Upstream
from sundial.server import SundialServer
from sundial.v1 import agent_schedule_service_pb2_grpc
from tests.api.schedule_requests import create_request
from tests.support.auth import ADMIN_SECRET
from tests.support.mcp_calls import answer, complete_next_run, create_agent, tool_error

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


@pytest.fixture
def call(server: SundialServer, workspace: str) -> Callable[[Body], Any]:
    """`call(body)` runs `body` with a client of the tools, as the admin."""
    upstream = Upstream(f"127.0.0.1:{server.port}", workspace, ADMIN_SECRET)

    def run(body: Body) -> Any:
        async def connected() -> Any:
            async with Client(build_server(upstream), raise_exceptions=True) as client:
                return await body(client)

        return anyio.run(connected)

    return run


def tool(tool_name: str, /, **arguments: Any) -> Body:
    async def body(client: Client) -> Any:
        return await client.call_tool(tool_name, arguments)

    return body


def _schedule(channel: grpc.Channel, workspace: str, agent: str) -> str:
    stub = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
    return stub.CreateAgentSchedule(create_request(workspace, agent)).metadata.id


def test_preview_reads_the_cadence_in_its_zone_across_a_dst_change(call):
    preview = answer(
        call(
            tool(
                "preview_schedule",
                cadence="0 9 * * *",
                timezone="America/Los_Angeles",
                after="2026-03-07T00:00:00Z",
                count=3,
            )
        )
    )
    # US clocks go forward on Sunday 2026-03-08: 09:00 is 17:00Z before, 16:00Z after.
    assert preview["fire_times"] == [
        "2026-03-07T17:00:00Z",
        "2026-03-08T16:00:00Z",
        "2026-03-09T16:00:00Z",
    ]
    assert preview["local_times"] == [
        "Sat 2026-03-07 09:00 PST",
        "Sun 2026-03-08 09:00 PDT",
        "Mon 2026-03-09 09:00 PDT",
    ]
    assert preview["timezone"] == "America/Los_Angeles"
    assert preview["message"].startswith("3 fire time(s). Next run at 2026-03-07T17:00:00Z")


def test_preview_of_an_existing_schedule(call, channel, workspace):
    schedule_id = _schedule(channel, workspace, create_agent(channel, workspace, "a"))
    preview = answer(
        call(tool("preview_schedule", schedule_id=schedule_id, after="2026-03-02T12:30:00Z"))
    )
    assert preview["fire_times"][:2] == ["2026-03-02T13:00:00Z", "2026-03-02T14:00:00Z"]
    assert len(preview["fire_times"]) == 5


@pytest.mark.parametrize(
    ("arguments", "argument", "words"),
    [
        ({}, "cadence", "give a cadence or a schedule_id"),
        ({"cadence": "@daily", "schedule_id": "sched_x"}, "cadence", "not both"),
        ({"cadence": "@daily", "after": "next week"}, "after", "not an RFC 3339 time"),
        ({"cadence": "@daily", "after": "2026-03-07T00:00:00"}, "after", "needs an offset"),
    ],
    ids=["neither", "both", "after-not-a-time", "after-without-offset"],
)
def test_preview_refuses_arguments_naming_them(call, arguments, argument, words):
    refused = tool_error(call(tool("preview_schedule", **arguments)))
    assert refused["code"] == "INVALID_ARGUMENT"
    (violation,) = refused["field_violations"]
    assert violation["argument"] == argument
    assert words in violation["description"]


def test_a_count_outside_its_bounds_is_refused_by_the_input_schema(call):
    result = call(tool("preview_schedule", cadence="@daily", count=500))
    assert result.is_error
    assert "less than or equal to 50" in result.content[0].text


def test_parse_schedule_keeps_a_cron_string_as_written(call):
    parsed = answer(call(tool("parse_schedule", text="*/15 9-17 * * 1-5", timezone="Asia/Tokyo")))
    assert parsed["schedule"]["cronExpressions"] == ["*/15 9-17 * * 1-5"]
    assert (parsed["timezone"], parsed["method"]) == ("Asia/Tokyo", "cron")
    assert parsed["confidence"] == 1.0
    assert parsed["description"]


def test_the_agent_is_found_by_name_and_an_unknown_or_shared_name_is_refused(
    call, channel, workspace
):
    create_agent(channel, workspace, "twin")
    create_agent(channel, workspace, "twin")
    for name, words in (("nobody", "no agent is named 'nobody'"), ("twin", "2 agents are named")):
        refused = tool_error(call(tool("list_scheduled_runs", agent=name)))
        assert refused["field_violations"][0]["argument"] == "agent"
        assert words in refused["field_violations"][0]["description"]


def test_list_filters_by_status_and_pages(call, channel, workspace):
    agent = create_agent(channel, workspace, "a")
    ids = [_schedule(channel, workspace, agent) for _ in range(3)]
    answer(call(tool("update_scheduled_run", schedule_id=ids[1], status="paused")))
    paused = answer(call(tool("list_scheduled_runs", status="paused")))
    assert [found["schedule_id"] for found in paused["schedules"]] == [ids[1]]
    first = answer(call(tool("list_scheduled_runs", page_size=2)))
    rest = answer(call(tool("list_scheduled_runs", page_token=first["next_page_token"])))
    listed = first["schedules"] + rest["schedules"]
    assert [found["schedule_id"] for found in listed] == ids
    assert rest["next_page_token"] == ""


def test_update_changes_only_what_is_given_and_refuses_nothing_to_change(call, channel, workspace):
    schedule_id = _schedule(channel, workspace, create_agent(channel, workspace, "a"))
    renamed = answer(call(tool("update_scheduled_run", schedule_id=schedule_id, name="nightly")))
    assert renamed["schedule"]["name"] == "nightly"
    assert renamed["schedule"]["message"] == "summarize the day"  # as it was
    rezoned = answer(
        call(tool("update_scheduled_run", schedule_id=schedule_id, timezone="Europe/Paris"))
    )
    assert rezoned["schedule"]["timezone"] == "Europe/Paris"
    assert rezoned["message"].startswith("Schedule updated. Next run at ")
    refused = tool_error(call(tool("update_scheduled_run", schedule_id=schedule_id)))
    assert "nothing to change" in refused["field_violations"][0]["description"]


def test_a_stale_etag_is_refused_with_what_to_do(call, channel, workspace):
    schedule_id = _schedule(channel, workspace, create_agent(channel, workspace, "a"))
    refused = tool_error(
        call(tool("update_scheduled_run", schedule_id=schedule_id, name="x", etag="stale"))
    )
    assert refused["code"] == "ABORTED"
    assert "read it again" in refused["text"]


def test_delete_then_the_schedule_is_not_found(call, channel, workspace):
    schedule_id = _schedule(channel, workspace, create_agent(channel, workspace, "a"))
    deleted = answer(call(tool("delete_scheduled_run", schedule_id=schedule_id)))
    assert deleted["message"] == f"Schedule {schedule_id} deleted; its past runs remain."
    missing = tool_error(call(tool("trigger_scheduled_run", schedule_id=schedule_id)))
    assert missing["code"] == "NOT_FOUND"
    assert "list_scheduled_runs" in missing["text"]


def test_compare_runs_shows_where_their_outputs_differ(call, channel, workspace):
    agent = create_agent(channel, workspace, "a")
    schedule_id = _schedule(channel, workspace, agent)
    runs = []
    for output in ({"score": 1, "label": "ok"}, {"score": 3, "label": "ok"}):
        answer(call(tool("trigger_scheduled_run", schedule_id=schedule_id)))
        runs.append(complete_next_run(channel, workspace, agent, output))
    compared = answer(call(tool("compare_runs", schedule_id=schedule_id, run_ids=runs)))
    assert [run["run_id"] for run in compared["runs"]] == runs
    assert [run["status"] for run in compared["runs"]] == ["succeeded", "succeeded"]
    (difference,) = compared["differences"]
    assert difference["path"] == "output.score"
    assert [value["value"] for value in difference["values"]] == [1, 3]
    assert compared["message"] == "1 path(s) differ."
    too_few = call(tool("compare_runs", schedule_id=schedule_id, run_ids=runs[:1]))
    assert too_few.is_error


def test_list_runs_by_status_and_a_missing_run(call, channel, workspace):
    agent = create_agent(channel, workspace, "a")
    schedule_id = _schedule(channel, workspace, agent)
    answer(call(tool("trigger_scheduled_run", schedule_id=schedule_id, idempotency_key="k")))
    again = answer(
        call(tool("trigger_scheduled_run", schedule_id=schedule_id, idempotency_key="k"))
    )
    pending = answer(call(tool("list_runs", status="pending")))
    assert [run["run_id"] for run in pending["runs"]] == [again["run"]["run_id"]]
    assert answer(call(tool("list_runs", status="succeeded")))["runs"] == []
    missing = tool_error(call(tool("get_run", run_id="obj_01J00000000000000000000000")))
    assert missing["code"] == "NOT_FOUND"


def test_a_cadence_in_words_creates_the_schedule_it_means(call, channel, workspace):
    agent = create_agent(channel, workspace, "standup")
    created = answer(
        call(
            tool(
                "create_scheduled_run",
                agent="standup",
                cadence="every weekday at 9am Pacific",
                message="post the standup",
            )
        )
    )
    schedule = created["schedule"]
    assert (schedule["agent_id"], schedule["timezone"]) == (agent, "America/Los_Angeles")
    assert schedule["name"] == "every weekday at 9am Pacific"
    assert schedule["description"]
    # Monday 2026-03-02 12:00 UTC is 04:00 in Los Angeles (PST): 09:00 PST that day.
    assert schedule["next_run_at"] == "2026-03-02T17:00:00Z"
    assert schedule["upcoming_run_times"][:2] == ["2026-03-02T17:00:00Z", "2026-03-03T17:00:00Z"]
    assert created["message"] == (
        "Schedule created. Next run at 2026-03-02T17:00:00Z "
        "(Mon 2026-03-02 09:00 PST, America/Los_Angeles)."
    )


def test_words_the_server_cannot_read_are_a_tool_error_on_the_cadence(call, channel, workspace):
    create_agent(channel, workspace, "standup")
    refused = tool_error(
        call(
            tool(
                "create_scheduled_run",
                agent="standup",
                cadence="every fortnightly-ish at 9",
                message="m",
            )
        )
    )
    assert refused["code"] == "INVALID_ARGUMENT"
    assert {v["argument"] for v in refused["field_violations"]} == {"cadence"}
    assert refused["text"].splitlines()[1:] == [
        '- cadence: could not understand "every fortnightly-ish" at character 1'
    ]
    assert answer(call(tool("list_scheduled_runs")))["schedules"] == []


def test_a_cadence_read_with_assumptions_says_so(call, channel, workspace):
    create_agent(channel, workspace, "weekly")
    created = answer(
        call(tool("create_scheduled_run", agent="weekly", cadence="every monday", message="m"))
    )
    assert created["schedule"]["next_run_at"] == "2026-03-09T00:00:00Z"
    # Midnight was assumed: the message says so, with the rules in words.
    message = created["message"]
    assert message.startswith("Schedule created. Next run at 2026-03-09T00:00:00Z")
    assert " Some of the cadence was assumed (confidence 0.8): it reads as '" in message
    assert message.endswith(
        "'; if that is not what was meant, change it with update_scheduled_run."
    )
