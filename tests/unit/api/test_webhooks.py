"""The webhook and delivery converters: every proto field crosses, both ways."""

from datetime import UTC, datetime

from google.protobuf.message import Message

from sundial.api.converters import from_proto
from sundial.api.webhooks import delivery_to_proto, webhook_to_proto
from sundial.domain.metadata import AccountResourceMetadata, ResourceMetadata
from sundial.domain.tenancy import Profile
from sundial.domain.webhooks import (
    Delivery,
    DeliveryInfo,
    DeliverySpec,
    DeliveryStatus,
    EventType,
    Webhook,
    WebhookFormat,
    WebhookInfo,
    WebhookSpec,
    WebhookState,
)

AT = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
METADATA = ResourceMetadata(
    id="whk_1",
    account_id="acct_1",
    workspace_id="ws_1",
    profile_id="prof_1",
    name="n",
    bundle_key="b",
    external_id="e",
    labels={"k": "v"},
    created_at=AT,
    updated_at=AT,
    etag="t",
)


def _unset_fields(message: Message, path: str = "") -> list[str]:
    """The fields of `message` (and of the messages in it) left at their default."""
    unset = []
    for field in message.DESCRIPTOR.fields:
        name = f"{path}{field.name}"
        if field.is_repeated:
            if not len(getattr(message, field.name)):
                unset.append(name)
        elif field.message_type is not None:
            if not message.HasField(field.name):
                unset.append(name)
            elif not field.message_type.full_name.startswith("google.protobuf."):
                unset.extend(_unset_fields(getattr(message, field.name), f"{name}."))
        elif not getattr(message, field.name):
            unset.append(name)
    return unset


def test_every_webhook_field_crosses_both_ways():
    webhook = Webhook(
        metadata=METADATA,
        spec=WebhookSpec(
            url="https://hooks.example.com/",
            headers={"X-A": "1"},
            event_types=(EventType.FIRE_MISSED, EventType.WEBHOOK_DISABLED),
            agent_ids=("agent_1",),
            schedule_ids=("sched_1",),
            condition='type == "fire.missed"',
            format=WebhookFormat.SLACK_MARKDOWN,
        ),
        info=WebhookInfo(
            secret="whsec_x",
            secret_hint="wxyz",
            state=WebhookState.DISABLED,
            disabled_reason="r",
            disabled_at=AT,
            last_success_at=AT,
            failing_since=AT,
            created_by=Profile(metadata=AccountResourceMetadata(id="prof_1", name="p")),
        ),
    )
    message = webhook_to_proto(webhook)
    # The creator profile's own fields are the profile converter's (tests of tenancy).
    assert [f for f in _unset_fields(message) if not f.startswith("info.created_by.")] == []
    assert from_proto(message, Webhook) == webhook


def test_every_delivery_field_crosses_both_ways():
    delivery = Delivery(
        metadata=METADATA,
        spec=DeliverySpec(
            webhook_id="whk_1",
            event_type=EventType.OBJECTIVE_FAILED,
            result=True,
            objective_id="obj_1",
            schedule_id="sched_1",
            agent_id="agent_1",
            format=WebhookFormat.SLACK_PLAIN,
            body={"text": "hello", "n": 1.0},
        ),
        info=DeliveryInfo(
            status=DeliveryStatus.DEAD_LETTER,
            attempts=3,
            last_http_status=503,
            last_error="e",
            next_attempt_at=AT,
            last_attempt_at=AT,
            delivered_at=AT,
        ),
    )
    message = delivery_to_proto(delivery)
    assert _unset_fields(message) == []
    assert from_proto(message, Delivery) == delivery
