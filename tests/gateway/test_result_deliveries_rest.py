"""Result deliveries over REST: bad `deliveries` of a schedule or an agent get 400 with each
field named as REST clients write it (`spec.deliveries[0].webhookId`), a condition's error
with its line and column, and good ones read back as written."""

from sundial.domain.webhooks import WebhookSpec
from tests.gateway.conftest import START
from tests.support.webhook_rows import add_webhook


def webhook_in(rest_server, workspace_id: str) -> str:
    return add_webhook(
        rest_server.database,
        rest_server.bootstrap.principal,
        workspace_id,
        WebhookSpec(url="https://example.com/hook"),
        now=START,
    )


def schedule_body(deliveries: list[dict]) -> dict:
    return {
        "metadata": {"name": "hourly"},
        "spec": {
            "initialMessage": "summarize",
            "schedule": {"cronExpressions": ["0 * * * *"]},
            "deliveries": deliveries,
        },
    }


def test_bad_schedule_deliveries_name_their_json_fields(rest, rest_server):
    agent_id = rest.create_agent()
    webhook_id = webhook_in(rest_server, rest.workspace)
    reply = rest(
        "POST",
        rest.schedules(agent_id),
        schedule_body(
            [
                {"webhookId": webhook_id, "condition": "output.count >"},
                {"webhookId": "whk_nosuch"},
                {"webhookId": webhook_id},
            ]
        ),
    )
    assert reply.status == 400, reply.body
    assert set(reply.violations) == {
        "spec.deliveries[0].condition",
        "spec.deliveries[1].webhookId",
        "spec.deliveries[2].webhookId",
    }
    assert reply.violations["spec.deliveries[0].condition"].startswith("line 1, column ")
    assert "whk_nosuch" in reply.violations["spec.deliveries[1].webhookId"]
    assert "listed twice" in reply.violations["spec.deliveries[2].webhookId"]


def test_good_deliveries_read_back_and_a_bad_update_changes_nothing(rest, rest_server):
    agent_id = rest.create_agent()
    webhook_id = webhook_in(rest_server, rest.workspace)
    good = [
        {
            "webhookId": webhook_id,
            "format": "WEBHOOK_FORMAT_SLACK_MARKDOWN",
            "condition": 'status == "FAILED"',
        }
    ]
    created = rest("POST", rest.schedules(agent_id), schedule_body(good))
    assert created.status == 200, created.body
    assert created.json()["spec"]["deliveries"] == good
    path = f"{rest.schedules(agent_id)}/{created.json()['metadata']['id']}"
    reply = rest(
        "PATCH",
        path,
        {
            "spec": {"deliveries": [{"webhookId": webhook_id, "condition": 'status == "FAILD"'}]},
            "updateMask": "spec.deliveries",
        },
    )
    assert reply.status == 400, reply.body
    assert "status is never 'FAILD'" in reply.violations["spec.deliveries[0].condition"]
    assert rest("GET", path).json()["spec"]["deliveries"] == good


def test_bad_agent_deliveries_name_their_json_fields(rest, rest_server):
    elsewhere = rest_server.tenancy.create_workspace(rest_server.bootstrap.principal, "other").id
    reply = rest(
        "POST",
        rest.agents(),
        {
            "metadata": {"name": "reporter"},
            "spec": {"deliveries": [{"webhookId": webhook_in(rest_server, elsewhere)}]},
        },
    )
    assert reply.status == 400, reply.body
    assert list(reply.violations) == ["spec.deliveries[0].webhookId"]
    assert "the workspace has no webhook" in reply.violations["spec.deliveries[0].webhookId"]
