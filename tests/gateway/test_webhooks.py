"""WebhookService over REST: the paths and custom methods the proto's http rules give it,
ProtoJSON names, and errors as HTTP statuses, against a real server on both databases."""

from google.rpc import code_pb2

from tests.support.deliveries import insert_delivery

URL = "https://hooks.example.com/sundial"


def _webhooks(rest):
    return f"/v1/workspaces/{rest.workspace}/webhooks"


def _create(rest, name="hook", **spec):
    spec.setdefault("url", URL)
    reply = rest("POST", _webhooks(rest), {"metadata": {"name": name}, "spec": spec})
    assert reply.status == 200, reply.body
    return reply.json()


def test_create_get_list_patch_delete(rest):
    created = _create(
        rest,
        eventTypes=["EVENT_TYPE_OBJECTIVE_FAILED"],
        headers={"Authorization": "Bearer x"},
        format="WEBHOOK_FORMAT_SLACK_PLAIN",
    )
    path = f"{_webhooks(rest)}/{created['metadata']['id']}"

    got = rest("GET", path).json()
    listed = rest("GET", _webhooks(rest)).json()
    patched = rest(
        "PATCH",
        path,
        {"spec": {"url": "https://other.example.com/"}, "updateMask": "spec.url"},
    )
    deleted = rest("DELETE", path)
    gone = rest("GET", path)

    assert created["info"]["secret"].startswith("whsec_")
    assert created["info"]["state"] == "WEBHOOK_STATE_ENABLED"
    assert "secret" not in got["info"]
    assert got["info"]["secretHint"] == created["info"]["secret"][-4:]
    assert got["spec"] == {
        "url": URL,
        "headers": {"Authorization": "Bearer x"},
        "eventTypes": ["EVENT_TYPE_OBJECTIVE_FAILED"],
        "format": "WEBHOOK_FORMAT_SLACK_PLAIN",
    }
    assert [w["metadata"]["id"] for w in listed["webhooks"]] == [created["metadata"]["id"]]
    assert patched.status == 200, patched.body
    assert patched.json()["spec"]["url"] == "https://other.example.com/"
    assert patched.json()["spec"]["eventTypes"] == ["EVENT_TYPE_OBJECTIVE_FAILED"]
    assert (deleted.status, deleted.json()) == (200, {})
    assert gone.status == 404
    assert gone.reason == "WEBHOOK_NOT_FOUND"


def test_bad_url_is_400_naming_the_field(rest):
    reply = rest(
        "POST", _webhooks(rest), {"metadata": {"name": "x"}, "spec": {"url": "http://a.example/"}}
    )
    assert reply.status == 400
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert list(reply.violations) == ["spec.url"]


def test_rotate_secret_disable_and_enable(rest):
    created = _create(rest)
    path = f"{_webhooks(rest)}/{created['metadata']['id']}"

    rotated = rest("POST", f"{path}:rotateSecret").json()
    disabled = rest("POST", f"{path}:disable", {"reason": "on fire"}).json()
    enabled = rest("POST", f"{path}:enable", {}).json()

    assert rotated["info"]["secret"].startswith("whsec_")
    assert rotated["info"]["secret"] != created["info"]["secret"]
    assert disabled["info"]["state"] == "WEBHOOK_STATE_DISABLED"
    assert disabled["info"]["disabledReason"] == "on fire"
    assert "disabledAt" in disabled["info"]
    assert "secret" not in disabled["info"]
    assert enabled["info"]["state"] == "WEBHOOK_STATE_ENABLED"
    assert "disabledReason" not in enabled["info"]


def test_deliveries_of_every_webhook_get_and_redeliver(rest, rest_server):
    first, second = _create(rest, "first"), _create(rest, "second")
    now = rest_server.clock.now()
    ids = [
        insert_delivery(
            rest_server.database,
            account_id=hook["metadata"]["accountId"],
            workspace_id=rest.workspace,
            webhook_id=hook["metadata"]["id"],
            at=now,
            status="DEAD_LETTER",
            next_attempt_at=None,
        )
        for hook in (first, second)
    ]
    every = f"{_webhooks(rest)}/-/deliveries"

    listed = rest("GET", every).json()
    filtered = rest("GET", f"{_webhooks(rest)}/{first['metadata']['id']}/deliveries").json()
    got = rest("GET", f"{every}/{ids[1]}").json()
    redelivered = rest("POST", f"{every}/{ids[1]}:redeliver")
    elsewhere = rest("GET", f"{_webhooks(rest)}/{first['metadata']['id']}/deliveries/{ids[1]}")

    assert [d["metadata"]["id"] for d in listed["deliveries"]] == ids[::-1]
    assert [d["metadata"]["id"] for d in filtered["deliveries"]] == ids[:1]
    assert got["info"]["status"] == "DELIVERY_STATUS_DEAD_LETTER"
    assert got["spec"]["eventType"] == "EVENT_TYPE_OBJECTIVE_SUCCEEDED"
    assert redelivered.status == 200, redelivered.body
    assert redelivered.json()["info"]["status"] == "DELIVERY_STATUS_PENDING"
    assert "nextAttemptAt" in redelivered.json()["info"]
    assert elsewhere.status == 404
    assert elsewhere.reason == "DELIVERY_NOT_FOUND"
