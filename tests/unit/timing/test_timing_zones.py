"""Per-day zone facts (offsets and DST transitions) and wall-time mapping under each policy."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sundial.domain.schedules import DstGapPolicy, DstOverlapPolicy
from sundial.timing.zones import (
    EPOCH_ORDINAL,
    SECONDS_PER_DAY,
    DayTransition,
    ZoneDays,
    load_zone,
    wall_instants,
)

SHIFT, SKIP = DstGapPolicy.SHIFT, DstGapPolicy.SKIP
FIRST, BOTH = DstOverlapPolicy.FIRST, DstOverlapPolicy.BOTH
HOUR = 3600


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def day_start(day: date) -> int:
    return (day.toordinal() - EPOCH_ORDINAL) * SECONDS_PER_DAY


TRANSITIONS = [
    pytest.param(
        "America/New_York", date(2024, 3, 10), -5 * HOUR, -4 * HOUR, 2 * HOUR, id="new_york-spring"
    ),
    pytest.param(
        "America/New_York", date(2024, 11, 3), -4 * HOUR, -5 * HOUR, 2 * HOUR, id="new_york-fall"
    ),
    pytest.param("Europe/Berlin", date(2024, 3, 31), HOUR, 2 * HOUR, 2 * HOUR, id="berlin-spring"),
    pytest.param("Europe/Berlin", date(2024, 10, 27), 2 * HOUR, HOUR, 3 * HOUR, id="berlin-fall"),
    pytest.param(
        "Australia/Lord_Howe", date(2024, 4, 7), 11 * HOUR, 37800, 2 * HOUR, id="lord_howe-fall"
    ),
    pytest.param(
        "Australia/Lord_Howe", date(2024, 10, 6), 37800, 11 * HOUR, 2 * HOUR, id="lord_howe-spring"
    ),
    pytest.param(
        "Pacific/Apia", date(2011, 12, 30), -10 * HOUR, 14 * HOUR, 0, id="apia-missing-day"
    ),
]


@pytest.mark.parametrize(("name", "day", "before", "after", "wall"), TRANSITIONS)
def test_transition_days_are_found(
    name: str, day: date, before: int, after: int, wall: int
) -> None:
    info = load_zone(name).day(day.toordinal())
    assert isinstance(info, DayTransition)
    assert (info.before, info.after, info.wall) == (before, after, wall)
    zone = ZoneInfo(name)
    just_before = datetime.fromtimestamp(info.utc - 1, zone)
    at_change = datetime.fromtimestamp(info.utc, zone)
    assert just_before.utcoffset() == timedelta(seconds=before)
    assert at_change.utcoffset() == timedelta(seconds=after)


@pytest.mark.parametrize(
    ("name", "day", "offset"),
    [
        pytest.param("America/New_York", date(2024, 3, 9), -5 * HOUR, id="new_york-day-before"),
        pytest.param("America/New_York", date(2024, 3, 11), -4 * HOUR, id="new_york-day-after"),
        pytest.param("Pacific/Apia", date(2011, 12, 31), 14 * HOUR, id="apia-after-missing-day"),
        pytest.param("Asia/Kolkata", date(2024, 6, 1), 19800, id="kolkata-no-dst"),
        pytest.param("", date(2024, 6, 1), 0, id="empty-is-utc"),
        pytest.param("Etc/GMT+5", date(2024, 6, 1), -5 * HOUR, id="fixed-offset-zone"),
    ],
)
def test_constant_days(name: str, day: date, offset: int) -> None:
    assert load_zone(name).day(day.toordinal()) == offset


@pytest.mark.parametrize("name", ["America/New_York", "Australia/Lord_Howe", "Pacific/Apia"])
def test_every_half_hour_agrees_with_zoneinfo(name: str) -> None:
    """Unique wall times map as zoneinfo does, repeated ones to fold 0, missing ones to the
    gap's end."""
    zone, days = ZoneInfo(name), ZoneDays(name, ZoneInfo(name))
    first = date(2011, 1, 1).toordinal()
    for ordinal in range(first, first + 2 * 366):
        info = days.day(ordinal)
        midnight = datetime.combine(date.fromordinal(ordinal), datetime.min.time())
        for half_hours in range(48):
            local = midnight + timedelta(minutes=30 * half_hours)
            early = local.replace(tzinfo=zone, fold=0)
            late = local.replace(tzinfo=zone, fold=1)
            got = wall_instants(info, day_start(local.date()), (half_hours * 1800,), SHIFT, FIRST)
            if early.utcoffset() == late.utcoffset():
                assert got == [epoch(early)], local
            elif early.utcoffset() > late.utcoffset():  # type: ignore[operator]
                assert got == [epoch(early)], local  # repeated: first occurrence
            else:  # missing: the instant the clocks jump
                assert isinstance(info, DayTransition)
                assert got == [info.utc], local


@pytest.mark.parametrize(
    ("seconds", "gap", "overlap", "elapsed", "expected_local"),
    [
        pytest.param((1 * HOUR,), SHIFT, FIRST, False, ["01:00-0500"], id="before-the-gap"),
        pytest.param((2 * HOUR + 1800,), SHIFT, FIRST, False, ["03:00-0400"], id="in-gap-shift"),
        pytest.param((2 * HOUR + 1800,), SKIP, FIRST, False, [], id="in-gap-skip"),
        pytest.param((2 * HOUR + 1800,), SHIFT, FIRST, True, [], id="in-gap-elapsed-skips"),
        pytest.param((3 * HOUR,), SKIP, FIRST, False, ["03:00-0400"], id="gap-end-exists"),
        pytest.param(
            (2 * HOUR, 3 * HOUR),
            SHIFT,
            FIRST,
            False,
            ["03:00-0400", "03:00-0400"],
            id="shift-meets-real",
        ),
    ],
)
def test_wall_instants_in_a_gap(
    seconds: tuple[int, ...],
    gap: DstGapPolicy,
    overlap: DstOverlapPolicy,
    elapsed: bool,
    expected_local: list[str],
) -> None:
    day = date(2024, 3, 10)
    info = load_zone("America/New_York").day(day.toordinal())
    instants = wall_instants(info, day_start(day), seconds, gap, overlap, elapsed)
    zone = ZoneInfo("America/New_York")
    shown = [datetime.fromtimestamp(u, zone).strftime("%H:%M%z") for u in instants]
    assert shown == expected_local


@pytest.mark.parametrize(
    ("overlap", "elapsed", "expected"),
    [
        pytest.param(FIRST, False, ["00:30-0400", "01:30-0400", "02:30-0500"], id="first"),
        pytest.param(
            BOTH, False, ["00:30-0400", "01:30-0400", "01:30-0500", "02:30-0500"], id="both"
        ),
        pytest.param(
            FIRST, True, ["00:30-0400", "01:30-0400", "01:30-0500", "02:30-0500"], id="elapsed"
        ),
    ],
)
def test_wall_instants_in_an_overlap(
    overlap: DstOverlapPolicy, elapsed: bool, expected: list[str]
) -> None:
    day = date(2024, 11, 3)
    info = load_zone("America/New_York").day(day.toordinal())
    seconds = (1800, HOUR + 1800, 2 * HOUR + 1800)
    instants = wall_instants(info, day_start(day), seconds, SHIFT, overlap, elapsed)
    zone = ZoneInfo("America/New_York")
    assert [datetime.fromtimestamp(u, zone).strftime("%H:%M%z") for u in instants] == expected


def test_first_instant_of_a_missing_day_is_the_next_midnight() -> None:
    zone = load_zone("Pacific/Apia")
    missing = date(2011, 12, 30).toordinal()
    assert zone.first_instant(missing) == zone.first_instant(missing + 1)
    assert zone.first_instant(missing + 1) == epoch(datetime(2011, 12, 30, 10, tzinfo=UTC))


def test_local_ordinal_and_offset_at() -> None:
    zone = load_zone("America/New_York")
    instant = epoch(datetime(2024, 7, 1, 3, tzinfo=UTC))  # 23:00 EDT on June 30
    assert zone.offset_at(instant) == -4 * HOUR
    assert zone.local_ordinal(instant) == date(2024, 6, 30).toordinal()


@pytest.mark.parametrize("name", ["Mars/Olympus", "America", "../etc/passwd", "/etc/passwd", "utc"])
def test_unknown_zones_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        load_zone(name)
