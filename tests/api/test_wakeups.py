"""Every path that makes an objective claimable wakes the pusher, after its commit: a manual
trigger, a buffered fire promoted by an ending, a chain triggered and a step an ending
starts, and a retry (at the retry's time, not now); RedeliverDelivery and EnableWebhook
wake the dispatcher. Observed on the real server's notifier and on its pusher, never by
timing. On PostgreSQL the server also hears its own NOTIFY of each wake-up, later: the
checks look for the wake-up a call makes among what was heard."""

from datetime import datetime, timedelta

import pytest
from google.protobuf import duration_pb2

from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from sundial.v1 import objective_pb2 as op
from sundial.v1 import webhook_service_pb2, webhook_service_pb2_grpc
from tests.api.test_chain_runs import Pipeline, edge
from tests.api.test_firing import Harness, _every
from tests.api.test_webhooks import _create
from tests.support.deliveries import insert_delivery

Heard = list[tuple[list[str], datetime | None]]


@pytest.fixture
def harness(server, schedules, objectives, workspace_id, agent, clock):
    return Harness(server, schedules, objectives, workspace_id, agent, clock)


@pytest.fixture
def heard(server) -> Heard:
    """What the server's notifier told the pusher's kind of listener: (agents, time)."""
    found: Heard = []
    server.notifier.on_objectives_available(lambda agents, at: found.append((agents, at)))
    return found


def test_a_manual_trigger_wakes_the_pusher(harness, heard, server):
    harness.create()
    wakes = server.pusher.wakes
    harness.schedules.TriggerAgentSchedule(pb.TriggerAgentScheduleRequest(**harness.ids))
    assert ([harness.agent_id], None) in heard
    assert server.pusher.wakes > wakes


def test_an_ending_that_promotes_a_buffered_fire_wakes_the_pusher(harness, heard, server):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_BUFFER_ALL)
    harness.tick()
    harness.tick()
    [running] = harness.claim()
    heard.clear()
    wakes = server.pusher.wakes

    harness.complete(running)

    assert harness.statuses() == ["SUCCEEDED", "PENDING"]
    assert ([harness.agent_id], None) in heard
    assert server.pusher.wakes > wakes


def test_a_retry_wakes_the_pusher_at_the_retrys_time(harness, heard, server, clock):
    harness.create(
        schedule=_every(3600),
        retry_policy=sp.RetryPolicy(
            max_attempts=2, initial_backoff=duration_pb2.Duration(seconds=10)
        ),
    )
    harness.tick(timedelta(hours=1))
    [running] = harness.claim()
    heard.clear()

    harness.fail(running, retryable=True)

    retry_at = clock.now() + timedelta(seconds=10)
    [retry] = harness.objectives(status=op.OBJECTIVE_STATUS_PENDING)
    assert retry.info.available_at.ToDatetime().replace(tzinfo=retry_at.tzinfo) == retry_at
    assert ([harness.agent_id], retry_at) in heard
    assert server.pusher.next_wake_at == retry_at


def test_triggering_a_chain_and_an_ending_that_starts_its_next_step_wake_the_pusher(
    server, channel, objectives, workspace_id, agent, heard
):
    pipeline = Pipeline(server, channel, objectives, workspace_id, agent)
    chain_id = pipeline.create(["first", "second"], [edge("first", "second")])
    pipeline.trigger(chain_id)
    assert ([agent.metadata.id], None) in heard
    [first] = pipeline.claim().values()
    heard.clear()
    wakes = server.pusher.wakes

    pipeline.complete(first)

    assert ([agent.metadata.id], None) in heard
    assert server.pusher.wakes > wakes
    assert list(pipeline.claim()) == ["second"]


@pytest.fixture
def deliveries_heard(server) -> list[str]:
    found: list[str] = []
    server.notifier.on_deliveries_written(lambda: found.append("woken"))
    return found


@pytest.fixture
def webhooks(channel):
    return webhook_service_pb2_grpc.WebhookServiceStub(channel)


def test_redeliver_wakes_the_dispatcher(webhooks, workspace_id, server, clock, deliveries_heard):
    hook = _create(webhooks, workspace_id)
    delivery_id = insert_delivery(
        server.database,
        account_id=hook.metadata.account_id,
        workspace_id=workspace_id,
        webhook_id=hook.metadata.id,
        at=clock.now(),
        status="DEAD_LETTER",
        next_attempt_at=None,
        attempts=3,
    )
    webhooks.RedeliverDelivery(
        webhook_service_pb2.RedeliverDeliveryRequest(
            workspace_id=workspace_id, webhook_id=hook.metadata.id, delivery_id=delivery_id
        )
    )
    assert deliveries_heard


def test_enable_wakes_the_dispatcher_and_disable_does_not(webhooks, workspace_id, deliveries_heard):
    hook = _create(webhooks, workspace_id)
    ids = {"workspace_id": workspace_id, "webhook_id": hook.metadata.id}
    webhooks.DisableWebhook(webhook_service_pb2.DisableWebhookRequest(**ids, reason="later"))
    # Disabling makes nothing due (on PostgreSQL the server also hears its own NOTIFY).
    assert not deliveries_heard
    webhooks.EnableWebhook(webhook_service_pb2.EnableWebhookRequest(**ids))
    assert deliveries_heard
