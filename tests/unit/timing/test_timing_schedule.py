"""The public CompiledSchedule: union, one-shot times, window clipping, jitter, and the
properties every schedule keeps (Hypothesis)."""

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import (
    DstGapPolicy,
    DstOverlapPolicy,
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.timing import CompiledSchedule, Fire, compile_schedule

R = ScheduleRange
JAN_2024 = datetime(2024, 1, 1, tzinfo=UTC)
NINE_DAILY = ScheduleRules(calendars=(ScheduleCalendar(hour=(R(9),)),))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def nominals(schedule: CompiledSchedule, after: datetime, count: int) -> list[datetime]:
    return [fire.nominal for fire in schedule.fire_times(after, count)]


def test_fires_are_aware_utc_whole_seconds() -> None:
    fire = compile_schedule(NINE_DAILY).next_fire(JAN_2024)
    assert fire == Fire(nominal=utc(2024, 1, 1, 9), at=utc(2024, 1, 1, 9))
    assert fire.nominal.tzinfo is UTC


def test_after_must_be_aware() -> None:
    schedule = compile_schedule(NINE_DAILY)
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_fire(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.fires(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.fire_times(datetime(2024, 1, 1), 3)


def test_fires_strictly_after() -> None:
    schedule = compile_schedule(NINE_DAILY)
    assert nominals(schedule, utc(2024, 1, 1, 9), 1) == [utc(2024, 1, 2, 9)]
    assert nominals(schedule, utc(2024, 1, 1, 9) - timedelta(microseconds=1), 1) == [
        utc(2024, 1, 1, 9)
    ]
    assert nominals(schedule, utc(2024, 1, 1, 9) + timedelta(microseconds=1), 1) == [
        utc(2024, 1, 2, 9)
    ]


def test_after_in_another_offset() -> None:
    schedule = compile_schedule(NINE_DAILY)
    after = datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=2)))  # 08:00 UTC
    assert nominals(schedule, after, 1) == [utc(2024, 1, 1, 9)]


def test_fire_times_and_fires_agree() -> None:
    schedule = compile_schedule(NINE_DAILY)
    fires = schedule.fires(JAN_2024)
    assert isinstance(fires, Iterator)
    assert [next(fires) for _ in range(5)] == schedule.fire_times(JAN_2024, 5)
    assert schedule.next_fire(JAN_2024) == schedule.fire_times(JAN_2024, 1)[0]
    assert schedule.fire_times(JAN_2024, 0) == []
    with pytest.raises(ValueError, match="count"):
        schedule.fire_times(JAN_2024, -1)


def test_union_fires_a_shared_instant_once() -> None:
    rules = ScheduleRules(
        calendars=(ScheduleCalendar(hour=(R(9),)), ScheduleCalendar(hour=(R(9), R(12)))),
        cron_expressions=("0 9 * * *",),
        intervals=(ScheduleInterval(every=timedelta(hours=3)),),
        at=(utc(2024, 1, 1, 9), utc(2024, 1, 1, 10, 30)),
    )
    assert nominals(compile_schedule(rules), JAN_2024, 6) == [
        utc(2024, 1, 1, 3),
        utc(2024, 1, 1, 6),
        utc(2024, 1, 1, 9),
        utc(2024, 1, 1, 10, 30),
        utc(2024, 1, 1, 12),
        utc(2024, 1, 1, 15),
    ]


AT_CASES = [
    pytest.param((utc(2030, 5, 1, 12),), JAN_2024, [utc(2030, 5, 1, 12)], id="future"),
    pytest.param((utc(2020, 5, 1, 12),), JAN_2024, [], id="past-never-comes"),
    pytest.param(
        (utc(2031, 1, 1), utc(2030, 1, 1), utc(2030, 1, 1)),
        JAN_2024,
        [utc(2030, 1, 1), utc(2031, 1, 1)],
        id="sorted-and-unique",
    ),
    pytest.param(
        (utc(2030, 1, 1) + timedelta(milliseconds=250),),
        JAN_2024,
        [utc(2030, 1, 1, 0, 0, 1)],
        id="fraction-rounds-up",
    ),
    pytest.param(
        (datetime(2030, 1, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo")),),
        JAN_2024,
        [utc(2030, 1, 1, 0)],
        id="any-zone-means-that-instant",
    ),
]


@pytest.mark.parametrize(("at", "after", "expected"), AT_CASES)
def test_one_shot_times(
    at: tuple[datetime, ...], after: datetime, expected: list[datetime]
) -> None:
    schedule = compile_schedule(ScheduleRules(at=at))
    assert nominals(schedule, after, 5) == expected


def test_one_shot_times_are_excluded_and_clipped() -> None:
    rules = ScheduleRules(
        at=(utc(2030, 1, 5, 12), utc(2030, 1, 6, 12), utc(2030, 1, 7, 12), utc(2031, 1, 1)),
        exclude_calendars=(ScheduleCalendar(day_of_month=(R(6),), hour=(R(12),)),),
        end_time=utc(2030, 12, 31),
    )
    assert nominals(compile_schedule(rules), JAN_2024, 5) == [
        utc(2030, 1, 5, 12),
        utc(2030, 1, 7, 12),
    ]


def test_window_is_inclusive() -> None:
    rules = ScheduleRules(
        cron_expressions=("0 9 * * *",),
        start_time=utc(2024, 1, 2, 9),
        end_time=utc(2024, 1, 4, 9),
    )
    schedule = compile_schedule(rules)
    assert nominals(schedule, JAN_2024, 5) == [
        utc(2024, 1, 2, 9),
        utc(2024, 1, 3, 9),
        utc(2024, 1, 4, 9),
    ]
    assert schedule.next_fire(utc(2024, 1, 4, 9)) is None


def test_window_edges_beyond_the_supported_years_mean_no_limit() -> None:
    rules = ScheduleRules(
        cron_expressions=("@daily",),
        start_time=datetime.min.replace(tzinfo=UTC),
        end_time=datetime.max.replace(tzinfo=UTC),
        jitter=timedelta(days=1000),
        timezone="Pacific/Kiritimati",
    )
    schedule = compile_schedule(rules, schedule_id="edge")
    fires = schedule.fire_times(utc(9998, 12, 28), 10)
    assert [fire.nominal for fire in fires] == [
        utc(9998, 12, 28, 10),
        utc(9998, 12, 29, 10),
        utc(9998, 12, 30, 10),
    ]
    assert schedule.next_fire(datetime.min.replace(tzinfo=UTC)) is not None


def test_window_with_fractions_keeps_whole_seconds_inside() -> None:
    rules = ScheduleRules(
        cron_expressions=("* * * * * *",),
        start_time=utc(2024, 1, 1) + timedelta(milliseconds=1),
        end_time=utc(2024, 1, 1, 0, 0, 3) - timedelta(milliseconds=1),
    )
    assert nominals(compile_schedule(rules), utc(2023, 1, 1), 5) == [
        utc(2024, 1, 1, 0, 0, 1),
        utc(2024, 1, 1, 0, 0, 2),
    ]


def test_exclusions_drop_matching_wall_times() -> None:
    rules = ScheduleRules(
        cron_expressions=("0 9 * * *",),
        timezone="Europe/Berlin",
        exclude_calendars=(ScheduleCalendar(second=(R(0, 59),), day_of_week=(R(0), R(6))),),
    )
    fires = nominals(compile_schedule(rules), utc(2024, 1, 4), 3)  # Thursday
    assert [fire.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %H:%M") for fire in fires] == [
        "Thu 09:00",
        "Fri 09:00",
        "Mon 09:00",
    ]


def test_exclusion_of_a_point_in_time() -> None:
    rules = ScheduleRules(
        cron_expressions=("0 */6 * * *",),
        exclude_calendars=(ScheduleCalendar(hour=(R(12),)),),  # 12:00:00 every day
    )
    assert [f.hour for f in nominals(compile_schedule(rules), JAN_2024, 4)] == [6, 18, 0, 6]


def test_shifted_fire_is_dropped_when_either_wall_time_is_excluded() -> None:
    base = {"cron_expressions": ("30 2 * * *",), "timezone": "America/New_York"}
    after = utc(2024, 3, 9, 12)
    excluded_target = ScheduleRules(
        **base,  # type: ignore[arg-type]
        exclude_calendars=(ScheduleCalendar(month=(R(3),), day_of_month=(R(10),), hour=(R(3),)),),
    )
    excluded_nominal = ScheduleRules(
        **base,  # type: ignore[arg-type]
        exclude_calendars=(
            ScheduleCalendar(month=(R(3),), day_of_month=(R(10),), hour=(R(2),), minute=(R(30),)),
        ),
    )
    for rules in (excluded_target, excluded_nominal):
        assert nominals(compile_schedule(rules), after, 1) == [utc(2024, 3, 11, 6, 30)]


def test_jitter_is_deterministic_bounded_and_keyed_by_schedule() -> None:
    rules = ScheduleRules(cron_expressions=("0 * * * *",), jitter=timedelta(minutes=1))
    first = compile_schedule(rules, schedule_id="sched_01ABC").fire_times(JAN_2024, 3)
    again = compile_schedule(rules, schedule_id="sched_01ABC").fire_times(JAN_2024, 3)
    other = compile_schedule(rules, schedule_id="other").fire_times(JAN_2024, 3)
    assert first == again
    assert [fire.nominal for fire in first] == [fire.nominal for fire in other]
    assert [fire.at for fire in first] != [fire.at for fire in other]
    # Stable across processes and Python versions: blake2b, not hash().
    assert first[0].at - first[0].nominal == timedelta(milliseconds=51_472)
    for fire in first:
        delay = fire.at - fire.nominal
        assert timedelta(0) <= delay < timedelta(minutes=1)
        assert delay % timedelta(milliseconds=1) == timedelta(0)


def test_jitter_never_reaches_the_next_fire() -> None:
    rules = ScheduleRules(cron_expressions=("* * * * *",), jitter=timedelta(hours=1))
    fires = compile_schedule(rules, schedule_id="s").fire_times(JAN_2024, 200)
    for fire, following in itertools.pairwise(fires):
        assert fire.nominal <= fire.at < following.nominal
    assert max(fire.at - fire.nominal for fire in fires) > timedelta(seconds=30)


def test_last_fire_before_end_time_gets_the_full_jitter_range() -> None:
    rules = ScheduleRules(
        at=(utc(2030, 1, 1),), jitter=timedelta(days=3650), start_time=utc(2029, 1, 1)
    )
    fire = compile_schedule(rules, schedule_id="x").next_fire(JAN_2024)
    assert fire is not None
    assert timedelta(0) <= fire.at - fire.nominal < timedelta(days=3650)


def test_next_fire_is_none_when_the_schedule_is_over() -> None:
    rules = ScheduleRules(at=(utc(2030, 1, 1),))
    assert compile_schedule(rules).next_fire(utc(2030, 1, 1)) is None


# --- properties ---------------------------------------------------------------------------

ZONES = [
    "",
    "America/New_York",
    "America/St_Johns",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Asia/Kolkata",
]
CRONS = [
    "*/17 * * * *",
    "0 9 * * 1-5",
    "30 2 * * *",
    "0 * * * *",
    "0 0 L * *",
    "15 1 * * 0#1",
    "@every 7h",
]


def ranges(low: int, high: int) -> st.SearchStrategy[tuple[ScheduleRange, ...]]:
    one = st.builds(
        ScheduleRange,
        start=st.integers(low, high),
        end=st.integers(low, high),
        step=st.integers(0, 7),
    )
    return st.lists(one, min_size=1, max_size=2).map(tuple)


def calendars(*, dense_seconds: bool = False) -> st.SearchStrategy[ScheduleCalendar]:
    def maybe(
        strategy: st.SearchStrategy[tuple[ScheduleRange, ...]],
    ) -> st.SearchStrategy[tuple[ScheduleRange, ...]]:
        return st.one_of(st.just(()), strategy)

    seconds = maybe(ranges(0, 59)) if dense_seconds else st.just(())
    return st.builds(
        ScheduleCalendar,
        second=seconds,
        minute=maybe(ranges(0, 59)),
        hour=maybe(ranges(0, 23)),
        day_of_month=maybe(ranges(1, 31)),
        month=maybe(ranges(1, 12)),
        day_of_week=maybe(ranges(0, 7)),
    )


moments = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
EVERY = [60, 900, 3600, 7 * 3600, 86400, 90061, 2 * 86400, 7 * 86400]


@st.composite
def specs(draw: st.DrawFn) -> ScheduleRules:
    every = draw(st.lists(st.sampled_from(EVERY), max_size=1))
    start = draw(st.one_of(st.none(), moments))
    end = draw(st.one_of(st.none(), moments))
    if start is not None and end is not None and end <= start:
        start, end = end - timedelta(days=30), start + timedelta(days=365)
    return ScheduleRules(
        calendars=tuple(draw(st.lists(calendars(), max_size=2))),
        cron_expressions=tuple(draw(st.lists(st.sampled_from(CRONS), max_size=2))),
        intervals=tuple(
            ScheduleInterval(
                every=timedelta(seconds=seconds),
                offset=timedelta(seconds=draw(st.integers(0, seconds - 1))),
            )
            for seconds in every
        ),
        at=tuple(draw(st.lists(moments, max_size=3))),
        exclude_calendars=tuple(draw(st.lists(calendars(dense_seconds=True), max_size=2))),
        timezone=draw(st.sampled_from(ZONES)),
        start_time=start,
        end_time=end,
        jitter=draw(
            st.one_of(
                st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2))
            )
        ),
        dst_gap_policy=draw(st.sampled_from(DstGapPolicy)),
        dst_overlap_policy=draw(st.sampled_from(DstOverlapPolicy)),
    )


def in_range(item: ScheduleRange, value: int) -> bool:
    end = max(item.start, item.end)
    return item.start <= value <= end and (value - item.start) % (item.step or 1) == 0


def calendar_matches(calendar: ScheduleCalendar, wall: datetime) -> bool:
    """An independent reading of the documented calendar rules, empty-field defaults included."""
    levels = [
        (0, calendar.second, wall.second, 0),
        (1, calendar.minute, wall.minute, 0),
        (2, calendar.hour, wall.hour, 0),
        (4, calendar.month, wall.month, None),
    ]
    set_levels = [level for level, ranges_, _, _ in levels if ranges_]
    if calendar.day_of_month or calendar.day_of_week:
        set_levels.append(3)
    finest = min(set_levels)
    for level, ranges_, value, minimum in levels:
        if ranges_:
            if not any(in_range(item, value) for item in ranges_):
                return False
        elif level < finest and value != minimum:
            return False
    weekday = wall.isoweekday() % 7
    if calendar.day_of_week and not any(
        in_range(item, weekday) or (weekday == 0 and in_range(item, 7))
        for item in calendar.day_of_week
    ):
        return False
    if calendar.day_of_month:
        return any(in_range(item, wall.day) for item in calendar.day_of_month)
    return bool(calendar.day_of_week) or finest < 4 or wall.day == 1


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(rules=specs(), after=moments, schedule_id=st.text(max_size=8))
def test_schedule_properties(rules: ScheduleRules, after: datetime, schedule_id: str) -> None:
    try:
        schedule = compile_schedule(rules, schedule_id=schedule_id)
    except InvalidArgumentError:
        reject()
    fires = schedule.fire_times(after, 40)
    zone = ZoneInfo(rules.timezone or "UTC")
    previous = after
    for index, fire in enumerate(fires):
        assert fire.nominal.tzinfo is UTC
        assert fire.at.tzinfo is UTC
        assert fire.nominal.microsecond == 0
        assert fire.nominal > previous
        previous = fire.nominal
        assert rules.start_time is None or fire.nominal >= rules.start_time
        assert rules.end_time is None or fire.nominal <= rules.end_time
        wall = fire.nominal.astimezone(zone).replace(tzinfo=None)
        assert not any(calendar_matches(c, wall) for c in rules.exclude_calendars), (fire, wall)
        delay = fire.at - fire.nominal
        assert timedelta(0) <= delay <= (rules.jitter or timedelta(0))
        assert delay % timedelta(milliseconds=1) == timedelta(0)
        if rules.jitter and rules.jitter >= timedelta(milliseconds=1):
            assert delay < rules.jitter
        if index + 1 < len(fires):
            assert fire.at < fires[index + 1].nominal
    assert schedule.fire_times(after, 40) == fires
    assert compile_schedule(rules, schedule_id=schedule_id).fire_times(after, 40) == fires
    if len(fires) >= 3:
        # Resuming from any fire gives the same continuation.
        assert schedule.fire_times(fires[1].nominal, 1) == [fires[2]]


@st.composite
def utc_calendars(draw: st.DrawFn) -> ScheduleCalendar:
    calendar = draw(calendars(dense_seconds=True))
    fields = (calendar.second, calendar.minute, calendar.hour)
    if not any((*fields, calendar.day_of_month, calendar.month, calendar.day_of_week)):
        reject()
    return calendar


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(
    calendar=utc_calendars(), day=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1))
)
def test_calendars_match_a_brute_force_reading_of_the_rules(
    calendar: ScheduleCalendar, day: date
) -> None:
    try:
        schedule = compile_schedule(ScheduleRules(calendars=(calendar,)))
    except InvalidArgumentError:
        reject()
    seconds = [s for s in range(60) if any(in_range(r, s) for r in calendar.second)] or [0]
    start = datetime.combine(day, time(0))
    end = start + timedelta(days=2)
    expected = []
    minute = start
    while minute < end:
        # All fields but the second are the same within a minute.
        if calendar_matches(calendar, minute.replace(second=seconds[0])):
            expected += [minute.replace(second=s, tzinfo=UTC) for s in seconds]
        minute += timedelta(minutes=1)
    got = []
    for fire in schedule.fires(start.replace(tzinfo=UTC) - timedelta(seconds=1)):
        if fire.nominal >= end.replace(tzinfo=UTC):
            break
        got.append(fire.nominal)
    assert got == expected


def test_exclude_calendars_are_periods_whole_weekends_and_days() -> None:
    rules = ScheduleRules(
        cron_expressions=("0 * * * *",),
        exclude_calendars=(
            ScheduleCalendar(day_of_week=(R(0), R(6))),
            ScheduleCalendar(month=(R(12),), day_of_month=(R(25),)),
        ),
    )
    compiled = compile_schedule(rules)
    fires = [f.nominal for f in compiled.fire_times(datetime(2026, 12, 18, tzinfo=UTC), 24 * 14)]
    assert fires
    assert all(moment.isoweekday() not in (6, 7) for moment in fires)
    assert all((moment.month, moment.day) != (12, 25) for moment in fires)
    # Friday's 23:00 fires; Monday's 00:00 is the next one.
    assert datetime(2026, 12, 18, 23, tzinfo=UTC) in fires
    assert fires[fires.index(datetime(2026, 12, 18, 23, tzinfo=UTC)) + 1] == datetime(
        2026, 12, 21, 0, tzinfo=UTC
    )
