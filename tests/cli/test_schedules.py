"""`sundial schedules ...` against a real server (fires driven by the fake clock)."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from tests.cli.conftest import Sundial, as_json, as_yaml, failed, ok


@pytest.fixture
def agent_id(sundial: Sundial) -> str:
    return str(as_json(sundial("agents", "create", "helper", "-o", "json"))["metadata"]["id"])


def _create(sundial: Sundial, agent_id: str, *flags: str) -> dict:
    return as_json(sundial("schedules", "create", agent_id, "--name", "s", *flags, "-o", "json"))


def test_create_with_flags_for_the_common_cases(sundial: Sundial, agent_id: str):
    created = _create(
        sundial, agent_id,
        "--cron", "0 9 * * MON-FRI", "--cron", "30 17 * * FRI", "--every", "1h30m",
        "--at", "2026-12-24T18:00:00+01:00", "--timezone", "Europe/Berlin",
        "--message", "summarize the inbox", "--overlap", "buffer-one",
        "--data", '{"folder": "INBOX"}', "--max-fires", "50", "--notes", "n",
    )  # fmt: skip
    spec = created["spec"]
    assert spec["schedule"] == {
        "cronExpressions": ["0 9 * * MON-FRI", "30 17 * * FRI"],
        "intervals": [{"every": "5400s"}],
        "at": ["2026-12-24T17:00:00Z"],
        "timezone": "Europe/Berlin",
    }
    assert spec["initialMessage"] == "summarize the inbox"
    assert spec["overlapPolicy"] == "OVERLAP_POLICY_BUFFER_ONE"
    assert spec["data"] == {"folder": "INBOX"}
    assert spec["maxFires"] == 50
    assert created["info"]["agentId"] == agent_id


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--every", "soon"), "'soon' is not a duration like 90s, 15m, 1h30m or 2d"),
        (("--every", "0s"), "'0s' must be longer than zero"),
        (("--at", "2026-12-24T18:00:00"), "needs an offset (Z or +01:00)"),
        (("--at", "christmas"), "'christmas' is not an ISO 8601 time"),
        (("--data", "{oops"), "'{oops' is not JSON"),
        (("--overlap", "sometimes"), "'sometimes' is not one of"),
    ],
    ids=["every-words", "every-zero", "at-no-offset", "at-words", "data", "overlap"],
)
def test_a_bad_flag_value_is_a_usage_error_naming_it(
    sundial: Sundial, agent_id: str, flags: tuple[str, ...], message: str
):
    result = sundial("schedules", "create", agent_id, "--message", "m", *flags)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_servers_violations_are_one_line_with_each_field(sundial: Sundial, agent_id: str):
    result = sundial(
        "schedules", "create", agent_id, "--name", "s", "--cron", "0 99 * * *",
        "--every", "1h", "--at", "2026-03-02T11:00:00Z",
    )  # fmt: skip
    line = failed(result, 2)
    assert line.startswith("sundial schedules create: INVALID_ARGUMENT: ")
    assert "spec.initial_message: " in line or "spec.initialMessage: " in line
    assert "cron" in line
    assert "hour 99 is out of range 0-23" in line


def test_create_from_a_file(sundial: Sundial, agent_id: str, tmp_path: Path):
    path = tmp_path / "schedule.yaml"
    path.write_text(
        "metadata: {name: nightly, labels: {team: ops}}\n"
        "spec:\n"
        "  initialMessage: from the file\n"
        "  schedule:\n"
        "    calendars: [{hour: [{start: 2}], minute: [{start: 0}]}]\n"
        "    startTime: 2026-04-01T00:00:00Z\n"
    )
    created = as_yaml(
        sundial("schedules", "create", agent_id, "-f", str(path), "--message", "flag wins",
                "-o", "yaml")
    )  # fmt: skip
    assert created["metadata"]["labels"] == {"team": "ops"}
    assert created["spec"]["initialMessage"] == "flag wins"
    assert created["spec"]["schedule"]["startTime"] == "2026-04-01T00:00:00Z"
    assert created["info"]["nextFireAt"] == "2026-04-01T02:00:00Z"
    path.write_text(json.dumps({"metadata": {"name": "x"}, "spec": {}, "info": {}}))
    assert failed(sundial("schedules", "create", agent_id, "-f", str(path)), 2) == (
        f"sundial schedules create: {path}: info is not one of metadata, spec"
    )


def test_list_and_get_in_every_format(sundial: Sundial, agent_id: str):
    first = _create(sundial, agent_id, "--cron", "0 9 * * *", "--message", "m")
    second = _create(sundial, agent_id, "--every", "15m", "--message", "m")
    table = ok(sundial("schedules", "list"))
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "AGENT", "NAME", "STATUS", "WHEN", "NEXT", "FIRE", "FIRES"]
    assert "cron 0 9 * * *" in lines[2]
    assert "ACTIVE" in lines[2]
    assert "every 900s" in lines[3]
    listed = as_json(sundial("schedules", "list", "--agent", agent_id, "-o", "json"))
    assert [s["metadata"]["id"] for s in listed] == [
        first["metadata"]["id"],
        second["metadata"]["id"],
    ]
    got = as_yaml(sundial("schedules", "get", second["metadata"]["id"], "-o", "yaml"))
    assert got == second
    assert (
        as_json(
            sundial("schedules", "get", second["metadata"]["id"], "--agent", agent_id, "-o", "json")
        )
        == second
    )
    assert failed(sundial("schedules", "get", "sched_nope"), 3).endswith("was not found")


def test_update_changes_only_the_flags_given(sundial: Sundial, agent_id: str):
    created = _create(
        sundial, agent_id, "--cron", "0 9 * * *", "--message", "old", "--notes", "keep"
    )
    schedule_id = created["metadata"]["id"]
    updated = as_json(
        sundial("schedules", "update", schedule_id, "--cron", "0 10 * * *", "-o", "json")
    )
    assert updated["spec"]["schedule"]["cronExpressions"] == ["0 10 * * *"]
    assert updated["spec"]["initialMessage"] == "old"
    assert updated["spec"]["notes"] == "keep"
    stale = sundial(
        "schedules", "update", schedule_id, "--message", "x", "--etag", created["metadata"]["etag"]
    )
    assert failed(stale, 5).startswith("sundial schedules update: ABORTED: ")
    assert "nothing to change" in failed(sundial("schedules", "update", schedule_id), 2)


def test_pause_resume_archive_delete(sundial: Sundial, agent_id: str):
    schedule_id = _create(sundial, agent_id, "--every", "1h", "--message", "m")["metadata"]["id"]
    paused = as_json(
        sundial("schedules", "pause", schedule_id, "--reason", "holiday", "-o", "json")
    )
    assert paused["spec"]["status"] == "AGENT_SCHEDULE_STATUS_PAUSED"
    assert "nextFireAt" not in paused["info"]
    resumed = ok(sundial("schedules", "resume", schedule_id))
    assert "ACTIVE" in resumed.splitlines()[2]
    archived = as_yaml(sundial("schedules", "archive", schedule_id, "-o", "yaml"))
    assert archived["spec"]["status"] == "AGENT_SCHEDULE_STATUS_ARCHIVED"
    assert as_json(sundial("schedules", "list", "-o", "json")) == []
    assert len(as_json(sundial("schedules", "list", "--show-archived", "-o", "json"))) == 1
    assert ok(sundial("schedules", "delete", schedule_id)) == f"deleted {schedule_id}\n"
    assert failed(sundial("schedules", "delete", schedule_id), 3).startswith(
        "sundial schedules delete: NOT_FOUND: "
    )


def test_trigger_prints_the_run_and_backfill_fires_the_past(
    sundial: Sundial, agent_id: str, clock: FakeClock
):
    schedule_id = _create(sundial, agent_id, "--every", "1h", "--message", "m")["metadata"]["id"]
    run = as_json(sundial("schedules", "trigger", schedule_id, "-o", "json"))
    assert run["spec"]["triggerKind"] == "TRIGGER_KIND_MANUAL"
    assert run["spec"]["scheduleId"] == schedule_id
    table = ok(sundial("schedules", "trigger", schedule_id, "--request-id", "once"))
    assert "MANUAL" in table
    assert "PENDING" in table
    clock.advance(timedelta(hours=5))
    filled = ok(sundial("schedules", "backfill", schedule_id, "--start", "2026-03-02T13:00:00Z",
                        "--end", "2026-03-02T16:00:00Z"))  # fmt: skip
    assert filled.count("BACKFILL") == 3
    assert filled.splitlines()[-1] == "created 3, already there 0, skipped 0"
    again = as_json(sundial("schedules", "backfill", schedule_id, "--start", "2026-03-02T13:00:00Z",
                            "--end", "2026-03-02T16:00:00Z", "-o", "json"))  # fmt: skip
    assert again.get("createdCount", 0) == 0
    assert again["existingCount"] == 3


def test_preview_of_rules_and_of_a_schedule(sundial: Sundial, agent_id: str):
    shown = as_json(sundial("schedules", "preview", "--cron", "0 9 * * *", "--timezone",
                            "America/New_York", "-n", "2", "--after", "2026-03-07T00:00:00Z",
                            "-o", "json"))  # fmt: skip
    # New York moves its clocks on 2026-03-08: 09:00 is 14:00 UTC, then 13:00 UTC.
    assert shown["fireTimes"] == ["2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"]
    schedule_id = _create(sundial, agent_id, "--every", "1h", "--message", "m")["metadata"]["id"]
    table = ok(sundial("schedules", "preview", schedule_id, "-n", "3"))
    assert table.splitlines()[0].split() == ["FIRES", "AT", "NOMINAL"]
    assert "2026-03-02T13:00:00Z" in table.splitlines()[2]
    assert len(table.splitlines()) == 5
    assert "not both" in failed(sundial("schedules", "preview", schedule_id, "--every", "1h"), 2)
    assert "INVALID_ARGUMENT" in failed(sundial("schedules", "preview", "--cron", "nope"), 2)


def test_describe_shows_next_fires_recent_runs_and_counters(
    sundial: Sundial, agent_id: str, server: SundialServer, clock: FakeClock
):
    schedule_id = _create(sundial, agent_id, "--every", "1h", "--message", "hello")["metadata"][
        "id"
    ]
    clock.advance(timedelta(hours=1))
    assert server.engine.run_pass() == 1
    shown = ok(sundial("schedules", "describe", schedule_id, "-n", "2"))
    assert f"Schedule {schedule_id}" in shown
    assert "every 3600s" in shown
    assert "hello" in shown
    counters = {line.split("  ")[0]: line.split()[-1] for line in shown.splitlines() if line}
    assert counters["Fires"] == "1"
    assert "2026-03-02T14:00:00Z" in shown
    assert "2026-03-02T15:00:00Z" in shown
    assert "SCHEDULED" in shown
    assert "PENDING" in shown
    document = as_yaml(sundial("schedules", "describe", schedule_id, "-n", "2", "-o", "yaml"))
    assert document["nextFireTimes"] == ["2026-03-02T14:00:00Z", "2026-03-02T15:00:00Z"]
    assert [run["spec"]["scheduledTime"] for run in document["recentRuns"]] == [
        "2026-03-02T13:00:00Z"
    ]
    assert document["schedule"]["info"]["totalFires"] == 1
