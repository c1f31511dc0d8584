"""WebhookService through a real server: every RPC, validation naming the field, etags,
request ids, the secret shown only by Create and Rotate, and the roles."""

import logging
from datetime import timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2

from sundial.api.client import authorized_channel
from sundial.v1 import (
    access_pb2,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    metadata_pb2,
    webhook_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from tests.api.schedule_requests import create_request
from tests.support.auth import ADMIN_SECRET
from tests.support.deliveries import insert_delivery, name_in_schedule_deliveries
from tests.support.rpc import failure_of
from tests.support.servers import running, server_settings

pb = webhook_service_pb2
wp = webhook_pb2
URL = "https://hooks.example.com/sundial"


@pytest.fixture
def webhooks(channel):
    return webhook_service_pb2_grpc.WebhookServiceStub(channel)


def _spec(**kwargs):
    kwargs.setdefault("url", URL)
    return wp.WebhookSpec(**kwargs)


def _create(webhooks, workspace_id, name="hook", **kwargs):
    return webhooks.CreateWebhook(
        pb.CreateWebhookRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name=name),
            spec=kwargs.pop("spec", None) or _spec(),
            **kwargs,
        )
    )


def _failure(call, request):
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return failure_of(caught.value)


def _get(webhooks, workspace_id, webhook_id):
    return webhooks.GetWebhook(
        pb.GetWebhookRequest(workspace_id=workspace_id, webhook_id=webhook_id)
    )


def test_create_then_get_round_trips_and_shows_the_secret_only_once(webhooks, workspace_id, agent):
    spec = _spec(
        headers={"Authorization": "Bearer t0ken"},
        event_types=[wp.EVENT_TYPE_OBJECTIVE_FAILED, wp.EVENT_TYPE_FIRE_MISSED],
        agent_ids=[agent.metadata.id],
        condition='type == "objective.failed" && objective.attempt > 1.0',
        format=wp.WEBHOOK_FORMAT_SLACK_MARKDOWN,
    )
    created = _create(webhooks, workspace_id, spec=spec)
    got = _get(webhooks, workspace_id, created.metadata.id)
    listed = webhooks.ListWebhooks(pb.ListWebhooksRequest(workspace_id=workspace_id))

    assert created.metadata.id.startswith("whk_")
    assert created.info.secret.startswith("whsec_")
    assert created.info.secret_hint == created.info.secret[-4:]
    assert created.info.state == wp.WEBHOOK_STATE_ENABLED
    assert created.info.created_by.spec.type == 2  # the bootstrap admin key's profile
    assert got.spec == spec
    assert got.info.secret == ""
    assert got.info.secret_hint == created.info.secret_hint
    expected = wp.Webhook()
    expected.CopyFrom(created)
    expected.info.secret = ""
    assert got == expected
    assert [w.metadata.id for w in listed.webhooks] == [created.metadata.id]
    assert listed.webhooks[0].info.secret == ""


def test_list_pages_oldest_first(webhooks, workspace_id):
    ids = [_create(webhooks, workspace_id, f"h{i}").metadata.id for i in range(3)]
    first = webhooks.ListWebhooks(pb.ListWebhooksRequest(workspace_id=workspace_id, page_size=2))
    second = webhooks.ListWebhooks(
        pb.ListWebhooksRequest(
            workspace_id=workspace_id, page_size=2, page_token=first.next_page_token
        )
    )
    assert [w.metadata.id for w in first.webhooks] == ids[:2]
    assert [w.metadata.id for w in second.webhooks] == ids[2:]
    assert second.next_page_token == ""


def test_list_filters_on_bundle_key_external_id_name_and_labels(webhooks, workspace_id):
    def made(name, **metadata):
        return webhooks.CreateWebhook(
            pb.CreateWebhookRequest(
                workspace_id=workspace_id,
                metadata=metadata_pb2.CreateResourceMetadata(name=name, **metadata),
                spec=_spec(),
            )
        ).metadata.id

    mail = made("alerts", bundle_key="mail", external_id="alerts", labels={"team": "mail"})
    other = made("alerts", bundle_key="other", external_id="alerts")
    loose = made("loose")

    def listed(text):
        request = pb.ListWebhooksRequest(workspace_id=workspace_id, filter=text)
        return [w.metadata.id for w in webhooks.ListWebhooks(request).webhooks]

    assert listed('bundle_key = "mail"') == [mail]
    assert listed("bundle_key != mail") == [other, loose]
    assert listed("external_id = alerts AND bundle_key = other") == [other]
    assert listed("name = loose") == [loose]
    assert listed("labels.team = mail") == [mail]
    failure = _failure(
        webhooks.ListWebhooks, pb.ListWebhooksRequest(workspace_id=workspace_id, filter="url = x")
    )
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot filter on 'url'" in failure.violations["filter"]


def test_rotate_replaces_the_secret_and_shows_it_once(webhooks, workspace_id):
    created = _create(webhooks, workspace_id)
    rotated = webhooks.RotateWebhookSecret(
        pb.RotateWebhookSecretRequest(workspace_id=workspace_id, webhook_id=created.metadata.id)
    )
    got = _get(webhooks, workspace_id, created.metadata.id)
    assert rotated.info.secret.startswith("whsec_")
    assert rotated.info.secret != created.info.secret
    assert got.info.secret == ""
    assert got.info.secret_hint == rotated.info.secret[-4:]
    assert rotated.metadata.etag != created.metadata.etag


def test_update_with_mask_changes_only_listed_paths(webhooks, workspace_id):
    created = _create(webhooks, workspace_id, spec=_spec(condition='type == "fire.missed"'))
    updated = webhooks.UpdateWebhook(
        pb.UpdateWebhookRequest(
            workspace_id=workspace_id,
            webhook_id=created.metadata.id,
            metadata=metadata_pb2.CreateResourceMetadata(name="renamed"),
            spec=_spec(url="https://other.example.com/x", condition=""),
            update_mask=field_mask_pb2.FieldMask(paths=["spec.url"]),
        )
    )
    assert updated.metadata.name == "hook"
    assert updated.spec.url == "https://other.example.com/x"
    assert updated.spec.condition == 'type == "fire.missed"'
    assert updated.info.secret == ""
    assert updated.metadata.etag != created.metadata.etag


def test_update_validates_the_merged_spec(webhooks, workspace_id):
    created = _create(webhooks, workspace_id)
    failure = _failure(
        webhooks.UpdateWebhook,
        pb.UpdateWebhookRequest(
            workspace_id=workspace_id,
            webhook_id=created.metadata.id,
            spec=_spec(url="ftp://example.com/"),
            update_mask=field_mask_pb2.FieldMask(paths=["spec.url"]),
        ),
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == ["spec.url"]


def test_stale_etag_is_aborted_on_update_and_delete(webhooks, workspace_id):
    created = _create(webhooks, workspace_id)
    update = pb.UpdateWebhookRequest(
        workspace_id=workspace_id,
        webhook_id=created.metadata.id,
        metadata=metadata_pb2.CreateResourceMetadata(name="one"),
        etag=created.metadata.etag,
    )
    webhooks.UpdateWebhook(update)
    assert _failure(webhooks.UpdateWebhook, update).reason == "ETAG_MISMATCH"
    delete = pb.DeleteWebhookRequest(
        workspace_id=workspace_id, webhook_id=created.metadata.id, etag=created.metadata.etag
    )
    failure = _failure(webhooks.DeleteWebhook, delete)
    assert failure.code == grpc.StatusCode.ABORTED
    assert _get(webhooks, workspace_id, created.metadata.id).metadata.name == "one"


def test_delete_removes_it_and_its_deliveries(webhooks, workspace_id, server, clock):
    created = _create(webhooks, workspace_id)
    delivery_id = insert_delivery(
        server.database,
        account_id=created.metadata.account_id,
        workspace_id=workspace_id,
        webhook_id=created.metadata.id,
        at=clock.now(),
    )
    webhooks.DeleteWebhook(
        pb.DeleteWebhookRequest(workspace_id=workspace_id, webhook_id=created.metadata.id)
    )
    failure = _failure(
        webhooks.GetWebhook,
        pb.GetWebhookRequest(workspace_id=workspace_id, webhook_id=created.metadata.id),
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND
    failure = _failure(
        webhooks.GetDelivery,
        pb.GetDeliveryRequest(workspace_id=workspace_id, webhook_id="-", delivery_id=delivery_id),
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND


def test_delete_is_refused_while_a_schedule_delivers_to_it(
    webhooks, schedules, workspace_id, agent, server
):
    created = _create(webhooks, workspace_id)
    schedule = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    name_in_schedule_deliveries(server.database, schedule.metadata.id, created.metadata.id)
    request = pb.DeleteWebhookRequest(workspace_id=workspace_id, webhook_id=created.metadata.id)

    failure = _failure(webhooks.DeleteWebhook, request)

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "WEBHOOK_IN_USE"
    assert schedule.metadata.id in failure.message


def test_request_id_replays_the_webhook_without_its_secret(webhooks, workspace_id):
    first = _create(webhooks, workspace_id, request_id="req-hook")
    again = _create(webhooks, workspace_id, request_id="req-hook")
    reused = _failure(
        webhooks.CreateWebhook,
        pb.CreateWebhookRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="different"),
            spec=_spec(),
            request_id="req-hook",
        ),
    )
    assert first.info.secret
    assert again.metadata.id == first.metadata.id
    assert again.info.secret == ""
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS
    listed = webhooks.ListWebhooks(pb.ListWebhooksRequest(workspace_id=workspace_id))
    assert len(listed.webhooks) == 1


def test_validate_only_writes_nothing_and_makes_no_secret(webhooks, workspace_id):
    preview = _create(webhooks, workspace_id, validate_only=True)
    assert preview.metadata.id == ""
    assert preview.info.secret == ""
    assert preview.spec.url == URL
    assert not webhooks.ListWebhooks(pb.ListWebhooksRequest(workspace_id=workspace_id)).webhooks


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (wp.WebhookSpec(), "spec.url"),
        (_spec(url="http://hooks.example.com/"), "spec.url"),
        (_spec(url="https://user:pw@hooks.example.com/"), "spec.url"),
        (_spec(url="https://127.0.0.1/"), "spec.url"),
        (_spec(url="https://169.254.169.254/latest"), "spec.url"),
        (_spec(url="https:///path"), "spec.url"),
        (_spec(headers={"Connection": "close"}), "spec.headers[Connection]"),
        (_spec(headers={"Webhook-Id": "x"}), "spec.headers[Webhook-Id]"),
        (_spec(headers={"Bad Name": "x"}), "spec.headers[Bad Name]"),
        (_spec(headers={"X-Token": "a\nb"}), "spec.headers[X-Token]"),
        (_spec(event_types=[wp.EVENT_TYPE_UNSPECIFIED]), "spec.event_types[0]"),
        (
            _spec(event_types=[wp.EVENT_TYPE_FIRE_MISSED, wp.EVENT_TYPE_FIRE_MISSED]),
            "spec.event_types[1]",
        ),
        (_spec(agent_ids=["agent_nosuch"]), "spec.agent_ids[0]"),
        (_spec(schedule_ids=["sched_nosuch"]), "spec.schedule_ids[0]"),
        (_spec(condition="status == 'FAILED'"), "spec.condition"),
        (_spec(condition="type == "), "spec.condition"),
    ],
    ids=[
        "no-url",
        "http",
        "credentials",
        "loopback-literal",
        "metadata-address",
        "no-host",
        "hop-by-hop",
        "signature-header",
        "bad-header-name",
        "header-newline",
        "unspecified-event",
        "duplicate-event",
        "unknown-agent",
        "unknown-schedule",
        "undeclared-variable",
        "syntax-error",
    ],
)
def test_bad_specs_are_refused_naming_the_field(webhooks, workspace_id, spec, field):
    failure = _failure(
        webhooks.CreateWebhook,
        pb.CreateWebhookRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="bad"),
            spec=spec,
        ),
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == [field]


def test_a_condition_error_says_where(webhooks, workspace_id):
    failure = _failure(
        webhooks.CreateWebhook,
        pb.CreateWebhookRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="bad"),
            spec=_spec(condition='type == "x" &&\n  output.count > 1'),
        ),
    )
    assert failure.violations["spec.condition"].startswith("line 2, column 3: ")
    assert "output" in failure.violations["spec.condition"]


def test_disable_records_why_and_enable_clears_it(webhooks, workspace_id, clock):
    created = _create(webhooks, workspace_id)
    clock.advance(timedelta(minutes=5))
    disabled = webhooks.DisableWebhook(
        pb.DisableWebhookRequest(
            workspace_id=workspace_id, webhook_id=created.metadata.id, reason="maintenance"
        )
    )
    enabled = webhooks.EnableWebhook(
        pb.EnableWebhookRequest(workspace_id=workspace_id, webhook_id=created.metadata.id)
    )
    assert disabled.info.state == wp.WEBHOOK_STATE_DISABLED
    assert disabled.info.disabled_reason == "maintenance"
    assert disabled.info.disabled_at.ToDatetime() == clock.now().replace(tzinfo=None)
    assert disabled.info.secret == ""
    assert enabled.info.state == wp.WEBHOOK_STATE_ENABLED
    assert enabled.info.disabled_reason == ""
    assert not enabled.info.HasField("disabled_at")
    assert len({created.metadata.etag, disabled.metadata.etag, enabled.metadata.etag}) == 3


def test_list_and_get_deliveries_newest_first_with_filters(webhooks, workspace_id, server, clock):
    one = _create(webhooks, workspace_id, "one")
    two = _create(webhooks, workspace_id, "two")

    def insert(webhook, **columns):
        clock.advance(timedelta(seconds=1))
        return insert_delivery(
            server.database,
            account_id=webhook.metadata.account_id,
            workspace_id=workspace_id,
            webhook_id=webhook.metadata.id,
            at=clock.now(),
            **columns,
        )

    older = insert(one, status="DEAD_LETTER", next_attempt_at=None)
    newer = insert(one, objective_id="obj_1")
    other = insert(two, event_type="RESULT", body={"text": "done"}, format="SLACK_PLAIN")

    def listed(webhook_id, text=""):
        response = webhooks.ListDeliveries(
            pb.ListDeliveriesRequest(workspace_id=workspace_id, webhook_id=webhook_id, filter=text)
        )
        return [d.metadata.id for d in response.deliveries]

    assert listed(one.metadata.id) == [newer, older]
    assert listed("-") == [other, newer, older]
    assert listed("-", "status = DELIVERY_STATUS_DEAD_LETTER") == [older]
    assert listed("-", "objective_id = obj_1 AND status = PENDING") == [newer]
    assert listed("-", "event_type = OBJECTIVE_SUCCEEDED") == [newer, older]
    result = webhooks.GetDelivery(
        pb.GetDeliveryRequest(workspace_id=workspace_id, webhook_id="-", delivery_id=other)
    )
    assert result.spec.result
    assert result.spec.event_type == wp.EVENT_TYPE_UNSPECIFIED
    assert result.spec.format == wp.WEBHOOK_FORMAT_SLACK_PLAIN
    assert dict(result.spec.body) == {"text": "done"}
    assert result.info.status == wp.DELIVERY_STATUS_PENDING
    # A delivery is found only under its own webhook (or `-`).
    failure = _failure(
        webhooks.GetDelivery,
        pb.GetDeliveryRequest(
            workspace_id=workspace_id, webhook_id=one.metadata.id, delivery_id=other
        ),
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND
    bad = _failure(
        webhooks.ListDeliveries,
        pb.ListDeliveriesRequest(workspace_id=workspace_id, webhook_id="-", filter="status = X"),
    )
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(bad.violations) == ["filter"]


def test_redeliver_makes_a_dead_letter_pending_now_keeping_its_attempts(
    webhooks, workspace_id, server, clock
):
    hook = _create(webhooks, workspace_id)
    delivery_id = insert_delivery(
        server.database,
        account_id=hook.metadata.account_id,
        workspace_id=workspace_id,
        webhook_id=hook.metadata.id,
        at=clock.now(),
        status="DEAD_LETTER",
        next_attempt_at=None,
        attempts=7,
        last_http_status=503,
    )
    clock.advance(timedelta(days=2))

    redelivered = webhooks.RedeliverDelivery(
        pb.RedeliverDeliveryRequest(
            workspace_id=workspace_id, webhook_id=hook.metadata.id, delivery_id=delivery_id
        )
    )

    assert redelivered.metadata.id == delivery_id
    assert redelivered.info.status == wp.DELIVERY_STATUS_PENDING
    assert redelivered.info.next_attempt_at.ToDatetime() == clock.now().replace(tzinfo=None)
    assert redelivered.info.attempts == 7
    assert redelivered.info.last_http_status == 503


def test_unknown_webhook_and_other_workspaces_are_not_found(
    webhooks, workspace_id, other_workspace_id
):
    created = _create(webhooks, workspace_id)
    for request in (
        pb.GetWebhookRequest(workspace_id=workspace_id, webhook_id="whk_nosuch"),
        pb.GetWebhookRequest(workspace_id=other_workspace_id, webhook_id=created.metadata.id),
    ):
        assert _failure(webhooks.GetWebhook, request).code == grpc.StatusCode.NOT_FOUND
    failure = _failure(
        webhooks.ListDeliveries,
        pb.ListDeliveriesRequest(workspace_id=workspace_id, webhook_id="whk_nosuch"),
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND


def test_a_viewer_reads_but_cannot_write(server, channel, webhooks, workspace_id):
    created = _create(webhooks, workspace_id)
    keys = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
    viewer = keys.CreateApiKey(
        api_key_service_pb2.CreateApiKeyRequest(
            account_id=created.metadata.account_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="viewer"),
            spec=api_key_pb2.ApiKeySpec(role=access_pb2.ROLE_VIEWER),
        )
    )
    webhook_id = created.metadata.id
    with authorized_channel(f"127.0.0.1:{server.port}", viewer.info.secret) as viewer_channel:
        stub = webhook_service_pb2_grpc.WebhookServiceStub(viewer_channel)
        assert _get(stub, workspace_id, webhook_id).info.secret == ""
        stub.ListDeliveries(pb.ListDeliveriesRequest(workspace_id=workspace_id, webhook_id="-"))
        denied = [
            (stub.CreateWebhook, pb.CreateWebhookRequest(workspace_id=workspace_id)),
            (
                stub.RotateWebhookSecret,
                pb.RotateWebhookSecretRequest(workspace_id=workspace_id, webhook_id=webhook_id),
            ),
            (
                stub.DisableWebhook,
                pb.DisableWebhookRequest(workspace_id=workspace_id, webhook_id=webhook_id),
            ),
            (
                stub.DeleteWebhook,
                pb.DeleteWebhookRequest(workspace_id=workspace_id, webhook_id=webhook_id),
            ),
        ]
        for call, request in denied:
            assert _failure(call, request).code == grpc.StatusCode.PERMISSION_DENIED


def test_a_server_that_allows_private_targets_takes_a_local_http_url(database_url, clock):
    settings = server_settings(database_url, allow_private_webhook_targets=True)
    with (
        running(settings, clock) as local,
        authorized_channel(f"127.0.0.1:{local.port}", ADMIN_SECRET) as local_channel,
    ):
        stub = webhook_service_pb2_grpc.WebhookServiceStub(local_channel)
        created = _create(
            stub,
            local.bootstrap.default_workspace.id,
            spec=_spec(url="http://127.0.0.1:8080/hook"),
        )
    assert created.spec.url == "http://127.0.0.1:8080/hook"


def test_changes_are_logged_with_their_ids_and_never_the_secret(webhooks, workspace_id, caplog):
    caplog.set_level(logging.INFO, logger="sundial.webhooks")
    created = _create(webhooks, workspace_id, spec=_spec(url="https://hooks.example.com/T0/s3cr3t"))
    webhook_id = created.metadata.id
    rotated = webhooks.RotateWebhookSecret(
        pb.RotateWebhookSecretRequest(workspace_id=workspace_id, webhook_id=webhook_id)
    )
    webhooks.DisableWebhook(
        pb.DisableWebhookRequest(workspace_id=workspace_id, webhook_id=webhook_id, reason="r1")
    )

    lines = [r.getMessage() for r in caplog.records if r.name == "sundial.webhooks"]
    assert len(lines) == 3
    assert all(webhook_id in line for line in lines)
    assert "posting to hooks.example.com" in lines[0]
    assert "disabled" in lines[2]
    assert lines[2].endswith(": r1")
    text = "\n".join(lines)
    assert "s3cr3t" not in text
    assert created.info.secret not in text
    assert rotated.info.secret not in text
    assert f"...{rotated.info.secret[-4:]}" in lines[1]
