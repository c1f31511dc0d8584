"""The engine against oracles recomputed minute by minute with zoneinfo, around every
offset change of a year, in zones with 1-hour and 30-minute shifts, a change at 00:01 and a
skipped day."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sundial.domain.schedules import DstGapPolicy, DstOverlapPolicy, ScheduleRules
from sundial.timing import compile_schedule

SHIFT, SKIP = DstGapPolicy.SHIFT, DstGapPolicy.SKIP
FIRST, BOTH = DstOverlapPolicy.FIRST, DstOverlapPolicy.BOTH


ORACLE_ZONES = [
    pytest.param("America/New_York", 2024, id="new_york"),
    pytest.param("Europe/Berlin", 2024, id="berlin"),
    pytest.param("Australia/Lord_Howe", 2024, id="lord_howe"),
    pytest.param("America/St_Johns", 2010, id="st_johns-changes-at-00:01"),
    pytest.param("Pacific/Apia", 2011, id="apia"),
]


def change_windows(zone: ZoneInfo, year: int) -> list[tuple[datetime, datetime]]:
    """Two-day UTC windows around each offset change of the year."""
    windows = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        following = moment + timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            windows.append((moment - timedelta(days=1), moment + timedelta(days=1)))
        moment = following
    return windows


@pytest.mark.parametrize(("name", "year"), ORACLE_ZONES)
def test_rules_matching_every_hour_fire_at_every_real_occurrence(name: str, year: int) -> None:
    zone = ZoneInfo(name)
    schedule = compile_schedule(ScheduleRules(cron_expressions=("*/30 * * * *",), timezone=name))
    windows = change_windows(zone, year)
    assert windows
    for start, end in windows:
        expected = []
        moment = start + timedelta(minutes=1)
        while moment <= end:
            if moment.astimezone(zone).minute in (0, 30):
                expected.append(moment)
            moment += timedelta(minutes=1)
        got = []
        for fire in schedule.fires(start):
            if fire.nominal > end:
                break
            got.append(fire.nominal)
        assert got == expected


def wall_time_instants(
    zone: ZoneInfo, wall: datetime, gap: DstGapPolicy, overlap: DstOverlapPolicy
) -> list[datetime]:
    """The documented policies, from zoneinfo's folds and a minute search for gap ends."""
    early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return [early.astimezone(UTC)]
    if early.utcoffset() > late.utcoffset():  # type: ignore[operator]
        both = [early.astimezone(UTC), late.astimezone(UTC)]
        return both if overlap == BOTH else both[:1]
    if gap == SKIP:
        return []
    moment = late.astimezone(UTC)  # before the gap; step to the first instant after it
    while moment.astimezone(zone).replace(tzinfo=None) < wall:
        moment += timedelta(minutes=1)
    return [moment]


@pytest.mark.parametrize(("gap", "overlap"), [(SHIFT, FIRST), (SKIP, BOTH)])
@pytest.mark.parametrize(("name", "year"), ORACLE_ZONES)
@pytest.mark.parametrize("hour_minute", [(0, 0), (0, 30), (1, 45), (2, 15), (23, 30)])
def test_daily_wall_times_follow_the_policies(
    name: str, year: int, hour_minute: tuple[int, int], gap: DstGapPolicy, overlap: DstOverlapPolicy
) -> None:
    zone = ZoneInfo(name)
    hour, minute = hour_minute
    rules = ScheduleRules(
        cron_expressions=(f"{minute} {hour} * * *",),
        timezone=name,
        dst_gap_policy=gap,
        dst_overlap_policy=overlap,
    )
    schedule = compile_schedule(rules)
    for start, end in change_windows(zone, year):
        expected: set[datetime] = set()
        day = start.astimezone(zone).date() - timedelta(days=1)
        while day <= end.astimezone(zone).date() + timedelta(days=1):
            wall = datetime(day.year, day.month, day.day, hour, minute)
            expected.update(wall_time_instants(zone, wall, gap, overlap))
            day += timedelta(days=1)
        got = []
        for fire in schedule.fires(start):
            if fire.nominal > end:
                break
            got.append(fire.nominal)
        assert got == sorted(m for m in expected if start < m <= end)
