"""`sundial agents ...` against a real server: every output format, and the errors'
one line and exit code."""

import json
from pathlib import Path

from tests.cli.conftest import Sundial, as_json, as_yaml, failed, ok


def _create(sundial: Sundial, name: str = "helper") -> str:
    return str(as_json(sundial("agents", "create", name, "-o", "json"))["metadata"]["id"])


def test_create_prints_the_agent_in_each_format(sundial: Sundial):
    table = ok(sundial("agents", "create", "helper", "--description", "answers mail"))
    header, _rule, row = table.splitlines()[:3]
    assert header.split() == ["ID", "NAME", "DESCRIPTION", "SCHEDULES", "CREATED"]
    assert row.split()[1:5] == ["helper", "answers", "mail", "0"]
    created = as_json(sundial("agents", "create", "second", "-o", "json"))
    assert created["metadata"]["name"] == "second"
    assert created["metadata"]["id"].startswith("agent_")
    described = as_yaml(sundial("agents", "get", created["metadata"]["id"], "-o", "yaml"))
    assert described == created


def test_list_shows_every_agent_and_pages_with_all(sundial: Sundial):
    ids = [_create(sundial, f"agent-{n}") for n in range(3)]
    assert [a["metadata"]["id"] for a in as_json(sundial("agents", "list", "-o", "json"))] == ids
    first = sundial("agents", "list", "--page-size", "2", "-o", "json")
    assert [a["metadata"]["id"] for a in as_json(first)] == ids[:2]
    token = first.stderr.split("--page-token ")[1].split()[0]
    rest = as_json(
        sundial("agents", "list", "--page-size", "2", "--page-token", token, "-o", "json")
    )
    assert [a["metadata"]["id"] for a in rest] == ids[2:]
    every = sundial("agents", "list", "--page-size", "2", "--all", "-o", "yaml")
    assert [a["metadata"]["id"] for a in as_yaml(every)] == ids
    assert every.stderr == ""
    table = ok(sundial("agents", "list"))
    assert all(agent_id in table for agent_id in ids)
    assert "\x1b[" not in table  # no colour: stdout is not a terminal


def test_create_from_a_file_with_flags_over_it(sundial: Sundial, tmp_path: Path):
    path = tmp_path / "agent.yaml"
    path.write_text(
        "metadata:\n  name: from-file\n  labels: {team: mail}\nspec:\n  description: x\n"
    )
    agent = as_json(
        sundial("agents", "create", "-f", str(path), "--description", "y", "-o", "json")
    )
    assert agent["metadata"]["name"] == "from-file"
    assert agent["metadata"]["labels"] == {"team": "mail"}
    assert agent["spec"]["description"] == "y"


def test_a_file_field_that_is_not_in_the_spec_is_refused_by_name(sundial: Sundial, tmp_path: Path):
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"metadata": {"name": "a"}, "spec": {"descripton": "typo"}}))
    line = failed(sundial("agents", "create", "-f", str(path)), 2)
    assert "descripton" in line


def test_delete_needs_force_while_the_agent_has_schedules(sundial: Sundial):
    agent = _create(sundial)
    ok(sundial("schedules", "create", agent, "--every", "1h", "--message", "m", "--name", "s"))
    line = failed(sundial("agents", "delete", agent), 5)
    assert line.startswith("sundial agents delete: FAILED_PRECONDITION: ")
    assert ok(sundial("agents", "delete", agent, "--force")) == f"deleted {agent}\n"
    assert failed(sundial("agents", "get", agent), 3) == (
        f"sundial agents get: NOT_FOUND: agent '{agent}' was not found"
    )


def test_errors_are_one_line_with_a_documented_exit_code(sundial: Sundial):
    assert "no workspace" in failed(
        sundial("agents", "list", env_overrides={"SUNDIAL_WORKSPACE": None}), 2
    )
    assert "UNAUTHENTICATED" in failed(
        sundial(
            "agents", "list", env_overrides={"SUNDIAL_API_KEY": "sdl_wrong-key-0123456789abcdef"}
        ),
        4,
    )
    assert "no API key" in failed(
        sundial("agents", "list", env_overrides={"SUNDIAL_API_KEY": None}), 2
    )
    unreachable = sundial("agents", "list", env_overrides={"SUNDIAL_ADDRESS": "127.0.0.1:1"})
    assert failed(unreachable, 1).startswith("sundial agents list: UNAVAILABLE: ")
    assert failed(sundial("agents", "create"), 2) == (
        "sundial agents create: give the agent a NAME (or metadata.name in the file)"
    )


def test_debug_shows_the_traceback(sundial: Sundial):
    result = sundial("agents", "get", "agent_nope", "--debug")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("sundial agents get: NOT_FOUND")


def test_a_push_agent_is_created_with_its_url_and_its_secret_shown_once(sundial: Sundial):
    url = "https://agent.example.com/run"
    created = sundial("agents", "create", "pushed", "--push-url", url)
    secret = created.stderr.split("push signing secret (shown only now): ")[1].strip()
    assert secret.startswith("whsec_")
    agent_id = ok(created).splitlines()[2].split()[0]
    got = as_json(sundial("agents", "get", agent_id, "-o", "json"))
    assert got["spec"] == {"mode": "AGENT_MODE_PUSH", "push": {"url": url}}
    assert got["info"]["pushSecretHint"] == secret[-4:]
    assert "pushSecret" not in got["info"]
    as_document = as_json(sundial("agents", "create", "again", "--push-url", url, "-o", "json"))
    assert as_document["info"]["pushSecret"].startswith("whsec_")
