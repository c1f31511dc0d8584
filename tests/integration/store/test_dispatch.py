"""The dispatcher's SQL on SQLite and PostgreSQL: what is due is taken once per lease (and
again when a lease runs out), concurrent takers on PostgreSQL take disjoint rows, an attempt
is recorded only under the lease it was taken with, and a webhook's failing streak."""

import json
from datetime import timedelta

import pytest

from sundial.domain.clock import FakeClock
from sundial.domain.webhooks import DeliveryStatus, WebhookState
from sundial.store.database import Database
from sundial.store.repositories.dispatch import AttemptRecord, TakenDelivery
from sundial.store.unit_of_work import UnitOfWork
from tests.support.outbox import add_delivery, add_webhook, delivery_row, webhook_row
from tests.support.tenants import START, Tenant

LEASE = timedelta(minutes=1)


def _take(database: Database, clock: FakeClock, limit: int = 10) -> list[TakenDelivery]:
    now = clock.now()
    with UnitOfWork(database, write=True) as uow:
        taken = uow.dispatch.take_due(now, limit, now + LEASE)
        uow.commit()
    return taken


def _record(database: Database, attempt: AttemptRecord) -> bool:
    with UnitOfWork(database, write=True) as uow:
        recorded = uow.dispatch.record(attempt)
        uow.commit()
    return recorded


def test_take_due_leases_what_is_due_to_enabled_webhooks(database, tenant, clock):
    webhook_id, secret = add_webhook(tenant, "https://example.com/hook", headers={"X-Team": "ops"})
    disabled_id, _ = add_webhook(tenant, "https://example.com/off", state=WebhookState.DISABLED)
    due = add_delivery(tenant, webhook_id, {"type": "objective.succeeded", "z": [1, "é"]})
    add_delivery(tenant, webhook_id, due_at=START + timedelta(seconds=5))
    add_delivery(tenant, disabled_id)

    [taken] = _take(database, clock)

    assert taken == TakenDelivery(
        id=due,
        workspace_id=tenant.workspace_id,
        webhook_id=webhook_id,
        event_type="OBJECTIVE_SUCCEEDED",
        body=taken.body,
        url="https://example.com/hook",
        headers={"X-Team": "ops"},
        secret=secret,
        attempts=0,
        window_started_at=START,
        leased_until=START + LEASE,
    )
    assert json.loads(taken.body) == {"type": "objective.succeeded", "z": [1, "é"]}
    assert delivery_row(tenant, due).next_attempt_at == START + LEASE
    assert _take(database, clock) == []  # leased: not taken twice


def test_a_lease_that_runs_out_is_taken_again(database, tenant, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    delivery_id = add_delivery(tenant, webhook_id)
    [first] = _take(database, clock)

    clock.advance(LEASE - timedelta(microseconds=1))
    assert _take(database, clock) == []
    clock.advance(timedelta(microseconds=1))
    [again] = _take(database, clock)

    assert (first.id, again.id) == (delivery_id, delivery_id)
    assert again.leased_until == START + 2 * LEASE


def test_take_due_takes_the_oldest_due_first_up_to_the_limit(database, tenant, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    late = add_delivery(tenant, webhook_id, due_at=START - timedelta(seconds=1))
    early = add_delivery(tenant, webhook_id, due_at=START - timedelta(seconds=2))
    add_delivery(tenant, webhook_id, due_at=START)

    assert [t.id for t in _take(database, clock, limit=2)] == [early, late]


@pytest.mark.postgres
def test_concurrent_takers_on_postgresql_take_disjoint_rows(postgres_cluster, clock):
    database = Database(
        postgres_cluster.create_database("dispatch_two", template="sundial_template")
    )
    try:
        tenant = Tenant(database, clock)
        webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
        ids = {add_delivery(tenant, webhook_id) for _ in range(6)}
        now = clock.now()
        with UnitOfWork(database, write=True) as first, UnitOfWork(database, write=True) as second:
            # The first holds its rows locked (not committed) while the second takes.
            mine = first.dispatch.take_due(now, 4, now + LEASE)
            theirs = second.dispatch.take_due(now, 10, now + LEASE)
            second.commit()
            first.commit()
        assert len(mine) == 4
        assert len(theirs) == 2
        assert {t.id for t in mine} | {t.id for t in theirs} == ids
        assert _take(database, clock) == []
    finally:
        database.dispose()


def _failed(taken: TakenDelivery, clock: FakeClock, retry_in: timedelta | None) -> AttemptRecord:
    now = clock.now()
    if retry_in is None:
        return AttemptRecord(taken, now, DeliveryStatus.DEAD_LETTER, 503, "http_status: HTTP 503")
    return AttemptRecord(
        taken, now, DeliveryStatus.PENDING, 503, "http_status: HTTP 503", now + retry_in
    )


def test_a_failed_attempt_is_recorded_with_its_next_attempt(database, tenant, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    delivery_id = add_delivery(tenant, webhook_id)
    [taken] = _take(database, clock)
    clock.advance(timedelta(seconds=2))

    assert _record(database, _failed(taken, clock, timedelta(seconds=30)))

    row = delivery_row(tenant, delivery_id)
    assert (row.status, row.attempts, row.last_http_status, row.last_error) == (
        "PENDING",
        1,
        503,
        "http_status: HTTP 503",
    )
    assert row.last_attempt_at == clock.now()
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert row.delivered_at is None
    clock.advance(timedelta(seconds=29))
    assert _take(database, clock) == []
    clock.advance(timedelta(seconds=1))
    [again] = _take(database, clock)
    assert again.attempts == 1


def test_a_delivered_attempt_ends_the_delivery(database, tenant, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    delivery_id = add_delivery(tenant, webhook_id)
    [taken] = _take(database, clock)

    assert _record(database, AttemptRecord(taken, clock.now(), DeliveryStatus.DELIVERED, 204, ""))

    row = delivery_row(tenant, delivery_id)
    assert (row.status, row.attempts, row.last_http_status) == ("DELIVERED", 1, 204)
    assert (row.delivered_at, row.next_attempt_at) == (clock.now(), None)
    clock.advance(timedelta(days=2))
    assert _take(database, clock) == []


def test_a_dead_letter_is_never_taken_again(database, tenant, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    delivery_id = add_delivery(tenant, webhook_id)
    [taken] = _take(database, clock)

    assert _record(database, _failed(taken, clock, None))

    row = delivery_row(tenant, delivery_id)
    assert (row.status, row.next_attempt_at, row.delivered_at) == ("DEAD_LETTER", None, None)
    clock.advance(timedelta(days=2))
    assert _take(database, clock) == []


def test_an_attempt_under_a_lost_lease_is_not_recorded(database, tenant, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    delivery_id = add_delivery(tenant, webhook_id)
    [stale] = _take(database, clock)
    clock.advance(LEASE)
    [current] = _take(database, clock)  # the first sender is presumed dead

    # The first sender comes back late: its outcome must not overwrite the second's lease.
    assert not _record(database, _failed(stale, clock, timedelta(seconds=5)))
    assert delivery_row(tenant, delivery_id).next_attempt_at == current.leased_until

    assert _record(database, AttemptRecord(current, clock.now(), DeliveryStatus.DELIVERED, 200, ""))
    assert not _record(
        database, AttemptRecord(stale, clock.now(), DeliveryStatus.DELIVERED, 200, "")
    )
    assert delivery_row(tenant, delivery_id).attempts == 1


def test_a_webhook_fails_from_its_first_failure_until_a_success(database, tenant, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    first_failure = clock.now()

    def attempted(*, succeeded: bool, failing: bool):
        with UnitOfWork(database, write=True) as uow:
            uow.dispatch.webhook_attempted(
                webhook_id, clock.now(), succeeded=succeeded, failing=failing
            )
            uow.commit()
            return uow.dispatch.webhook_health(webhook_id)

    assert attempted(succeeded=False, failing=True).failing_since == first_failure
    clock.advance(timedelta(hours=1))
    # The streak's start is kept.
    assert attempted(succeeded=False, failing=True).failing_since == first_failure
    clock.advance(timedelta(hours=1))
    health = attempted(succeeded=True, failing=False)
    assert (health.state, health.failing_since) == (WebhookState.ENABLED, None)
    row = webhook_row(tenant, webhook_id)
    assert (row.last_success_at, row.failing_since) == (clock.now(), None)
    # A batch whose last attempt failed after one succeeded: a new streak starts now.
    clock.advance(timedelta(hours=1))
    assert attempted(succeeded=True, failing=True).failing_since == clock.now()
    assert webhook_row(tenant, webhook_id).last_success_at == clock.now()


def test_dead_letters_are_counted_since_a_time_and_a_webhook_is_disabled_once(
    database, tenant, clock
):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    other_id, _ = add_webhook(tenant, "https://example.com/other")
    for target in (webhook_id, webhook_id, other_id):
        add_delivery(tenant, target)
    taken = _take(database, clock)
    for delivery in taken:
        assert _record(database, _failed(delivery, clock, None))
    since = clock.now()
    clock.advance(timedelta(days=5))

    with UnitOfWork(database, write=True) as uow:
        assert uow.dispatch.count_dead_letters(webhook_id, since) == 2
        assert uow.dispatch.count_dead_letters(webhook_id, since + timedelta(seconds=1)) == 0
        assert uow.dispatch.disable_webhook(webhook_id, clock.now(), "failing for 5 days")
        assert not uow.dispatch.disable_webhook(webhook_id, clock.now(), "again")
        uow.commit()

    row = webhook_row(tenant, webhook_id)
    assert (row.state, row.disabled_reason, row.disabled_at, row.revision) == (
        "DISABLED",
        "failing for 5 days",
        clock.now(),
        2,
    )
    assert webhook_row(tenant, other_id).state == "ENABLED"


def test_earliest_due_and_the_backlog_count(database, tenant, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    disabled_id, _ = add_webhook(tenant, "https://example.com/off", state=WebhookState.DISABLED)
    add_delivery(tenant, disabled_id, due_at=START - timedelta(hours=1))
    with UnitOfWork(database, write=False) as uow:
        assert uow.dispatch.earliest_due() is None
        assert uow.dispatch.count_due(clock.now()) == 0
    add_delivery(tenant, webhook_id, due_at=START + timedelta(seconds=3))
    add_delivery(tenant, webhook_id)
    add_delivery(tenant, webhook_id)

    with UnitOfWork(database, write=False) as uow:
        assert uow.dispatch.earliest_due() == START
        assert uow.dispatch.count_due(clock.now()) == 2
    _take(database, clock, limit=1)
    with UnitOfWork(database, write=False) as uow:
        assert uow.dispatch.count_due(clock.now()) == 1
