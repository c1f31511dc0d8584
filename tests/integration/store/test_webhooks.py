"""The webhook and delivery repositories against real SQLite and PostgreSQL databases."""

from datetime import timedelta

import pytest

from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import FilterOp, FilterTerm, ListQuery
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.webhooks import (
    DeliveryStatus,
    EventType,
    Webhook,
    WebhookFormat,
    WebhookInfo,
    WebhookSpec,
    WebhookState,
)
from sundial.store.models import AgentRow, DeliveryRow
from sundial.store.unit_of_work import UnitOfWork
from tests.support.deliveries import insert_delivery, name_in_schedule_deliveries

SECRET = "whsec_" + "A" * 40 + "wxyz"


def _add(tenant, name="hook", **spec):
    webhook_id = new_id(IdPrefix.WEBHOOK)
    now = tenant.clock.now()
    webhook = Webhook(
        metadata=ResourceMetadata(
            id=webhook_id,
            account_id=tenant.principal.account_id,
            workspace_id=tenant.workspace_id,
            profile_id=tenant.principal.profile_id,
            name=name,
            created_at=now,
            updated_at=now,
        ),
        spec=WebhookSpec(url="https://hooks.example.com/", **spec),
        info=WebhookInfo(secret=SECRET, state=WebhookState.ENABLED),
    )
    with UnitOfWork(tenant.database, write=True) as uow:
        uow.webhooks.add(webhook)
        uow.commit()
    return webhook_id


def _get(tenant, webhook_id):
    with UnitOfWork(tenant.database, write=False) as uow:
        return uow.webhooks.get(tenant.workspace_id, webhook_id)


def test_a_webhook_round_trips_and_only_list_all_has_its_secret(tenant):
    spec = {
        "headers": {"X-Token": "t"},
        "event_types": (EventType.FIRE_MISSED, EventType.OBJECTIVE_FAILED),
        "agent_ids": (tenant.agent_id,),
        "condition": 'type == "fire.missed"',
        "format": WebhookFormat.SLACK_PLAIN,
    }
    webhook_id = _add(tenant, **spec)

    got = _get(tenant, webhook_id)
    with UnitOfWork(tenant.database, write=False) as uow:
        every = uow.webhooks.list_all(tenant.workspace_id)
        page = uow.webhooks.list(tenant.workspace_id, ListQuery())

    assert got is not None
    assert got.spec == WebhookSpec(url="https://hooks.example.com/", **spec)
    assert got.metadata.created_at == tenant.clock.now()
    assert got.info.secret == ""
    assert got.info.secret_hint == "wxyz"
    assert got.info.state is WebhookState.ENABLED
    assert got.info.created_by is not None
    assert [w.metadata.id for w in page] == [webhook_id]
    assert page[0].info.secret == ""
    assert [(w.metadata.id, w.info.secret) for w in every] == [(webhook_id, SECRET)]


def test_state_and_secret_changes_bump_the_etag(tenant):
    webhook_id = _add(tenant)
    etags = [_get(tenant, webhook_id).metadata.etag]
    later = tenant.clock.now() + timedelta(hours=1)
    with UnitOfWork(tenant.database, write=True) as uow:
        uow.webhooks.set_state(webhook_id, WebhookState.DISABLED, reason="why", now=later)
        uow.commit()
    disabled = _get(tenant, webhook_id)
    etags.append(disabled.metadata.etag)
    with UnitOfWork(tenant.database, write=True) as uow:
        uow.webhooks.set_state(webhook_id, WebhookState.ENABLED, reason="", now=later)
        uow.webhooks.set_secret(webhook_id, "whsec_" + "B" * 44, now=later)
        uow.commit()
    enabled = _get(tenant, webhook_id)
    etags.append(enabled.metadata.etag)

    assert (disabled.info.state, disabled.info.disabled_reason) == (WebhookState.DISABLED, "why")
    assert disabled.info.disabled_at == later
    assert enabled.info.state is WebhookState.ENABLED
    assert (enabled.info.disabled_reason, enabled.info.disabled_at) == ("", None)
    assert enabled.info.secret_hint == "BBBB"
    assert enabled.metadata.updated_at == later
    assert len(set(etags)) == 3


def test_referrers_are_the_schedules_and_agents_whose_deliveries_name_it(tenant):
    named, other = _add(tenant, "named"), _add(tenant, "other")
    schedule_id = tenant.schedule()
    tenant.schedule()  # a schedule without deliveries
    name_in_schedule_deliveries(tenant.database, schedule_id, named)
    with UnitOfWork(tenant.database, write=True) as uow:
        agent = uow.session.get_one(AgentRow, tenant.agent_id)
        agent.spec = {**agent.spec, "deliveries": [{"webhook_id": named}]}
        uow.commit()

    with UnitOfWork(tenant.database, write=False) as uow:
        assert uow.webhooks.referrers(tenant.workspace_id, named) == [
            schedule_id,
            tenant.agent_id,
        ]
        assert uow.webhooks.referrers(tenant.workspace_id, other) == []
        # The id's `_` is no LIKE wildcard: a near miss is no referrer.
        assert uow.webhooks.referrers(tenant.workspace_id, named.replace("_", "%")) == []


def test_delete_removes_the_webhook_and_only_its_deliveries(tenant):
    gone, kept = _add(tenant), _add(tenant)
    args = {
        "account_id": tenant.principal.account_id,
        "workspace_id": tenant.workspace_id,
        "at": tenant.clock.now(),
    }
    insert_delivery(tenant.database, webhook_id=gone, **args)
    kept_delivery = insert_delivery(tenant.database, webhook_id=kept, **args)
    with UnitOfWork(tenant.database, write=True) as uow:
        uow.webhooks.delete(tenant.workspace_id, gone)
        uow.commit()
    with UnitOfWork(tenant.database, write=False) as uow:
        assert uow.webhooks.get(tenant.workspace_id, gone) is None
        left = uow.deliveries.list(tenant.workspace_id, None, ListQuery())
    assert [d.metadata.id for d in left] == [kept_delivery]


@pytest.fixture
def three_deliveries(tenant):
    one, two = _add(tenant), _add(tenant)
    made = []
    for webhook_id, columns in (
        (one, {"status": "DEAD_LETTER", "next_attempt_at": None, "objective_id": "obj_a"}),
        (one, {"event_type": "RESULT", "schedule_id": "sched_a"}),
        (two, {"event_type": "FIRE_MISSED"}),
    ):
        tenant.clock.advance(timedelta(seconds=1))
        made.append(
            insert_delivery(
                tenant.database,
                account_id=tenant.principal.account_id,
                workspace_id=tenant.workspace_id,
                webhook_id=webhook_id,
                at=tenant.clock.now(),
                **columns,
            )
        )
    return one, two, made


def test_deliveries_list_newest_first_per_webhook_or_all_with_filters(tenant, three_deliveries):
    one, _two, (dead, result, missed) = three_deliveries

    def listed(webhook_id, *terms, **query):
        with UnitOfWork(tenant.database, write=False) as uow:
            rows = uow.deliveries.list(
                tenant.workspace_id,
                webhook_id,
                ListQuery(filters=terms, descending=True, **query),
            )
        return [d.metadata.id for d in rows]

    assert listed(None) == [missed, result, dead]
    assert listed(one) == [result, dead]
    assert listed(None, FilterTerm("status", FilterOp.EQ, "DEAD_LETTER")) == [dead]
    assert listed(None, FilterTerm("objective_id", FilterOp.EQ, "obj_a")) == [dead]
    assert listed(None, FilterTerm("schedule_id", FilterOp.EQ, "sched_a")) == [result]
    assert listed(None, FilterTerm("event_type", FilterOp.EQ, "FIRE_MISSED")) == [missed]
    # The store returns one more than the limit: the sign of a next page.
    assert listed(None, limit=1) == [missed, result]
    assert listed(None, after_id=result) == [dead]


def test_a_result_delivery_reads_back_as_one(tenant, three_deliveries):
    _one, _two, (_dead, result, _missed) = three_deliveries
    with UnitOfWork(tenant.database, write=False) as uow:
        delivery = uow.deliveries.get(tenant.workspace_id, result)
        assert uow.deliveries.get("ws_other", result) is None
    assert delivery is not None
    assert delivery.spec.result
    assert delivery.spec.event_type is EventType.UNSPECIFIED
    assert delivery.spec.format is WebhookFormat.JSON
    assert delivery.info.status is DeliveryStatus.PENDING


def test_redeliver_restarts_the_window_and_keeps_the_rest(tenant):
    webhook_id = _add(tenant)
    dead = insert_delivery(
        tenant.database,
        account_id=tenant.principal.account_id,
        workspace_id=tenant.workspace_id,
        webhook_id=webhook_id,
        at=tenant.clock.now(),
        status="DEAD_LETTER",
        next_attempt_at=None,
        attempts=9,
        last_error="boom",
    )
    later = tenant.clock.now() + timedelta(days=3)
    with UnitOfWork(tenant.database, write=True) as uow:
        before = uow.deliveries.get(tenant.workspace_id, dead)
        uow.deliveries.redeliver(dead, later)
        uow.commit()
    with UnitOfWork(tenant.database, write=False) as uow:
        after = uow.deliveries.get(tenant.workspace_id, dead)
        window_started_at = uow.session.get_one(DeliveryRow, dead).window_started_at
    assert before is not None
    assert after is not None
    assert after.info.status is DeliveryStatus.PENDING
    assert after.info.next_attempt_at == later
    assert window_started_at == later
    assert (after.info.attempts, after.info.last_error) == (9, "boom")
    assert after.spec == before.spec
    assert after.metadata.id == dead
