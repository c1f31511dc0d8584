"""`sundial apply` against a real server: create, update, a second apply that changes
nothing, prune, the dry-run diff, the files' errors, and a 10,000-schedule bundle."""

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from sundial.api.json_client import JsonClient
from sundial.cli import apply as apply_module
from sundial.server import SundialServer
from sundial.service.webhook_signing import generate_secret
from tests.cli.conftest import Sundial, as_json, failed, ok
from tests.support.auth import ADMIN_SECRET

AGENT = {
    "kind": "Agent",
    "metadata": {"bundleKey": "mail", "externalId": "helper", "name": "Mail helper",
                 "labels": {"team": "mail"}},
    "spec": {"description": "answers mail",
             "variations": [{"id": "fast", "name": "Fast", "weight": 2, "config": {"model": "s"}}]},
}  # fmt: skip
DIGEST = {
    "kind": "AgentSchedule",
    "agent": "helper",
    "metadata": {"bundleKey": "mail", "externalId": "digest", "name": "Morning digest"},
    "spec": {
        "initialMessage": "summarize the inbox",
        "schedule": {
            "cronExpressions": ["0 9 * * MON-FRI"],
            "timezone": "Europe/Berlin",
            # Written in other spellings than the server prints: still the same values.
            "at": ["2026-12-24T18:00:00+01:00"],
            "intervals": [{"every": "5400.000s"}],
            "calendars": [{"hour": [{"start": 7}], "minute": [{"start": 30}]}],
            "jitter": "60s",
        },
        "data": {"folder": "INBOX", "limit": 20},
        "overlapPolicy": "OVERLAP_POLICY_BUFFER_ONE",
        "retryPolicy": {"maxAttempts": 3, "initialBackoff": "10s"},
        "executionTimeout": "900s",
    },
}
WEEKLY = {
    "kind": "AgentSchedule",
    "agent": "helper",
    "metadata": {"bundleKey": "mail", "externalId": "weekly", "name": "Weekly report"},
    "spec": {"initialMessage": "weekly report", "schedule": {"cronExpressions": ["0 8 * * MON"]}},
}


def _write(path: Path, *documents: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return str(path)


def _schedules(sundial: Sundial) -> dict[str, dict]:
    listed = as_json(sundial("schedules", "list", "--all", "--show-archived", "-o", "json"))
    return {s["metadata"].get("externalId", s["metadata"]["id"]): s for s in listed}


def _agents(sundial: Sundial) -> dict[str, dict]:
    listed = as_json(sundial("agents", "list", "--all", "-o", "json"))
    return {a["metadata"].get("externalId", a["metadata"]["id"]): a for a in listed}


def _lines(result) -> list[str]:
    return ok(result).splitlines()


def test_apply_creates_and_applying_again_changes_nothing(sundial: Sundial, tmp_path: Path):
    path = _write(tmp_path / "bundle.yaml", AGENT, DIGEST, WEEKLY)
    first = _lines(sundial("apply", "-f", path))
    agent = _agents(sundial)["helper"]
    schedules = _schedules(sundial)
    assert first == [
        f"agent/helper: created {agent['metadata']['id']}",
        f"schedule/digest: created {schedules['digest']['metadata']['id']}",
        f"schedule/weekly: created {schedules['weekly']['metadata']['id']}",
        "bundle mail: 3 created, 0 updated, 0 deleted, 0 unchanged",
    ]
    assert agent["metadata"]["labels"] == {"team": "mail"}
    digest = schedules["digest"]
    assert digest["info"]["agentId"] == agent["metadata"]["id"]
    assert digest["metadata"]["bundleKey"] == "mail"
    assert digest["spec"]["schedule"]["at"] == ["2026-12-24T17:00:00Z"]
    assert digest["spec"]["data"] == {"folder": "INBOX", "limit": 20}

    second = _lines(sundial("apply", "-f", path))
    assert second == [
        "agent/helper: unchanged",
        "schedule/digest: unchanged",
        "schedule/weekly: unchanged",
        "bundle mail: 0 created, 0 updated, 0 deleted, 3 unchanged",
    ]
    assert _schedules(sundial) == schedules  # not even an etag moved
    assert _agents(sundial) == {"helper": agent}


def test_apply_updates_only_the_changed_fields_with_the_etag(sundial: Sundial, tmp_path: Path):
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, AGENT, DIGEST, WEEKLY)))
    before = _schedules(sundial)
    # Changed on the server since: a pause (with its reason in notes) that the files do not
    # mention; apply leaves both alone.
    ok(sundial("schedules", "pause", before["weekly"]["metadata"]["id"], "--reason", "holiday"))
    digest = json.loads(json.dumps(DIGEST))
    digest["spec"]["schedule"]["cronExpressions"] = ["0 10 * * MON-FRI"]
    digest["metadata"]["labels"] = {"tier": "gold"}
    weekly = json.loads(json.dumps(WEEKLY))
    weekly["spec"]["initialMessage"] = "the weekly report"
    agent = json.loads(json.dumps(AGENT))
    del agent["spec"]["variations"]
    lines = _lines(sundial("apply", "-f", _write(path, agent, digest, weekly)))
    assert lines == [
        "agent/helper: updated (spec.variations)",
        "schedule/digest: updated (metadata.labels, spec.schedule.cronExpressions)",
        "schedule/weekly: updated (spec.initialMessage)",
        "bundle mail: 0 created, 3 updated, 0 deleted, 0 unchanged",
    ]
    after = _schedules(sundial)
    assert after["digest"]["metadata"]["id"] == before["digest"]["metadata"]["id"]
    assert after["digest"]["metadata"]["etag"] != before["digest"]["metadata"]["etag"]
    assert after["digest"]["spec"]["schedule"]["cronExpressions"] == ["0 10 * * MON-FRI"]
    assert after["digest"]["spec"]["schedule"]["timezone"] == "Europe/Berlin"
    assert after["digest"]["metadata"]["labels"] == {"tier": "gold"}
    assert after["weekly"]["spec"]["initialMessage"] == "the weekly report"
    assert after["weekly"]["spec"]["status"] == "AGENT_SCHEDULE_STATUS_PAUSED"
    assert after["weekly"]["spec"]["notes"] == "holiday"
    assert "variations" not in _agents(sundial)["helper"]["spec"]
    assert _lines(sundial("apply", "-f", str(path)))[-1] == (
        "bundle mail: 0 created, 0 updated, 0 deleted, 3 unchanged"
    )

    # A document that sets status manages it: ACTIVE resumes the paused schedule.
    weekly["spec"]["status"] = "AGENT_SCHEDULE_STATUS_ACTIVE"
    lines = _lines(sundial("apply", "-f", _write(path, agent, digest, weekly)))
    assert "schedule/weekly: updated (spec.status)" in lines
    assert _schedules(sundial)["weekly"]["spec"]["status"] == "AGENT_SCHEDULE_STATUS_ACTIVE"


def test_an_update_after_a_concurrent_change_fails_on_the_etag(
    sundial: Sundial, tmp_path: Path, server: SundialServer, monkeypatch: pytest.MonkeyPatch
):
    """apply sends the etag it listed: a change made in between is not overwritten."""
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, AGENT, DIGEST)))
    digest = json.loads(json.dumps(DIGEST))
    digest["spec"]["initialMessage"] = "new"
    schedule_id = _schedules(sundial)["digest"]["metadata"]["id"]
    listed = apply_module._bundle_resources

    def list_then_change(client: Any, workspace: str, key: str) -> Any:
        resources = listed(client, workspace, key)
        with JsonClient(f"127.0.0.1:{server.port}", ADMIN_SECRET) as other:
            other.call("AgentScheduleService.UpdateAgentSchedule", {
                "workspaceId": workspace, "agentId": "-", "scheduleId": schedule_id,
                "spec": {"notes": "meanwhile"}, "updateMask": "spec.notes",
            })  # fmt: skip
        return resources

    monkeypatch.setattr(apply_module, "_bundle_resources", list_then_change)
    line = failed(sundial("apply", "-f", _write(path, AGENT, digest)), 5)
    assert line.startswith(f"sundial apply: schedule/digest ({path}, document 2): ABORTED: ")
    assert _schedules(sundial)["digest"]["spec"]["initialMessage"] == "summarize the inbox"


def test_prune_deletes_only_what_left_the_bundle(sundial: Sundial, tmp_path: Path):
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, AGENT, DIGEST, WEEKLY)))
    # The same externalIds outside the bundle, in another bundle and in none.
    other = {**AGENT, "metadata": {**AGENT["metadata"], "bundleKey": "other"}}
    ok(sundial("apply", "-f", _write(tmp_path / "other.yaml", other)))
    outsider = as_json(sundial("agents", "create", "loose", "-o", "json"))["metadata"]["id"]
    loose = as_json(sundial(
        "schedules", "create", outsider, "--name", "weekly", "--every", "1h", "--message", "m",
        "-o", "json",
    ))["metadata"]["id"]  # fmt: skip
    ids = {key: s["metadata"]["id"] for key, s in _schedules(sundial).items()}

    kept = sundial("apply", "-f", _write(path, AGENT, DIGEST))
    assert _lines(kept)[-1] == "bundle mail: 0 created, 0 updated, 0 deleted, 2 unchanged"
    assert kept.stderr == (
        "bundle 'mail' has 1 resource(s) not in the files (schedule/weekly); --prune deletes them\n"
    )
    assert ids["weekly"] in {s["metadata"]["id"] for s in _schedules(sundial).values()}

    pruned = _lines(sundial("apply", "-f", str(path), "--prune"))
    assert pruned == [
        "agent/helper: unchanged",
        "schedule/digest: unchanged",
        f"schedule/weekly: deleted {ids['weekly']}",
        "bundle mail: 0 created, 0 updated, 1 deleted, 2 unchanged",
    ]
    remaining = {s["metadata"]["id"] for s in _schedules(sundial).values()}
    assert remaining == {ids["digest"], loose}

    # The whole bundle's agent leaves too, with its schedules; the other bundle's and the
    # loose agent stay.
    solo = {**AGENT, "metadata": {**AGENT["metadata"], "externalId": "solo"}}
    ok(sundial("apply", "-f", _write(path, solo, {**WEEKLY, "agent": "solo"}), "--prune"))
    agents = as_json(sundial("agents", "list", "--all", "-o", "json"))
    owners = [
        (a["metadata"].get("bundleKey", ""), a["metadata"].get("externalId", "")) for a in agents
    ]
    assert sorted(owners) == [("", ""), ("mail", "solo"), ("other", "helper")]


def test_prune_never_deletes_an_agent_with_schedules_outside_the_bundle(
    sundial: Sundial, tmp_path: Path
):
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, AGENT)))
    agent_id = _agents(sundial)["helper"]["metadata"]["id"]
    ok(
        sundial(
            "schedules", "create", agent_id, "--name", "mine", "--every", "1h", "--message", "m"
        )
    )
    solo = {**AGENT, "metadata": {**AGENT["metadata"], "externalId": "solo"}}
    line = failed(sundial("apply", "-f", _write(path, solo), "--prune"), 5)
    assert line == (
        f"sundial apply: --prune: agent/helper ({agent_id}) left the files but has 1 "
        "schedule(s) outside the bundle: delete or re-home them first"
    )
    assert set(_agents(sundial)) == {"helper"}  # nothing was done, not even the create


def test_dry_run_prints_the_diff_and_changes_nothing(sundial: Sundial, tmp_path: Path):
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, AGENT, DIGEST, WEEKLY)))
    before = (_agents(sundial), _schedules(sundial))
    digest = json.loads(json.dumps(DIGEST))
    digest["spec"]["schedule"]["timezone"] = "America/New_York"
    del digest["spec"]["retryPolicy"]
    fresh = {**WEEKLY, "metadata": {**WEEKLY["metadata"], "externalId": "fresh"}}
    _write(path, AGENT, digest, fresh)
    lines = _lines(sundial("apply", "-f", str(path), "--prune", "--dry-run"))
    assert lines == [
        "agent/helper: unchanged",
        "schedule/digest: would update (spec.schedule.timezone, spec.retryPolicy.maxAttempts, "
        "spec.retryPolicy.initialBackoff)",
        '    spec.schedule.timezone: "Europe/Berlin" -> "America/New_York"',
        "    spec.retryPolicy.maxAttempts: 3 -> (unset)",
        '    spec.retryPolicy.initialBackoff: "10s" -> (unset)',
        "schedule/fresh: would create",
        f"schedule/weekly: would delete {before[1]['weekly']['metadata']['id']}",
        "bundle mail (dry run, nothing changed): 1 to create, 1 to update, 1 to delete, "
        "1 unchanged",
    ]
    assert (_agents(sundial), _schedules(sundial)) == before
    plan = as_json(sundial("apply", "-f", str(path), "--prune", "--dry-run", "-o", "json"))
    assert plan["dryRun"] is True
    assert plan["counts"] == {"create": 1, "update": 1, "delete": 1, "unchanged": 1}
    assert [(c["externalId"], c["action"]) for c in plan["changes"]] == [
        ("helper", "unchanged"), ("digest", "update"), ("fresh", "create"), ("weekly", "delete"),
    ]  # fmt: skip
    # And applied, it does what it said.
    applied = as_json(sundial("apply", "-f", str(path), "--prune", "-o", "json"))
    assert applied["counts"] == plan["counts"]
    assert applied["dryRun"] is False
    after = _schedules(sundial)
    assert set(after) == {"digest", "fresh"}
    assert (
        "retryPolicy" not in after["digest"]["spec"] or after["digest"]["spec"]["retryPolicy"] == {}
    )
    assert _lines(sundial("apply", "-f", str(path), "--prune"))[-1] == (
        "bundle mail: 0 created, 0 updated, 0 deleted, 3 unchanged"
    )


def test_a_directory_of_yaml_and_json_files_read_in_name_order(sundial: Sundial, tmp_path: Path):
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "b-schedules.json").write_text(json.dumps([DIGEST, WEEKLY]))
    _write(folder / "a-agent.yml", AGENT)
    (folder / "notes.txt").write_text("not read")
    lines = _lines(sundial("apply", "-f", str(folder)))
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "agent/helper", "schedule/digest", "schedule/weekly",
    ]  # fmt: skip
    # stdin, as `-f -`
    result = sundial("apply", "-f", "-", "--dry-run", input_text=yaml.safe_dump(AGENT))
    assert _lines(result) == [
        "agent/helper: unchanged",
        "bundle mail (dry run, nothing changed): 0 to create, 0 to update, 0 to delete, "
        "1 unchanged",
    ]


def _bad(document: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(document))
    node = changed
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({**AGENT, "kind": "Job"},
         "document 2: kind: 'Job' is not one of Webhook, Agent, Chain, AgentSchedule"),
        ({**DIGEST, "spec": {**DIGEST["spec"], "schedule": {"cronExpresions": ["x"]}}},
         "document 2: spec.schedule.cronExpresions: no such field"),
        (_bad(DIGEST, ["spec", "retryPolicy", "attempts"], 3),
         "document 2: spec.retryPolicy.attempts: no such field"),
        (_bad(DIGEST, ["metadata", "externalId"], None),
         "document 2: metadata.externalId: required"),
        (_bad(DIGEST, ["metadata", "bundleKey"], "other"),
         "document 2: metadata.bundleKey 'other' is not 'mail'"),
        (_bad(DIGEST, ["agent"], "nobody"),
         "document 2: agent: no Agent with metadata.externalId 'nobody' in the files"),
        ({**DIGEST, "agnet": "helper"}, "document 2: agnet: no such field of a AgentSchedule"),
        ({**AGENT}, "document 2: metadata.externalId 'helper': "),
        (_bad(DIGEST, ["spec", "maxFires"], "many"), "document 2: spec: Failed to parse maxFires"),
    ],
    ids=["kind", "spec-field", "nested-field", "no-external-id", "two-bundles", "no-agent",
         "top-level-field", "duplicate", "wrong-type"],
)  # fmt: skip
def test_a_bad_document_names_the_file_the_document_and_the_field(
    sundial: Sundial, tmp_path: Path, document: dict[str, Any], message: str
):
    path = _write(tmp_path / "bundle.yaml", AGENT, document)
    line = failed(sundial("apply", "-f", path), 2)
    assert line.startswith(f"sundial apply: {path}, ")
    assert message in line
    assert _agents(sundial) == {}  # nothing was sent


def test_the_servers_refusal_names_the_document(sundial: Sundial, tmp_path: Path):
    bad = _bad(WEEKLY, ["spec", "schedule", "cronExpressions"], ["0 99 * * *"])
    path = _write(tmp_path / "bundle.yaml", AGENT, bad)
    line = failed(sundial("apply", "-f", path), 2)
    assert line.startswith("sundial apply: schedule/weekly: INVALID_ARGUMENT: spec.schedule.")
    assert "hour 99 is out of range 0-23" in line


def test_a_refused_batch_names_each_bad_schedule_and_creates_none(sundial: Sundial, tmp_path: Path):
    bad_weekly = _bad(WEEKLY, ["spec", "schedule", "cronExpressions"], ["0 99 * * *"])
    bad_digest = _bad(DIGEST, ["spec", "schedule"], {"cronExpressions": ["61 * * * *"]})
    path = _write(tmp_path / "bundle.yaml", AGENT, bad_weekly, bad_digest)
    line = failed(sundial("apply", "-f", path), 2)
    assert "schedule/weekly: INVALID_ARGUMENT: spec.schedule." in line
    assert "; schedule/digest: INVALID_ARGUMENT: spec.schedule." in line
    assert "requests[" not in line
    # The agent came first and stays; the batch was all or nothing.
    assert set(_agents(sundial)) == {"helper"}
    assert _schedules(sundial) == {}


def test_a_schedule_cannot_move_to_another_agent(sundial: Sundial, tmp_path: Path):
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, AGENT, WEEKLY)))
    second = {**AGENT, "metadata": {**AGENT["metadata"], "externalId": "second"}}
    line = failed(
        sundial("apply", "-f", _write(path, AGENT, second, {**WEEKLY, "agent": "second"})), 5
    )
    assert f"{path}, document 3: agent: schedule/weekly (" in line
    assert "cannot move to another agent" in line
    assert set(_agents(sundial)) == {"helper"}


@pytest.mark.slow(seconds=50)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_10000_schedule_bundle(sundial: Sundial, tmp_path: Path):
    count = 10_000
    schedules = [
        {
            "kind": "AgentSchedule",
            "agent": "helper",
            "metadata": {"bundleKey": "mail", "externalId": f"s{n}", "name": f"s{n}"},
            "spec": {"initialMessage": f"m{n}",
                     "schedule": {"intervals": [{"every": f"{3600 + n}s"}]}},
        }
        for n in range(count)
    ]  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps([AGENT, *schedules]))
    started = time.monotonic()
    created = as_json(sundial("apply", "-f", str(path), "-o", "json"))
    create_seconds = time.monotonic() - started
    assert created["counts"] == {"create": count + 1, "update": 0, "delete": 0, "unchanged": 0}
    ids = [change["id"] for change in created["changes"]]
    assert len(set(ids)) == count + 1
    assert all(id_.startswith("sched_") for id_ in ids[1:])
    started = time.monotonic()
    again = as_json(sundial("apply", "-f", str(path), "-o", "json"))
    again_seconds = time.monotonic() - started
    # Every one found again by its externalId: all 10,000 are there, each once.
    assert again["counts"] == {"create": 0, "update": 0, "delete": 0, "unchanged": count + 1}
    assert [change["id"] for change in again["changes"]] == ids
    print(
        f"10,000 schedules: created in {create_seconds:.1f} s, unchanged in {again_seconds:.1f} s"
    )


def test_a_bundle_key_with_quotes_and_spaces_is_matched_exactly(sundial: Sundial, tmp_path: Path):
    key = 'team "a" \\ x'
    agent = {**AGENT, "metadata": {**AGENT["metadata"], "bundleKey": key}}
    near = {**AGENT, "metadata": {**AGENT["metadata"], "bundleKey": 'team "a"'}}
    ok(sundial("apply", "-f", _write(tmp_path / "near.yaml", near)))
    path = _write(tmp_path / "bundle.yaml", agent)
    assert _lines(sundial("apply", "-f", path))[0].startswith("agent/helper: created agent_")
    assert _lines(sundial("apply", "-f", path))[0] == "agent/helper: unchanged"


def test_connection_errors_are_one_line_with_their_exit_code(sundial: Sundial, tmp_path: Path):
    path = _write(tmp_path / "bundle.yaml", AGENT)
    wrong_key = {"SUNDIAL_API_KEY": "sdl_wrong-key-0123456789abcdef"}
    assert "UNAUTHENTICATED" in failed(sundial("apply", "-f", path, env_overrides=wrong_key), 4)
    assert "no workspace" in failed(
        sundial("apply", "-f", path, env_overrides={"SUNDIAL_WORKSPACE": None}), 2
    )
    assert failed(sundial("apply", "-f", str(tmp_path / "missing.yaml")), 2).startswith(
        f"sundial apply: cannot read {tmp_path / 'missing.yaml'}: "
    )


def test_what_get_prints_applies_with_kind_and_agent_added(sundial: Sundial, tmp_path: Path):
    ok(sundial("apply", "-f", _write(tmp_path / "bundle.yaml", AGENT, DIGEST)))
    schedule_id = _schedules(sundial)["digest"]["metadata"]["id"]
    printed = yaml.safe_load(ok(sundial("schedules", "get", schedule_id, "-o", "yaml")))
    assert "info" in printed
    assert "etag" in printed["metadata"]
    agent = yaml.safe_load(ok(sundial("agents", "get", printed["info"]["agentId"], "-o", "yaml")))
    documents = (
        {"kind": "Agent", **agent},
        {"kind": "AgentSchedule", "agent": "helper", **printed},
    )
    lines = _lines(sundial("apply", "-f", _write(tmp_path / "printed.yaml", *documents)))
    assert lines[-1] == "bundle mail: 0 created, 0 updated, 0 deleted, 2 unchanged"


def test_a_push_agent_applies_its_made_secret_shown_once_and_a_given_one_never_diffs(
    sundial: Sundial, tmp_path: Path
):
    push = {"mode": "AGENT_MODE_PUSH", "push": {"url": "https://agent.example.com/run"}}
    made = {**AGENT, "spec": {**AGENT["spec"], **push}}
    path = _write(tmp_path / "bundle.yaml", made)
    first = sundial("apply", "-f", path)
    secret = first.stderr.split("push signing secret (shown only now): ")[1].split()[0]
    assert secret.startswith("whsec_")
    assert _agents(sundial)["helper"]["info"]["pushSecretHint"] == secret[-4:]
    assert "secret" not in sundial("apply", "-f", path).stderr

    given = generate_secret()
    spec = {**made["spec"], "push": {**push["push"], "secret": given}}
    again = _write(tmp_path / "given.yaml", {**made, "spec": spec})
    # The secret is write-only: it cannot differ from what the server shows (nothing).
    assert _lines(sundial("apply", "-f", again))[0] == "agent/helper: unchanged"
    assert _agents(sundial)["helper"]["info"]["pushSecretHint"] == secret[-4:]
