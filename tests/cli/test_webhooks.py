"""`sundial webhooks ...` and `sundial deliveries ...` against a real server: the flags as
request fields, the secret printed by create and rotate-secret only, and errors' exit codes."""

from datetime import timedelta

from tests.cli.conftest import Sundial, as_json, failed, ok
from tests.support.deliveries import insert_delivery

URL = "https://hooks.example.com/sundial"


def _create(sundial: Sundial, *args: str) -> dict:
    return as_json(sundial("webhooks", "create", "hook", "--url", URL, *args, "-o", "json"))


def test_create_sends_every_flag_and_prints_the_secret_once(sundial: Sundial, server):
    agent = as_json(sundial("agents", "create", "helper", "-o", "json"))["metadata"]["id"]
    table = ok(
        sundial(
            "webhooks", "create", "alerts", "--url", URL,
            "--event", "objective.failed", "--event", "fire.missed",
            "--header", "Authorization: Bearer abc",
            "--agent", agent,
            "--condition", 'type == "objective.failed"',
            "--format", "slack-markdown",
        )
    )  # fmt: skip
    header, _rule, row = table.splitlines()[:3]
    secret_line = table.splitlines()[-1]
    webhook_id = row.split()[0]
    got = as_json(sundial("webhooks", "get", webhook_id, "-o", "json"))

    assert header.split() == ["ID", "NAME", "URL", "EVENTS", "STATE", "SECRET"]
    assert "objective.failed, fire.missed" in row
    assert "ENABLED" in row
    assert secret_line.startswith("signing secret (shown only now): whsec_")
    assert got["spec"] == {
        "url": URL,
        "headers": {"Authorization": "Bearer abc"},
        "eventTypes": ["EVENT_TYPE_OBJECTIVE_FAILED", "EVENT_TYPE_FIRE_MISSED"],
        "agentIds": [agent],
        "condition": 'type == "objective.failed"',
        "format": "WEBHOOK_FORMAT_SLACK_MARKDOWN",
    }
    assert "secret" not in got["info"]
    assert secret_line.endswith(got["info"]["secretHint"])
    assert "whsec_" not in ok(sundial("webhooks", "get", webhook_id))


def test_list_update_rotate_disable_enable_delete(sundial: Sundial):
    created = _create(sundial, "--event", "schedule.finished")
    webhook_id = created["metadata"]["id"]

    updated = as_json(
        sundial("webhooks", "update", webhook_id, "--name", "renamed", "--url",
                "https://new.example.com/", "-o", "json")
    )  # fmt: skip
    rotated = as_json(sundial("webhooks", "rotate-secret", webhook_id, "-o", "json"))
    disabled = as_json(
        sundial("webhooks", "disable", webhook_id, "--reason", "noisy", "-o", "json")
    )
    enabled = as_json(sundial("webhooks", "enable", webhook_id, "-o", "json"))
    listed = as_json(sundial("webhooks", "list", "-o", "json"))
    deleted = sundial("webhooks", "delete", webhook_id)

    assert updated["metadata"]["name"] == "renamed"
    assert updated["spec"]["url"] == "https://new.example.com/"
    assert updated["spec"]["eventTypes"] == ["EVENT_TYPE_SCHEDULE_FINISHED"]
    assert rotated["info"]["secret"] not in ("", created["info"]["secret"])
    assert disabled["info"]["disabledReason"] == "noisy"
    assert enabled["info"]["state"] == "WEBHOOK_STATE_ENABLED"
    assert [w["metadata"]["id"] for w in listed] == [webhook_id]
    assert ok(deleted).strip() == f"deleted {webhook_id}"
    assert "not found" in failed(sundial("webhooks", "get", webhook_id), 3)


def test_errors_name_the_field_and_exit_with_their_code(sundial: Sundial):
    bad_url = failed(sundial("webhooks", "create", "x", "--url", "http://a.example/"), 2)
    bad_header = failed(sundial("webhooks", "create", "x", "--url", URL, "--header", "nocolon"), 2)
    nothing = failed(sundial("webhooks", "update", "whk_x"), 2)

    assert "spec.url" in bad_url
    assert "Name: value" in bad_header
    assert "nothing to change" in nothing


def test_deliveries_list_get_and_redeliver(sundial: Sundial, server, clock):
    first, second = _create(sundial), _create(sundial)
    ids = []
    for hook, status in ((first, "DEAD_LETTER"), (second, "DELIVERED")):
        clock.advance(timedelta(seconds=1))
        ids.append(
            insert_delivery(
                server.database,
                account_id=hook["metadata"]["accountId"],
                workspace_id=hook["metadata"]["workspaceId"],
                webhook_id=hook["metadata"]["id"],
                at=clock.now(),
                status=status,
                next_attempt_at=None,
            )
        )

    every = as_json(sundial("deliveries", "list", "-o", "json"))
    dead = as_json(sundial("deliveries", "list", "--status", "dead-letter", "-o", "json"))
    of_second = as_json(
        sundial("deliveries", "list", "--webhook", second["metadata"]["id"], "-o", "json")
    )
    body = as_json(sundial("deliveries", "get", ids[0], "--body"))
    table = ok(sundial("deliveries", "redeliver", ids[0]))
    elsewhere = sundial("deliveries", "get", ids[0], "--webhook", second["metadata"]["id"])

    assert [d["metadata"]["id"] for d in every] == ids[::-1]
    assert [d["metadata"]["id"] for d in dead] == ids[:1]
    assert [d["metadata"]["id"] for d in of_second] == ids[1:]
    assert body == {"type": "objective.succeeded"}
    assert "PENDING" in table.splitlines()[2]
    assert "objective.succeeded" in table.splitlines()[2]
    assert "not found" in failed(elsewhere, 3)
