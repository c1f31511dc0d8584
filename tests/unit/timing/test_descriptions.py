"""Descriptions of schedule rules: what they say for the common shapes, and the round trip
that keeps them honest (Hypothesis): for generated rules, parsing the description gives
rules with the same fire times, jitter included."""

from datetime import UTC, datetime, timedelta

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
from sundial.timing import compile_schedule, describe_rules, parse_schedule

R = ScheduleRange
REFERENCE = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rules", "description"),
    [
        (
            ScheduleRules(cron_expressions=("0 9 * * 1-5",), timezone="America/Los_Angeles"),
            "at 09:00 on Monday through Friday, in America/Los_Angeles",
        ),
        (ScheduleRules(cron_expressions=("*/15 * * * *",)), "every 15 minutes, in UTC"),
        (
            ScheduleRules(cron_expressions=("0 23 L * *",)),
            "at 23:00 on the last day of the month, in UTC",
        ),
        (
            ScheduleRules(cron_expressions=("0 10 * * 1#1",)),
            "at 10:00 on the 1st Monday of the month, in UTC",
        ),
        (
            ScheduleRules(cron_expressions=("0 0 13 * 5",)),
            "at 00:00 on day 13 of the month or on Friday, in UTC",
        ),
        (
            ScheduleRules(
                calendars=(ScheduleCalendar(day_of_month=(R(13),), day_of_week=(R(5),)),)
            ),
            "at 00:00 on day 13 of the month if it is Friday, in UTC",
        ),
        (
            ScheduleRules(calendars=(ScheduleCalendar(minute=(R(5),)),)),
            "at minute 5 of every hour, in UTC",
        ),
        (
            ScheduleRules(intervals=(ScheduleInterval(every=timedelta(minutes=90)),)),
            "every 1 hour 30 minutes, in UTC",
        ),
        (
            ScheduleRules(intervals=(ScheduleInterval(every=timedelta(hours=2)),)),
            "every 2 hours of elapsed time, in UTC",
        ),
        (
            ScheduleRules(
                intervals=(
                    ScheduleInterval(every=timedelta(days=14), offset=timedelta(days=4, hours=9)),
                )
            ),
            "every 2 weeks on Monday at 09:00, in UTC",
        ),
        (
            ScheduleRules(
                cron_expressions=("0 9 * * *",),
                exclude_calendars=(ScheduleCalendar(month=(R(12),)),),
                start_time=datetime(2027, 1, 1, tzinfo=UTC),
                end_time=datetime(2028, 1, 1, tzinfo=UTC),
                jitter=timedelta(minutes=5),
                timezone="Europe/Berlin",
            ),
            "at 09:00 every day; except in December, from 2027-01-01T01:00:00+01:00, "
            "until 2028-01-01T01:00:00+01:00, with up to 5 minutes of jitter, in Europe/Berlin",
        ),
        (
            ScheduleRules(at=(datetime(2027, 3, 1, 17, tzinfo=UTC),), timezone="America/New_York"),
            "once at 2027-03-01T12:00:00-05:00, in America/New_York",
        ),
    ],
)
def test_description(rules: ScheduleRules, description: str) -> None:
    assert describe_rules(rules) == description


def ranges(low: int, high: int) -> st.SearchStrategy[tuple[ScheduleRange, ...]]:
    one = st.builds(
        ScheduleRange,
        start=st.integers(low, high),
        end=st.integers(low, high),
        step=st.sampled_from([0, 0, 0, 2, 3, 7]),
    )
    return st.lists(one, min_size=1, max_size=2).map(tuple)


def maybe(
    strategy: st.SearchStrategy[tuple[ScheduleRange, ...]],
) -> st.SearchStrategy[tuple[ScheduleRange, ...]]:
    return st.one_of(st.just(()), strategy)


calendars = st.builds(
    ScheduleCalendar,
    second=st.one_of(st.just(()), st.just(()), ranges(0, 59)),
    minute=maybe(ranges(0, 59)),
    hour=maybe(ranges(0, 23)),
    day_of_month=maybe(ranges(1, 31)),
    month=maybe(ranges(1, 12)),
    day_of_week=maybe(ranges(0, 7)),
)
crons = st.builds(
    lambda second, minute, hour, dom, month, dow: " ".join(
        ([second] if second else []) + [minute, hour, dom, month, dow]
    ),
    st.sampled_from(["", "", "30", "*/20"]),
    st.sampled_from(["*", "*/5", "0", "15,45", "0-30/10", "7"]),
    st.sampled_from(["*", "9", "9-17", "*/6", "0,12", "1-5/2"]),
    st.sampled_from(["*", "1", "15", "L", "L-2", "15W", "LW", "1-7", "?", "1,L"]),
    st.sampled_from(["*", "1", "3,6,9,12", "JAN-MAR", "*/2"]),
    st.sampled_from(["*", "1-5", "MON", "5L", "1#2", "0,6", "?", "2#5"]),
) | st.sampled_from(["@daily", "@hourly", "@weekly", "@every 7h", "@every 90m"])
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2032, 1, 1), timezones=st.just(UTC)
)
EVERY = [60, 420, 900, 3600, 5400, 7 * 3600, 86400, 90061, 2 * 86400, 7 * 86400, 21 * 86400]
ZONES = ["", "UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"]


@st.composite
def specs(draw: st.DrawFn) -> ScheduleRules:
    every = draw(st.lists(st.sampled_from(EVERY), max_size=1))
    start = draw(st.one_of(st.none(), moments))
    end = draw(st.one_of(st.none(), moments))
    if start is not None and end is not None and end <= start:
        start, end = end, start + timedelta(days=365)
    return ScheduleRules(
        calendars=tuple(draw(st.lists(calendars, max_size=2))),
        cron_expressions=tuple(draw(st.lists(crons, max_size=2))),
        intervals=tuple(
            ScheduleInterval(
                every=timedelta(seconds=seconds),
                offset=timedelta(seconds=draw(st.integers(0, seconds - 1))),
            )
            for seconds in every
        ),
        at=tuple(draw(st.lists(moments, max_size=2))),
        exclude_calendars=tuple(draw(st.lists(calendars, max_size=1))),
        timezone=draw(st.sampled_from(ZONES)),
        start_time=start,
        end_time=end,
        jitter=draw(
            st.one_of(
                st.none(),
                st.integers(0, 7200_000).map(lambda ms: timedelta(milliseconds=ms)),
            )
        ),
        dst_gap_policy=draw(st.sampled_from(DstGapPolicy)),
        dst_overlap_policy=draw(st.sampled_from(DstOverlapPolicy)),
    )


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(rules=specs(), after=moments)
def test_parsing_a_description_gives_the_same_fire_times(
    rules: ScheduleRules, after: datetime
) -> None:
    try:
        original = compile_schedule(rules, schedule_id="sch_1")
    except InvalidArgumentError:
        reject()
    description = describe_rules(rules)
    parsed = parse_schedule(description, reference=REFERENCE)
    again = compile_schedule(parsed.schedule, schedule_id="sch_1")
    for moment in (after, rules.start_time or after, REFERENCE):
        expected = original.fire_times(moment - timedelta(seconds=1), 30)
        assert again.fire_times(moment - timedelta(seconds=1), 30) == expected, description
