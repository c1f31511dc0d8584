"""Structured calendars: the documented defaults for empty fields, and AND semantics."""

from datetime import UTC, datetime

import pytest

from sundial.domain.errors import FieldViolation
from sundial.domain.schedules import ScheduleCalendar, ScheduleRange, ScheduleRules
from sundial.timing import compile_schedule
from sundial.timing.calendars import compile_calendar

R = ScheduleRange
JAN_2024 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def fires(calendar: ScheduleCalendar, count: int, after: datetime = JAN_2024) -> list[str]:
    schedule = compile_schedule(ScheduleRules(calendars=(calendar,)))
    return [f.nominal.strftime("%Y-%m-%d %a %H:%M:%S") for f in schedule.fire_times(after, count)]


DEFAULTS = [
    pytest.param(
        ScheduleCalendar(minute=(R(30),)),
        ["2024-01-01 Mon 00:30:00", "2024-01-01 Mon 01:30:00", "2024-01-01 Mon 02:30:00"],
        id="minute-30-is-every-hour-not-daily",
    ),
    pytest.param(
        ScheduleCalendar(hour=(R(9),)),
        ["2024-01-01 Mon 09:00:00", "2024-01-02 Tue 09:00:00"],
        id="hour-9-is-daily-at-09:00:00",
    ),
    pytest.param(
        ScheduleCalendar(day_of_week=(R(1),)),
        ["2024-01-08 Mon 00:00:00", "2024-01-15 Mon 00:00:00"],
        id="monday-is-midnight-mondays",
    ),
    pytest.param(
        ScheduleCalendar(day_of_week=(R(7),)),
        ["2024-01-07 Sun 00:00:00"],
        id="seven-is-sunday",
    ),
    pytest.param(
        ScheduleCalendar(month=(R(6),)),
        ["2024-06-01 Sat 00:00:00", "2025-06-01 Sun 00:00:00"],
        id="june-is-june-1st-midnight",
    ),
    pytest.param(
        ScheduleCalendar(day_of_month=(R(1),), hour=(R(12),)),
        ["2024-01-01 Mon 12:00:00", "2024-02-01 Thu 12:00:00"],
        id="first-of-month-at-noon",
    ),
    pytest.param(
        ScheduleCalendar(hour=(R(9),), second=(R(30),)),
        ["2024-01-01 Mon 09:00:30", "2024-01-01 Mon 09:01:30"],
        id="empty-minute-coarser-than-second-matches-all",
    ),
    pytest.param(
        ScheduleCalendar(second=(R(15),)),
        ["2024-01-01 Mon 00:00:15", "2024-01-01 Mon 00:01:15"],
        id="second-only-is-every-minute",
    ),
    pytest.param(
        ScheduleCalendar(hour=(R(9),), minute=(R(30),), day_of_week=(R(1, 5),)),
        [
            f"2024-01-0{day} {name} 09:30:00"
            for day, name in zip(range(1, 9), ["Mon", "Tue", "Wed", "Thu", "Fri"], strict=False)
        ]
        + ["2024-01-08 Mon 09:30:00"],
        id="weekdays-at-09:30",
    ),
    pytest.param(
        ScheduleCalendar(day_of_month=(R(13),), day_of_week=(R(5),)),
        ["2024-09-13 Fri 00:00:00", "2024-12-13 Fri 00:00:00"],
        id="friday-13th-fields-and",
    ),
    pytest.param(
        ScheduleCalendar(day_of_month=(R(31),)),
        ["2024-01-31 Wed 00:00:00", "2024-03-31 Sun 00:00:00", "2024-05-31 Fri 00:00:00"],
        id="31st-only-in-long-months",
    ),
    pytest.param(
        ScheduleCalendar(month=(R(2),), day_of_month=(R(29),)),
        ["2024-02-29 Thu 00:00:00", "2028-02-29 Tue 00:00:00"],
        id="feb-29-leap-years",
    ),
    pytest.param(
        ScheduleCalendar(hour=(R(8, 17, 3),)),
        [
            "2024-01-01 Mon 08:00:00",
            "2024-01-01 Mon 11:00:00",
            "2024-01-01 Mon 14:00:00",
            "2024-01-01 Mon 17:00:00",
        ],
        id="range-with-step",
    ),
    pytest.param(
        ScheduleCalendar(hour=(R(9), R(17))),
        ["2024-01-01 Mon 09:00:00", "2024-01-01 Mon 17:00:00"],
        id="ranges-or",
    ),
    pytest.param(
        ScheduleCalendar(hour=(R(9),), minute=(R(0, 2, 0),)),
        [
            "2024-01-01 Mon 09:00:00",
            "2024-01-01 Mon 09:01:00",
            "2024-01-01 Mon 09:02:00",
            "2024-01-02 Tue 09:00:00",
        ],
        id="step-zero-means-one",
    ),
]


@pytest.mark.parametrize(("calendar", "expected"), DEFAULTS)
def test_calendar_defaults(calendar: ScheduleCalendar, expected: list[str]) -> None:
    assert fires(calendar, len(expected)) == expected


@pytest.mark.parametrize(
    ("calendar", "every_hour"),
    [
        pytest.param(ScheduleCalendar(minute=(R(30),)), True, id="minute-only"),
        pytest.param(ScheduleCalendar(hour=(R(0, 23),)), True, id="all-hours"),
        pytest.param(ScheduleCalendar(hour=(R(9),)), False, id="one-hour"),
        pytest.param(ScheduleCalendar(day_of_week=(R(1),)), False, id="day-level"),
    ],
)
def test_every_hour_calendars_follow_elapsed_time(
    calendar: ScheduleCalendar, every_hour: bool
) -> None:
    rule = compile_calendar(calendar, "p", [])
    assert rule is not None
    assert rule.follows_elapsed is every_hour


def test_violations_are_collected_not_raised() -> None:
    violations: list[FieldViolation] = []
    assert compile_calendar(ScheduleCalendar(hour=(R(24),), month=(R(0),)), "c", violations) is None
    assert [v.field for v in violations] == ["c.hour[0].start", "c.month[0].start"]
