"""Ids: the prefixed ULID format, creation order and uniqueness of fresh ids."""

import threading
from datetime import UTC, datetime, timedelta

from ulid import ULID

from sundial.domain import ids
from sundial.domain.ids import IdPrefix, is_id, new_id


def test_fresh_ids_are_prefixed_ulids_of_now():
    before = datetime.now(UTC)
    made = new_id(IdPrefix.OBJECTIVE)
    assert is_id(made, IdPrefix.OBJECTIVE)
    assert not is_id(made, IdPrefix.SCHEDULE)
    prefix, ulid = made.split("_")
    assert prefix == "obj"
    assert str(ULID.from_str(ulid)) == ulid
    stamped = ULID.from_str(ulid).datetime
    assert before - timedelta(milliseconds=1) <= stamped <= datetime.now(UTC)


def test_ids_of_one_process_sort_in_creation_order():
    made = [new_id(IdPrefix.OBJECTIVE) for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_stay_unique_across_threads():
    made: list[list[str]] = [[] for _ in range(4)]

    def make(into: list[str]) -> None:
        into.extend(new_id(IdPrefix.SCHEDULE) for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [made_id for into in made for made_id in into]
    assert len(set(every)) == len(every)
    assert all(into == sorted(into) for into in made)


def test_a_clock_step_back_does_not_reorder_ids(monkeypatch):
    source = ids._UlidSource()
    now = [1_800_000_000_000_000_000]
    monkeypatch.setattr(ids.time, "time_ns", lambda: now[0])
    first = source.next()
    now[0] -= 5_000_000_000  # five seconds back
    second = source.next()
    assert second > first
    assert ULID.from_str(second).milliseconds == ULID.from_str(first).milliseconds


def test_the_random_part_overflowing_moves_to_the_next_millisecond(monkeypatch):
    source = ids._UlidSource()
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_800_000_000_000_000_000)
    first = source.next()
    source._random = (1 << 80) - 1
    second = source.next()
    assert second > first
    assert ULID.from_str(second).milliseconds == ULID.from_str(first).milliseconds + 1
