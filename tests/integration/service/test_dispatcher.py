"""The delivery dispatcher against a real local HTTP receiver, on SQLite and PostgreSQL,
with a fake clock: signed attempts a standardwebhooks receiver accepts, one webhook-id
across retries, Retry-After, the dead letter after 24 h, the webhook disabled after days of
failure (with its event written in the same transaction), the SSRF guard, the metrics, and
the thread woken by new deliveries and stopped only once its attempts are recorded."""

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from sundial.domain.clock import FakeClock, SystemClock
from sundial.domain.webhook_retries import DeliveryRetryPolicy
from sundial.domain.webhooks import EventType
from sundial.metrics import Metrics
from sundial.service.dispatcher import DeliveryDispatcher
from sundial.service.webhooks import WebhookSender
from tests.support.outbox import (
    add_delivery,
    add_webhook,
    deliveries_to,
    delivery_row,
    webhook_row,
)
from tests.support.tenants import START
from tests.support.webhook_receiver import Receiver, receiving

# How long the threaded tests wait for what should happen at once before calling it stuck.
DEADLINE_SECONDS = 20


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    # The real clock signs: standardwebhooks refuses a timestamp 5 minutes from its own now.
    with WebhookSender(SystemClock(), allow_private_targets=True, max_concurrency=4) as made:
        yield made


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def dispatcher(database, clock, sender, metrics) -> Iterator[DeliveryDispatcher]:
    made = DeliveryDispatcher(
        database,
        clock,
        sender,
        metrics=metrics,
        random_source=lambda: 0.5,
        concurrency=4,
    )
    yield made
    made.stop()


def _verified(secret: str, request) -> dict:
    # verify() raises unless the signature over id, timestamp and body is the secret's.
    return Webhook(secret).verify(request.body.decode(), request.headers)


def test_a_delivery_is_posted_signed_with_its_id_and_the_webhook_headers(
    tenant, receiver, dispatcher, clock
):
    webhook_id, secret = add_webhook(tenant, receiver.url("/hook"), headers={"X-Team": "ops"})
    body = {"type": "objective.succeeded", "data": {"text": "naïve ✓"}}
    delivery_id = add_delivery(tenant, webhook_id, body)

    assert dispatcher.dispatch_due() == 1

    [request] = receiver.requests
    assert request.path == "/hook"
    assert _verified(secret, request) == body
    assert request.headers["webhook-id"] == delivery_id
    assert request.headers["x-team"] == "ops"
    row = delivery_row(tenant, delivery_id)
    assert (row.status, row.attempts, row.last_http_status, row.delivered_at) == (
        "DELIVERED",
        1,
        200,
        clock.now(),
    )
    assert webhook_row(tenant, webhook_id).last_success_at == clock.now()
    assert dispatcher.dispatch_due() == 0


def test_a_retry_sends_the_same_id_and_body_and_honours_retry_after(
    tenant, receiver, dispatcher, clock
):
    webhook_id, secret = add_webhook(tenant, receiver.url("/hook"))
    delivery_id = add_delivery(tenant, webhook_id)
    receiver.reply("/hook", status=503, headers={"Retry-After": "120"})

    dispatcher.dispatch_due()

    row = delivery_row(tenant, delivery_id)
    # Jitter alone (0.5 of the first 10 s) would be 5 s; the target asked for 120.
    assert row.next_attempt_at == START + timedelta(seconds=120)
    assert (row.status, row.attempts, row.last_http_status) == ("PENDING", 1, 503)
    assert row.last_error == "http_status: HTTP 503"
    assert webhook_row(tenant, webhook_id).failing_since == START
    clock.advance(timedelta(seconds=119))
    assert dispatcher.dispatch_due() == 0
    clock.advance(timedelta(seconds=1))
    receiver.reply("/hook", status=204, body=b"")
    assert dispatcher.dispatch_due() == 1

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery_id
    assert first.body == second.body
    assert _verified(secret, second) == json.loads(first.body)
    assert delivery_row(tenant, delivery_id).status == "DELIVERED"
    assert webhook_row(tenant, webhook_id).failing_since is None


def _fail_until_settled(dispatcher, tenant, clock, delivery_id: str) -> int:
    """Drives the fake clock from one attempt to the next until the delivery leaves
    PENDING; returns how many attempts that took."""
    attempts = 0
    while True:
        attempts += dispatcher.dispatch_due()
        row = delivery_row(tenant, delivery_id)
        if row.status != "PENDING":
            return attempts
        clock.set(row.next_attempt_at)


def test_a_delivery_that_keeps_failing_is_dead_lettered_after_its_window(
    tenant, receiver, dispatcher, clock, metrics
):
    webhook_id, _ = add_webhook(tenant, receiver.url("/down"))
    delivery_id = add_delivery(tenant, webhook_id)
    receiver.reply("/down", status=500)

    attempts = _fail_until_settled(dispatcher, tenant, clock, delivery_id)

    row = delivery_row(tenant, delivery_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("DEAD_LETTER", attempts, None)
    window = DeliveryRetryPolicy().window
    # The last attempt is within the window; the one after it would not have been.
    assert START < row.last_attempt_at <= START + window
    assert len(receiver.requests) == attempts
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    clock.advance(timedelta(days=1))
    assert dispatcher.dispatch_due() == 0
    value = metrics.registry.get_sample_value
    assert value("sundial_webhook_deliveries_total", {"outcome": "dead_letter"}) == 1
    assert value("sundial_webhook_deliveries_total", {"outcome": "retry"}) == attempts - 1
    assert value("sundial_webhook_attempt_duration_seconds_count") == attempts


def test_a_webhook_failing_for_the_disable_window_is_disabled_with_an_event(
    tenant, receiver, dispatcher, clock, metrics
):
    webhook_id, _ = add_webhook(tenant, receiver.url("/down"))
    watcher_id, watcher_secret = add_webhook(
        tenant, receiver.url("/watch"), event_types=(EventType.WEBHOOK_DISABLED,)
    )
    receiver.reply("/down", status=500)
    first = add_delivery(tenant, webhook_id)
    _fail_until_settled(dispatcher, tenant, clock, first)
    assert webhook_row(tenant, webhook_id).state == "ENABLED"  # one day of failure only

    clock.set(START + timedelta(days=5))
    later = add_delivery(tenant, webhook_id)
    dispatcher.dispatch_due()

    row = webhook_row(tenant, webhook_id)
    assert (row.state, row.disabled_at, row.failing_since) == ("DISABLED", clock.now(), START)
    assert "failed since" in row.disabled_reason
    assert "1 dead-lettered" in row.disabled_reason
    # The event, written in the disabling transaction, goes to the webhook subscribed to it.
    assert dispatcher.dispatch_due() == 1
    [event] = deliveries_to(tenant, watcher_id)
    assert (event.event_type, event.status) == ("WEBHOOK_DISABLED", "DELIVERED")
    [request] = [r for r in receiver.requests if r.path == "/watch"]
    body = _verified(watcher_secret, request)
    assert body["type"] == "webhook.disabled"
    assert request.headers["webhook-id"] == event.id
    assert metrics.registry.get_sample_value("sundial_webhooks_disabled_total") == 1
    # Its pending deliveries wait (for the webhook to be enabled again), untaken.
    clock.advance(timedelta(hours=1))
    assert dispatcher.dispatch_due() == 0
    assert delivery_row(tenant, later).status == "PENDING"


def test_without_the_allow_flag_a_loopback_target_is_refused_at_connect_time(
    database, tenant, receiver, clock
):
    webhook_id, _ = add_webhook(tenant, receiver.url("/hook"))
    delivery_id = add_delivery(tenant, webhook_id)
    with WebhookSender(SystemClock()) as guarded:
        refusing = DeliveryDispatcher(database, clock, guarded, random_source=lambda: 0.5)
        try:
            assert refusing.dispatch_due() == 1
        finally:
            refusing.stop()

    assert receiver.requests == []
    row = delivery_row(tenant, delivery_id)
    assert row.last_error.startswith("refused_by_guard: refused to connect to 127.0.0.1")
    assert (row.status, row.attempts, row.last_http_status) == ("PENDING", 1, 0)


def test_a_target_the_sender_cannot_use_is_a_failed_attempt(tenant, dispatcher):
    webhook_id, _ = add_webhook(tenant, "ftp://example.com/hook")
    delivery_id = add_delivery(tenant, webhook_id)

    assert dispatcher.dispatch_due() == 1

    row = delivery_row(tenant, delivery_id)
    assert (row.status, row.attempts) == ("PENDING", 1)
    assert row.last_error == "invalid_target: url must be http or https, got ftp scheme"


def test_the_thread_sends_a_new_delivery_when_woken_and_stops_after_recording_it(
    database, tenant, receiver, sender
):
    # A clock that never moves: nothing falls due by time, only what the wake-up finds.
    clock = FakeClock(START)
    dispatcher = DeliveryDispatcher(database, clock, sender, concurrency=2)
    webhook_id, _ = add_webhook(tenant, receiver.url("/slow"))
    hold = threading.Event()
    receiver.reply("/slow", hold=hold)
    dispatcher.start()
    try:
        delivery_id = add_delivery(tenant, webhook_id)
        dispatcher.wake()
        assert _eventually(lambda: receiver.in_flight == 1)
    finally:
        # stop() is called while the attempt is in flight and returns once it is recorded.
        stopping = threading.Thread(target=dispatcher.stop)
        stopping.start()
        hold.set()
        stopping.join(DEADLINE_SECONDS)
    assert not stopping.is_alive()
    assert delivery_row(tenant, delivery_id).status == "DELIVERED"


def test_a_slow_target_holds_one_slot_while_the_others_deliver(database, tenant, receiver, sender):
    clock = FakeClock(START)
    dispatcher = DeliveryDispatcher(database, clock, sender, concurrency=2)
    slow_id, _ = add_webhook(tenant, receiver.url("/slow"))
    fast_id, _ = add_webhook(tenant, receiver.url("/fast"))
    hold = threading.Event()
    receiver.reply("/slow", hold=hold)
    held = add_delivery(tenant, slow_id)
    dispatcher.start()
    try:
        dispatcher.wake()
        assert _eventually(lambda: receiver.in_flight == 1)
        quick = [add_delivery(tenant, fast_id) for _ in range(3)]
        dispatcher.wake()
        # One slot is held by the slow target; the other carries the fast ones in turn.
        assert _eventually(
            lambda: all(delivery_row(tenant, d).status == "DELIVERED" for d in quick)
        )
        assert delivery_row(tenant, held).status == "PENDING"
    finally:
        hold.set()
        dispatcher.stop()
    assert delivery_row(tenant, held).status == "DELIVERED"


def test_the_threads_drain_a_backlog_each_delivery_once_refilling_as_they_record(
    database, tenant, receiver, sender
):
    clock = FakeClock(START)
    dispatcher = DeliveryDispatcher(database, clock, sender, concurrency=4)
    webhook_id, _ = add_webhook(tenant, receiver.url("/hook"))
    ids = {add_delivery(tenant, webhook_id, {"n": n}) for n in range(60)}
    dispatcher.start()
    try:
        # One wake-up; then the recorder takes for the slots it frees (the taker, asleep
        # while every slot is busy, would look again within a second).
        dispatcher.wake()
        assert _eventually(lambda: len(receiver.requests) == len(ids))
    finally:
        dispatcher.stop()
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(ids)
    assert {delivery_row(tenant, d).status for d in ids} == {"DELIVERED"}
    assert receiver.most_in_flight <= 4


def test_two_dispatchers_on_one_database_send_each_delivery_once(
    database, tenant, receiver, sender, clock
):
    webhook_id, _ = add_webhook(tenant, receiver.url("/hook"))
    ids = {add_delivery(tenant, webhook_id, {"n": n}) for n in range(40)}
    pair = [
        DeliveryDispatcher(database, clock, sender, concurrency=3, random_source=lambda: 0.5)
        for _ in range(2)
    ]
    counts: list[int] = []
    try:
        passes = [
            threading.Thread(target=lambda d=d: counts.append(d.dispatch_due())) for d in pair
        ]
        for thread in passes:
            thread.start()
        for thread in passes:
            thread.join(DEADLINE_SECONDS)
    finally:
        for dispatcher in pair:
            dispatcher.stop()

    assert sum(counts) == 40
    sent = [request.headers["webhook-id"] for request in receiver.requests]
    assert sorted(sent) == sorted(ids)  # each once: no delivery taken by both
    assert {delivery_row(tenant, d).status for d in ids} == {"DELIVERED"}


def test_the_backlog_counts_what_is_due_and_not_taken(tenant, dispatcher, clock):
    webhook_id, _ = add_webhook(tenant, "https://example.com/hook")
    add_delivery(tenant, webhook_id)
    add_delivery(tenant, webhook_id, due_at=START + timedelta(minutes=1))

    assert dispatcher.count_due() == 1
    assert dispatcher.earliest_due() == START


def _eventually(condition) -> bool:
    """A sync point for the threaded test: polls `condition` up to the deadline."""
    done = threading.Event()
    for _ in range(DEADLINE_SECONDS * 100):
        if condition():
            return True
        done.wait(0.01)
    return False
