"""The outbox on real databases: every state change that announces itself (an objective's
ending, a schedule pausing itself, missed and skipped fires, a schedule finishing) writes its
delivery rows in its own transaction, and a transaction that fails writes none."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from sundial.domain.metadata import MetadataInput
from sundial.domain.objectives import Objective, ObjectiveStatus
from sundial.domain.schedules import OverlapPolicy, RetryPolicy
from sundial.domain.webhooks import (
    EventType,
    ResultDelivery,
    WebhookFormat,
    WebhookSpec,
    WebhookState,
)
from sundial.service.agents import AgentService
from sundial.service.firing import FiringService
from sundial.service.notifier import Notifier
from sundial.service.objectives import ObjectiveService
from sundial.service.outbox import Outbox, OutboxReport
from sundial.service.triggers import TriggerService
from sundial.store.unit_of_work import UnitOfWork
from tests.support.tenants import MINUTE, Tenant
from tests.support.webhook_rows import add_webhook as add_webhook_row
from tests.support.webhook_rows import delivery_rows

URL = "https://example.com/hook"
WORKER = "worker-1"
ENDED = [
    EventType.OBJECTIVE_SUCCEEDED,
    EventType.OBJECTIVE_FAILED,
    EventType.OBJECTIVE_TIMED_OUT,
    EventType.OBJECTIVE_CANCELLED,
]


def add_webhook(tenant: Tenant, spec: WebhookSpec | None = None, **options: Any) -> str:
    return add_webhook_row(
        tenant.database,
        tenant.principal,
        tenant.workspace_id,
        spec,
        now=tenant.clock.now(),
        **options,
    )


def subscribed(*types: EventType, **spec: Any) -> WebhookSpec:
    return WebhookSpec(url=URL, event_types=types, **spec)


def objective_service(tenant: Tenant, outbox: Outbox | None = None) -> ObjectiveService:
    return ObjectiveService(tenant.database, tenant.clock, Notifier(), outbox=outbox)


def fire(tenant: Tenant) -> None:
    tenant.clock.advance(MINUTE)
    FiringService(tenant.database, tenant.clock).fire_due()


def running(tenant: Tenant, objectives: ObjectiveService, **spec: Any) -> Objective:
    """A new schedule's first objective, claimed by WORKER."""
    tenant.schedule(**spec)
    fire(tenant)
    [objective] = objectives.claim(
        tenant.principal, tenant.workspace_id, tenant.agent_id, worker_id=WORKER
    )
    return objective


def end(tenant: Tenant, objectives: ObjectiveService, objective: Objective, how: EventType) -> None:
    ids = (tenant.principal, tenant.workspace_id, tenant.agent_id, objective.metadata.id)
    if how is EventType.OBJECTIVE_SUCCEEDED:
        objectives.complete(*ids, worker_id=WORKER, output={"count": 3, "title": "done"})
    elif how is EventType.OBJECTIVE_FAILED:
        objectives.fail(*ids, worker_id=WORKER, error="boom")
    elif how is EventType.OBJECTIVE_TIMED_OUT:
        tenant.clock.advance(timedelta(minutes=2))  # past the 60 s lease
        assert objectives.reap() == 1
    else:
        objectives.cancel(*ids, reason="not needed")


@pytest.mark.parametrize("how", ENDED, ids=lambda e: e.wire_name)
def test_each_ending_writes_its_event_and_the_schedules_results(tenant, how):
    listener = add_webhook(tenant, subscribed(*ENDED))
    add_webhook(tenant, subscribed(EventType.FIRE_MISSED))  # another event only
    results = add_webhook(tenant, WebhookSpec(url=URL, format=WebhookFormat.SLACK_MARKDOWN))
    objectives = objective_service(tenant)
    objective = running(tenant, objectives, deliveries=(ResultDelivery(webhook_id=results),))
    assert delivery_rows(tenant.database) == []

    end(tenant, objectives, objective, how)

    event, result = sorted(delivery_rows(tenant.database), key=lambda r: r.event_type == "RESULT")
    assert (event.webhook_id, event.event_type, event.status) == (listener, how.name, "PENDING")
    assert (result.webhook_id, result.event_type, result.format) == (
        results,
        "RESULT",
        "SLACK_MARKDOWN",
    )
    now = tenant.clock.now()
    for row in (event, result):
        assert (row.objective_id, row.schedule_id, row.agent_id) == (
            objective.metadata.id,
            objective.spec.schedule_id,
            tenant.agent_id,
        )
        assert (row.attempts, row.next_attempt_at, row.window_started_at) == (0, now, now)
        assert row.workspace_id == tenant.workspace_id
    assert event.format == "JSON"
    assert event.body["type"] == how.wire_name
    assert event.body["workspaceId"] == tenant.workspace_id
    assert event.body["data"]["objective"]["metadata"]["id"] == objective.metadata.id
    status = how.name.removeprefix("OBJECTIVE_")
    assert event.body["data"]["objective"]["info"]["status"] == status
    assert result.body["text"].startswith(f"*Objective {status}*")


def test_an_attempt_that_is_retried_announces_nothing(tenant):
    add_webhook(tenant, subscribed(*ENDED))
    objectives = objective_service(tenant)
    objective = running(tenant, objectives, retry_policy=RetryPolicy(max_attempts=2))
    objectives.fail(
        tenant.principal,
        tenant.workspace_id,
        tenant.agent_id,
        objective.metadata.id,
        worker_id=WORKER,
        error="flaky",
        retryable=True,
    )
    assert delivery_rows(tenant.database) == []


def test_an_auto_pause_writes_its_event_with_the_failure(tenant):
    listener = add_webhook(
        tenant, subscribed(EventType.OBJECTIVE_FAILED, EventType.SCHEDULE_AUTO_PAUSED)
    )
    objectives = objective_service(tenant)
    objective = running(tenant, objectives, pause_on_failure=True)
    end(tenant, objectives, objective, EventType.OBJECTIVE_FAILED)

    rows = {row.event_type: row for row in delivery_rows(tenant.database)}
    assert set(rows) == {"OBJECTIVE_FAILED", "SCHEDULE_AUTO_PAUSED"}
    paused = rows["SCHEDULE_AUTO_PAUSED"]
    assert paused.webhook_id == listener
    data = paused.body["data"]
    assert data["schedule"] == {
        "id": objective.spec.schedule_id,
        "name": "s",
        "agentId": tenant.agent_id,
    }
    assert data["count"] == 1
    assert objective.metadata.id in data["reason"]
    assert paused.body["type"] == "schedule.auto_paused"


def test_missed_and_skipped_fires_and_a_finished_schedule_are_announced(tenant):
    listener = add_webhook(
        tenant,
        subscribed(EventType.FIRE_MISSED, EventType.FIRE_SKIPPED, EventType.SCHEDULE_FINISHED),
    )
    missing = tenant.schedule(catchup_window=timedelta(seconds=30))
    skipping = tenant.schedule(OverlapPolicy.SKIP)
    finishing = tenant.schedule(max_fires=2)
    fire(tenant)  # each fires once
    assert delivery_rows(tenant.database) == []

    tenant.clock.advance(3 * MINUTE)
    FiringService(tenant.database, tenant.clock).fire_due()

    rows = {(row.schedule_id, row.event_type): row for row in delivery_rows(tenant.database)}
    assert set(rows) == {
        (missing, "FIRE_MISSED"),
        (skipping, "FIRE_SKIPPED"),
        (finishing, "SCHEDULE_FINISHED"),
    }
    assert {row.webhook_id for row in rows.values()} == {listener}
    missed = rows[(missing, "FIRE_MISSED")].body
    assert missed["type"] == "fire.missed"
    # 08:32 and 08:33 left the 30 s window; 08:34 fired.
    assert missed["data"]["count"] == 2
    assert missed["data"]["scheduledTimes"] == ["2026-06-01T08:32:00Z", "2026-06-01T08:33:00Z"]
    assert missed["data"]["schedule"]["name"] == "s"
    skipped = rows[(skipping, "FIRE_SKIPPED")].body["data"]
    assert skipped["count"] == 3
    assert skipped["reason"] == "previous objective still in flight"
    assert rows[(finishing, "SCHEDULE_FINISHED")].body["data"]["count"] == 2


def test_objectives_that_a_newer_fire_or_a_trigger_cancels_are_announced(tenant):
    listener = add_webhook(tenant, subscribed(EventType.OBJECTIVE_CANCELLED))
    results = add_webhook(tenant)
    only_cancelled = ResultDelivery(webhook_id=results, condition='status == "CANCELLED"')
    schedule_id = tenant.schedule(OverlapPolicy.CANCEL_OTHER, deliveries=(only_cancelled,))
    objectives = objective_service(tenant)

    def in_flight() -> list[str]:
        with UnitOfWork(tenant.database, write=False) as uow:
            return uow.objectives.in_flight_ids(schedule_id)

    fire(tenant)
    [first] = in_flight()
    fire(tenant)  # the newer fire cancels the first objective
    [second] = in_flight()
    assert {
        (r.webhook_id, r.event_type, r.objective_id) for r in delivery_rows(tenant.database)
    } == {
        (listener, "OBJECTIVE_CANCELLED", first),
        (results, "RESULT", first),
    }
    TriggerService(tenant.database, tenant.clock, tenant.schedules, Notifier()).trigger(
        tenant.principal,
        tenant.workspace_id,
        tenant.agent_id,
        schedule_id,
        overlap_policy=OverlapPolicy.CANCEL_OTHER,
    )
    cancelled = {r.objective_id for r in delivery_rows(tenant.database) if r.event_type != "RESULT"}
    assert cancelled == {first, second}
    [event] = [
        r
        for r in delivery_rows(tenant.database)
        if r.objective_id == second and r.event_type != "RESULT"
    ]
    assert event.body["data"]["objective"]["info"]["error"] == (
        "cancelled by a manual trigger (CANCEL_OTHER)"
    )
    assert (
        objectives.get(tenant.principal, tenant.workspace_id, tenant.agent_id, second).info.status
        is ObjectiveStatus.CANCELLED
    )


def test_filters_and_conditions_decide_which_webhooks_get_a_row(tenant):
    objectives = objective_service(tenant)
    every = add_webhook(tenant, subscribed(EventType.OBJECTIVE_SUCCEEDED))
    # Another agent's events only; then a condition that is false for this event.
    add_webhook(tenant, subscribed(EventType.OBJECTIVE_SUCCEEDED, agent_ids=("agt_other",)))
    disabled = add_webhook(
        tenant, subscribed(EventType.OBJECTIVE_SUCCEEDED), state=WebhookState.DISABLED
    )
    add_webhook(
        tenant, subscribed(EventType.OBJECTIVE_SUCCEEDED, condition='type == "fire.missed"')
    )
    on_the_objective = add_webhook(
        tenant,
        subscribed(
            EventType.OBJECTIVE_SUCCEEDED,
            condition='objective.info.output.title == "done" && schedule.name == "s"',
        ),
    )
    true_result = add_webhook(tenant)
    false_result = add_webhook(tenant)
    broken_result = add_webhook(tenant)
    deliveries = (
        ResultDelivery(webhook_id=true_result, condition="output.count == 3.0"),
        ResultDelivery(webhook_id=false_result, condition="output.count > 5.0"),
        ResultDelivery(webhook_id=broken_result, condition="output.count + 1 > 2"),
    )
    objective = running(tenant, objectives, deliveries=deliveries)
    end(tenant, objectives, objective, EventType.OBJECTIVE_SUCCEEDED)

    rows = {row.webhook_id: row for row in delivery_rows(tenant.database)}
    assert set(rows) == {every, disabled, on_the_objective, true_result, broken_result}
    broken = rows[broken_result]
    assert broken.status == "CONDITION_ERROR"
    assert broken.next_attempt_at is None
    assert broken.last_error.startswith("condition: ")
    assert rows[true_result].status == "PENDING"


def test_a_schedule_without_deliveries_uses_its_agents(tenant):
    results = add_webhook(tenant, WebhookSpec(url=URL, format=WebhookFormat.SLACK_PLAIN))
    agents = AgentService(tenant.database, tenant.clock)
    agent = agents.get(tenant.principal, tenant.workspace_id, tenant.agent_id)
    agents.update(
        tenant.principal,
        tenant.workspace_id,
        tenant.agent_id,
        MetadataInput(name=agent.metadata.name),
        replace(agent.spec, deliveries=(ResultDelivery(webhook_id=results),)),
        update_mask=None,
    )
    objectives = objective_service(tenant)
    objective = running(tenant, objectives)
    end(tenant, objectives, objective, EventType.OBJECTIVE_FAILED)

    [row] = delivery_rows(tenant.database)
    assert (row.webhook_id, row.event_type, row.format) == (results, "RESULT", "SLACK_PLAIN")
    assert row.body["text"].startswith("Objective FAILED\n")
    assert "Error: boom" in row.body["text"]


class FailingAfterWrites(Outbox):
    """Writes its rows, then fails the transaction that wrote them."""

    def objective_ended(self, *args: Any, **kwargs: Any) -> OutboxReport:
        super().objective_ended(*args, **kwargs)
        raise RuntimeError("the transaction fails after the outbox wrote")

    def schedule_events(self, *args: Any, **kwargs: Any) -> OutboxReport:
        super().schedule_events(*args, **kwargs)
        raise RuntimeError("the transaction fails after the outbox wrote")


def test_a_failed_ending_transaction_writes_no_delivery(tenant):
    add_webhook(tenant, subscribed(*ENDED))
    objective = running(tenant, objective_service(tenant))
    failing = objective_service(tenant, FailingAfterWrites())
    with pytest.raises(RuntimeError):
        end(tenant, failing, objective, EventType.OBJECTIVE_SUCCEEDED)
    assert delivery_rows(tenant.database) == []
    with UnitOfWork(tenant.database, write=False) as uow:
        stored = uow.objectives.get(tenant.workspace_id, objective.metadata.id)
    assert stored is not None
    assert stored.info.status is ObjectiveStatus.RUNNING


def test_a_failed_firing_pass_writes_no_delivery(tenant):
    add_webhook(tenant, subscribed(EventType.SCHEDULE_FINISHED))
    schedule_id = tenant.schedule(max_fires=1)
    tenant.clock.advance(MINUTE)
    with pytest.raises(RuntimeError):
        FiringService(tenant.database, tenant.clock, outbox=FailingAfterWrites()).fire_due()
    assert delivery_rows(tenant.database) == []
    # The pass as a whole was rolled back: the schedule fires (and finishes) again.
    FiringService(tenant.database, tenant.clock).fire_due()
    [row] = delivery_rows(tenant.database)
    assert (row.schedule_id, row.event_type) == (schedule_id, "SCHEDULE_FINISHED")


def test_without_webhooks_nothing_is_written(tenant):
    objectives = objective_service(tenant)
    objective = running(tenant, objectives, max_fires=1)
    end(tenant, objectives, objective, EventType.OBJECTIVE_SUCCEEDED)
    assert delivery_rows(tenant.database) == []


def test_the_webhook_disabled_event_goes_to_the_other_subscribers(tenant):
    failing = add_webhook(tenant, subscribed(EventType.WEBHOOK_DISABLED), name="flaky")
    listener = add_webhook(tenant, subscribed(EventType.WEBHOOK_DISABLED))
    add_webhook(tenant, subscribed(EventType.OBJECTIVE_FAILED))
    with UnitOfWork(tenant.database, write=True) as uow:
        [webhook] = [
            w for w in uow.outbox.webhooks_in([tenant.workspace_id]) if w.metadata.id == failing
        ]
        Outbox().webhook_disabled(uow.outbox, webhook, "failing for 24 hours", tenant.clock.now())
        uow.commit()
    [row] = delivery_rows(tenant.database)
    assert (row.webhook_id, row.event_type) == (listener, "WEBHOOK_DISABLED")
    assert row.body["data"] == {"webhookId": failing, "reason": "failing for 24 hours"}
    assert row.body["type"] == "webhook.disabled"
