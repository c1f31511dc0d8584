"""The pusher's loop wakes when told objectives become claimable: at once, or, for a retry
waiting on its backoff, at the retry's time (it sleeps no longer than until then), driven by
a fake clock; a failed push's retry tells it when, through the notifier."""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sundial.domain.clock import FakeClock
from sundial.domain.objectives import ObjectiveStatus
from sundial.service.pusher import POLL_INTERVAL
from sundial.store.database import Database
from tests.support.push_agents import PushWorld
from tests.support.webhook_receiver import Receiver, receiving

POLL = POLL_INTERVAL.total_seconds()


@pytest.fixture
def clock() -> FakeClock:
    # Near the real time: standardwebhooks refuses signatures more than 5 minutes off.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def world(sqlite_template, tmp_path, clock, receiver) -> Iterator[PushWorld]:
    path = tmp_path / "sundial.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    made = PushWorld(database, clock, receiver.url("/agent"))
    yield made
    made.close()
    database.dispose()


def test_the_loop_sleeps_until_the_first_retry_time_then_polls(world, clock):
    pusher = world.pusher()
    assert pusher.seconds_to_sleep() == POLL
    soon, later = clock.now() + timedelta(seconds=0.25), clock.now() + timedelta(seconds=10)

    pusher.wake(["agent"], later)
    pusher.wake(["agent"], soon)

    assert pusher.next_wake_at == soon
    assert pusher.seconds_to_sleep() == 0.25
    clock.advance(timedelta(seconds=0.25))
    assert pusher.seconds_to_sleep() == 0  # reached: claim now
    assert pusher.next_wake_at == later
    assert pusher.seconds_to_sleep() == POLL  # the next one is further than a poll
    clock.advance(timedelta(seconds=9.5))
    assert pusher.seconds_to_sleep() == 0.25


def test_a_wake_for_now_or_the_past_is_not_remembered(world, clock):
    pusher = world.pusher()
    pusher.wake(["agent"])
    pusher.wake(["agent"], clock.now())
    pusher.wake(["agent"], clock.now() - timedelta(seconds=1))
    assert pusher.next_wake_at is None
    assert pusher.wakes == 3


def test_a_failed_push_tells_the_pusher_when_its_retry_is_due(world, receiver, clock):
    receiver.reply("/agent", status=503, body=b"", headers={"Retry-After": "7"})
    pusher = world.pusher()
    world.notifier.on_objectives_available(pusher.wake)
    world.trigger(world.schedule(max_attempts=2))
    wakes = pusher.wakes

    assert pusher.push_pending() == 1

    failed, retry = world.attempts()
    assert failed.info.status is ObjectiveStatus.FAILED
    assert retry.info.available_at == clock.now() + timedelta(seconds=7)
    assert pusher.wakes == wakes + 1
    assert pusher.next_wake_at == retry.info.available_at
    assert pusher.seconds_to_sleep() == POLL
    clock.advance(timedelta(seconds=7))
    assert pusher.seconds_to_sleep() == 0
    receiver.reply("/agent", status=200, body=b"{}")
    assert pusher.push_pending() == 1
