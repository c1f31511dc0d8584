"""Schedule wake-ups carry when the changed schedule falls due, to this process's loops and,
as the notification's payload, to other replicas'; a schedule that will not fire wakes
nobody. Objective wake-ups carry when they become claimable (a retry's backoff) the same
way. At shutdown, waits for objectives end at once."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sundial.service.notifier import (
    DELIVERIES,
    OBJECTIVES,
    SCHEDULES,
    Notifier,
    due_at_of,
    objectives_of,
)

DUE = datetime(2026, 3, 2, 12, 0, 30, 125_000, tzinfo=UTC)


def _notifier() -> tuple[Notifier, list[datetime], list[tuple[str, str]]]:
    notifier = Notifier()
    heard: list[datetime] = []
    published: list[tuple[str, str]] = []
    notifier.on_schedules_changed(heard.append)
    notifier.add_publisher(lambda topic, payload: published.append((topic, payload)))
    return notifier, heard, published


def test_a_change_with_a_fire_tells_when_here_and_to_other_replicas():
    notifier, heard, published = _notifier()
    notifier.schedules_changed(DUE)
    assert heard == [DUE]
    [(topic, payload)] = published
    assert topic == SCHEDULES
    assert due_at_of(payload) == DUE


def test_a_change_without_a_fire_wakes_nobody():
    notifier, heard, published = _notifier()
    notifier.schedules_changed(None)
    assert heard == []
    assert published == []


def test_the_payload_of_any_offset_is_the_same_instant():
    east = DUE.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert due_at_of(east.isoformat()) == DUE


def test_a_payload_without_a_time_means_at_once():
    for payload in ("", "soon"):
        assert due_at_of(payload) < DUE - timedelta(days=365 * 1000)
    assert due_at_of("2026-03-02T12:00:30.125") == DUE  # naive is UTC


# A bound on threads that should end at once; far below the waits (60 s) they must not sit out.
JOIN_SECONDS = 20


def _waiting(notifier: Notifier) -> threading.Thread:
    thread = threading.Thread(target=notifier.wait_for_objectives, args=("agent_1", 60.0))
    thread.start()
    return thread


def test_ending_waits_wakes_a_waiting_claim_and_later_ones_do_not_wait():
    notifier = Notifier()
    waiting = _waiting(notifier)
    assert not notifier.waits_ended
    notifier.end_waits()
    waiting.join(JOIN_SECONDS)
    assert not waiting.is_alive()
    assert notifier.waits_ended
    later = _waiting(notifier)
    later.join(JOIN_SECONDS)
    assert not later.is_alive()


def test_written_deliveries_wake_the_dispatchers_here_and_on_other_replicas():
    notifier, _, published = _notifier()
    woken: list[str] = []
    notifier.on_deliveries_written(lambda: woken.append("here"))
    notifier.deliveries_written()
    assert woken == ["here"]
    assert published == [(DELIVERIES, "")]
    notifier.local_deliveries_written()  # what a replica's NOTIFY listener calls
    assert woken == ["here", "here"]
    assert published == [(DELIVERIES, "")]


@pytest.mark.parametrize(
    "available_at", [None, DUE, DUE.astimezone(timezone(timedelta(hours=-5)))], ids=str
)
def test_objectives_available_tell_when_here_and_to_other_replicas(available_at):
    notifier = Notifier()
    heard: list[tuple[list[str], datetime | None]] = []
    published: list[tuple[str, str]] = []
    notifier.on_objectives_available(lambda agents, at: heard.append((agents, at)))
    notifier.add_publisher(lambda topic, payload: published.append((topic, payload)))

    notifier.objectives_available(["agent_a", "agent_b"], available_at)

    assert heard == [(["agent_a", "agent_b"], available_at)]
    [(topic, payload)] = published
    assert topic == OBJECTIVES
    assert objectives_of(payload) == (["agent_a", "agent_b"], available_at)


@pytest.mark.parametrize(
    ("payload", "agents", "available_at"),
    [
        ("agent_a", ["agent_a"], None),  # a replica of an older version: now
        ("agent_a@not-a-time", ["agent_a"], None),
        ("agent_a@2026-03-02T12:00:30.125000", ["agent_a"], DUE),  # naive: UTC
        ("", [], None),
    ],
    ids=["no-time", "bad-time", "naive-time", "empty"],
)
def test_an_objectives_payload_reads_leniently(payload, agents, available_at):
    assert objectives_of(payload) == (agents, available_at)
