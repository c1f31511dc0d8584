"""Pushers on both databases: several replicas' pushers running at once push each objective
attempt exactly once (SKIP LOCKED claims on PostgreSQL, the write lock on SQLite), and every
attempt ends SUCCEEDED."""

import threading
from collections.abc import Iterator

import pytest

from sundial.domain.objectives import ObjectiveStatus
from tests.support.push_agents import PushWorld
from tests.support.webhook_receiver import Receiver, receiving

OBJECTIVES = 24
# A wait for the pushers' threads that is far past anything they should take.
BOUND_SECONDS = 60


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def world(database, clock, receiver) -> Iterator[PushWorld]:
    made = PushWorld(database, clock, receiver.url("/agent"))
    yield made
    made.close()


def test_two_pushers_never_push_the_same_attempt_twice(world, receiver, monkeypatch):
    receiver.reply("/agent", status=200, body=b'{"done": true}')
    ended = threading.Semaphore(0)
    record = world.metrics.pushed

    def pushed(outcome: str, seconds: float) -> None:
        record(outcome, seconds)
        ended.release()

    monkeypatch.setattr(world.metrics, "pushed", pushed)
    pushers = [world.pusher("replica-a", concurrency=4), world.pusher("replica-b", concurrency=4)]
    for pusher in pushers:
        world.notifier.on_objectives_available(pusher.wake)
        pusher.start()
    schedule_id = world.schedule()
    try:
        for _ in range(OBJECTIVES):
            world.trigger(schedule_id)
        for _ in range(OBJECTIVES):
            assert ended.acquire(timeout=BOUND_SECONDS), "a push never ended"
    finally:
        for pusher in pushers:
            pusher.stop()

    attempts = world.attempts()
    assert len(attempts) == OBJECTIVES
    assert {o.info.status for o in attempts} == {ObjectiveStatus.SUCCEEDED}
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert len(ids) == OBJECTIVES
    assert sorted(ids) == sorted(f"{o.metadata.id}_1" for o in attempts)
    assert {o.info.worker_id for o in attempts} <= {"push:replica-a", "push:replica-b"}
    succeeded = world.metrics.registry.get_sample_value(
        "sundial_pushes_total", {"outcome": "succeeded"}
    )
    assert succeeded == OBJECTIVES
