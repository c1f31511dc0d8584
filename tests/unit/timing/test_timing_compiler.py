"""compile_schedule's validation: every rule, with its exact field path, all reported at once."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import (
    DstOverlapPolicy,
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.timing import DEFAULT_MIN_INTERVAL, compile_schedule

R = ScheduleRange
DAILY = (ScheduleCalendar(hour=(R(9),)),)
JAN_2024 = datetime(2024, 1, 1, tzinfo=UTC)


def violations_of(rules: ScheduleRules, **options: object) -> dict[str, str]:
    with pytest.raises(InvalidArgumentError) as raised:
        compile_schedule(rules, **options)  # type: ignore[arg-type]
    return {violation.field: violation.description for violation in raised.value.violations}


INVALID = [
    pytest.param(ScheduleRules(), "spec.schedule", "the schedule has no rule", id="no-rule"),
    pytest.param(
        ScheduleRules(exclude_calendars=DAILY), "spec.schedule", "has no rule", id="only-exclusions"
    ),
    pytest.param(
        ScheduleRules(calendars=(ScheduleCalendar(hour=(R(1), R(24))),)),
        "spec.schedule.calendars[0].hour[1].start",
        "hour 24 is out of range 0-23",
        id="hour-24",
    ),
    pytest.param(
        ScheduleRules(calendars=(ScheduleCalendar(hour=(R(20, 24),)),)),
        "spec.schedule.calendars[0].hour[0].end",
        "hour 24 is out of range 0-23",
        id="hour-end-24",
    ),
    pytest.param(
        ScheduleRules(calendars=(ScheduleCalendar(month=(R(13),)),)),
        "spec.schedule.calendars[0].month[0].start",
        "month 13 is out of range 1-12",
        id="month-13",
    ),
    pytest.param(
        ScheduleRules(calendars=(ScheduleCalendar(day_of_week=(R(8),)),)),
        "spec.schedule.calendars[0].day_of_week[0].start",
        "day_of_week 8 is out of range 0-7",
        id="day-of-week-8",
    ),
    pytest.param(
        ScheduleRules(calendars=(ScheduleCalendar(day_of_month=(R(),)),)),
        "spec.schedule.calendars[0].day_of_month[0].start",
        "day_of_month 0 is out of range 1-31",
        id="day-of-month-0",
    ),
    pytest.param(
        ScheduleRules(calendars=(ScheduleCalendar(minute=(R(0, 59, -5),)),)),
        "spec.schedule.calendars[0].minute[0].step",
        "minute step -5 is negative",
        id="negative-step",
    ),
    pytest.param(
        ScheduleRules(calendars=DAILY + (ScheduleCalendar(comment="nothing set"),)),
        "spec.schedule.calendars[1]",
        "the calendar sets no field",
        id="empty-calendar",
    ),
    pytest.param(
        ScheduleRules(calendars=(ScheduleCalendar(month=(R(2),), day_of_month=(R(30),)),)),
        "spec.schedule.calendars[0]",
        "never matches a date: day_of_month 30 does not occur in month 2",
        id="february-30",
    ),
    pytest.param(
        ScheduleRules(
            calendars=(
                ScheduleCalendar(
                    month=(R(4), R(6), R(9), R(11)), day_of_month=(R(31),), day_of_week=(R(1),)
                ),
            )
        ),
        "spec.schedule.calendars[0]",
        "day_of_month 31 does not occur in month 4,6,9,11",
        id="day-31-in-30-day-months",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("@daily", "0 9 * * *", "0 25 * * *")),
        "spec.schedule.cron_expressions[2]",
        "cron expression '0 25 * * *': hour 25 is out of range 0-23",
        id="bad-cron",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("0 0 30 2 *",)),
        "spec.schedule.cron_expressions[0]",
        "never matches a date",
        id="cron-february-30",
    ),
    pytest.param(
        ScheduleRules(intervals=(ScheduleInterval(every=timedelta(0)),)),
        "spec.schedule.intervals[0].every",
        "every 0s must be positive",
        id="every-zero",
    ),
    pytest.param(
        ScheduleRules(intervals=(ScheduleInterval(every=timedelta(minutes=-5)),)),
        "spec.schedule.intervals[0].every",
        "every -5m must be positive",
        id="every-negative",
    ),
    pytest.param(
        ScheduleRules(intervals=(ScheduleInterval(),)),
        "spec.schedule.intervals[0].every",
        "every is required",
        id="every-missing",
    ),
    pytest.param(
        ScheduleRules(intervals=(ScheduleInterval(every=timedelta(seconds=1.5)),)),
        "spec.schedule.intervals[0].every",
        "must be a whole number of seconds",
        id="every-fraction",
    ),
    pytest.param(
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(hours=1), offset=timedelta(hours=1)),)
        ),
        "spec.schedule.intervals[0].offset",
        "offset 1h must be shorter than every 1h",
        id="offset-equal-to-every",
    ),
    pytest.param(
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(hours=1), offset=timedelta(seconds=-1)),)
        ),
        "spec.schedule.intervals[0].offset",
        "offset -1s must not be negative",
        id="offset-negative",
    ),
    pytest.param(
        ScheduleRules(
            intervals=(
                ScheduleInterval(every=timedelta(hours=1), offset=timedelta(milliseconds=5)),
            )
        ),
        "spec.schedule.intervals[0].offset",
        "must be a whole number of seconds",
        id="offset-fraction",
    ),
    pytest.param(
        ScheduleRules(calendars=DAILY, timezone="Mars/Olympus_Mons"),
        "spec.schedule.timezone",
        "unknown time zone 'Mars/Olympus_Mons'",
        id="unknown-timezone",
    ),
    pytest.param(
        ScheduleRules(calendars=DAILY, jitter=timedelta(seconds=-1)),
        "spec.schedule.jitter",
        "jitter -1s must not be negative",
        id="negative-jitter",
    ),
    pytest.param(
        ScheduleRules(calendars=DAILY, start_time=JAN_2024, end_time=JAN_2024),
        "spec.schedule.end_time",
        "must be after start_time",
        id="end-equals-start",
    ),
    pytest.param(
        ScheduleRules(calendars=DAILY, start_time=JAN_2024, end_time=JAN_2024 - timedelta(days=1)),
        "spec.schedule.end_time",
        "must be after start_time",
        id="end-before-start",
    ),
    pytest.param(
        ScheduleRules(at=(datetime(2030, 1, 1),)),
        "spec.schedule.at[0]",
        "has no time zone",
        id="naive-at",
    ),
    pytest.param(
        ScheduleRules(calendars=DAILY, start_time=datetime(2030, 1, 1)),
        "spec.schedule.start_time",
        "has no time zone",
        id="naive-start",
    ),
    pytest.param(
        ScheduleRules(calendars=DAILY, exclude_calendars=(ScheduleCalendar(month=(R(0),)),)),
        "spec.schedule.exclude_calendars[0].month[0].start",
        "month 0 is out of range 1-12",
        id="bad-exclusion",
    ),
    pytest.param(
        ScheduleRules(
            calendars=(ScheduleCalendar(minute=(R(0),)),),
            exclude_calendars=(ScheduleCalendar(minute=(R(0),)),),
        ),
        "spec.schedule.exclude_calendars",
        "the exclude calendars remove every fire",
        id="everything-excluded",
    ),
    pytest.param(
        ScheduleRules(
            cron_expressions=("0 0 1 1 *",),
            start_time=datetime(2024, 1, 2, tzinfo=UTC),
            end_time=datetime(2024, 12, 31, tzinfo=UTC),
        ),
        "spec.schedule.end_time",
        "no fire falls between start_time 2024-01-02T00:00:00Z and end_time 2024-12-31T00:00:00Z",
        id="window-without-fire",
    ),
    pytest.param(
        ScheduleRules(
            at=(datetime(2020, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)),
            start_time=datetime(2024, 1, 1, tzinfo=UTC),
            end_time=datetime(2030, 1, 1, tzinfo=UTC),
        ),
        "spec.schedule.end_time",
        "no fire falls between",
        id="at-times-outside-window",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("@yearly",), start_time=datetime(9998, 1, 2, tzinfo=UTC)),
        "spec.schedule.start_time",
        "no fire falls at or after start_time 9998-01-02T00:00:00Z",
        id="start-after-every-fire",
    ),
]


@pytest.mark.parametrize(("rules", "field", "problem"), INVALID)
def test_violations_name_the_field(rules: ScheduleRules, field: str, problem: str) -> None:
    found = violations_of(rules)
    assert field in found, found
    assert problem in found[field]


def test_every_violation_is_reported_at_once() -> None:
    rules = ScheduleRules(
        calendars=(ScheduleCalendar(hour=(R(24),), minute=(R(0, 59, -1),)), ScheduleCalendar()),
        cron_expressions=("0 0 * * 8",),
        intervals=(ScheduleInterval(every=timedelta(hours=1), offset=timedelta(hours=2)),),
        timezone="Nowhere/City",
        jitter=timedelta(seconds=-3),
        start_time=JAN_2024,
        end_time=JAN_2024,
        exclude_calendars=(ScheduleCalendar(day_of_month=(R(32),)),),
    )
    assert set(violations_of(rules)) == {
        "spec.schedule.calendars[0].hour[0].start",
        "spec.schedule.calendars[0].minute[0].step",
        "spec.schedule.calendars[1]",
        "spec.schedule.cron_expressions[0]",
        "spec.schedule.intervals[0].offset",
        "spec.schedule.timezone",
        "spec.schedule.jitter",
        "spec.schedule.end_time",
        "spec.schedule.exclude_calendars[0].day_of_month[0].start",
    }


def test_field_prefix_is_used_for_every_path() -> None:
    rules = ScheduleRules(calendars=(ScheduleCalendar(hour=(R(99),)),), timezone="Bad/Zone")
    assert set(violations_of(rules, field_prefix="schedule")) == {
        "schedule.calendars[0].hour[0].start",
        "schedule.timezone",
    }


MIN_15 = timedelta(minutes=15)

TOO_CLOSE = [
    pytest.param(
        ScheduleRules(intervals=(ScheduleInterval(every=timedelta(minutes=5)),)),
        "spec.schedule.intervals[0].every",
        "every 5m is shorter than the minimum fire interval 15m",
        id="interval",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("@every 10m",)),
        "spec.schedule.cron_expressions[0]",
        "every 10m is shorter than the minimum fire interval 15m",
        id="cron-every",
    ),
    pytest.param(
        ScheduleRules(calendars=(ScheduleCalendar(minute=(R(0, 59, 5),)),)),
        "spec.schedule.calendars[0]",
        "fires 5m apart, closer than the minimum fire interval 15m",
        id="calendar",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("0 9 * * *", "0,10 12 * * *")),
        "spec.schedule.cron_expressions[1]",
        "fires 10m apart",
        id="cron",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("55 23 * * *", "5 0 * * *")),
        "spec.schedule",
        "fires 10m apart (at 2025-01-01T23:55:00Z and 2025-01-02T00:05:00Z)",
        id="two-rules-across-midnight",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("0 0 * * 1", "50 23 * * 0")),
        "spec.schedule",
        "fires 10m apart",
        id="two-rules-across-weekdays",
    ),
    pytest.param(
        ScheduleRules(
            calendars=(ScheduleCalendar(second=(R(50),), minute=(R(59),), hour=(R(23),)),),
            cron_expressions=("0 0 * * *",),
        ),
        "spec.schedule",
        "fires 10s apart",
        id="calendar-and-cron",
    ),
    pytest.param(
        ScheduleRules(
            at=(
                datetime(2030, 1, 1, 12, tzinfo=UTC),
                datetime(2031, 1, 1, tzinfo=UTC),
                datetime(2030, 1, 1, 12, 5, tzinfo=UTC),
            )
        ),
        "spec.schedule.at[2]",
        "at 2030-01-01T12:05:00Z is 5m after another at time",
        id="two-at-times",
    ),
    pytest.param(
        ScheduleRules(
            cron_expressions=("0 12 * * *",), at=(datetime(2030, 1, 1, 12, 1, tzinfo=UTC),)
        ),
        "spec.schedule",
        "fires 1m apart (at 2030-01-01T12:00:00Z and 2030-01-01T12:01:00Z)",
        id="at-next-to-cron",
    ),
    pytest.param(
        ScheduleRules(
            cron_expressions=("30 2 * * *", "10 3 * * *"),
            timezone="America/New_York",
        ),
        "spec.schedule",
        "fires 10m apart",
        id="shifted-fire-next-to-another",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("45 * * * *",), timezone="Australia/Lord_Howe"),
        "spec.schedule",
        "fires 30m apart (at 2025-04-05T14:45:00Z and 2025-04-05T15:15:00Z)",
        id="hourly-across-half-hour-fall-back",
    ),
]


@pytest.mark.parametrize(("rules", "field", "problem"), TOO_CLOSE)
def test_min_interval(rules: ScheduleRules, field: str, problem: str) -> None:
    minimum = timedelta(minutes=45) if "Lord_Howe" in rules.timezone else MIN_15
    found = violations_of(rules, min_interval=minimum)
    assert field in found, found
    assert problem in found[field]


def test_overlap_both_counts_against_the_minimum() -> None:
    rules = ScheduleRules(
        cron_expressions=("30 1 * * *",),
        timezone="America/New_York",
        dst_overlap_policy=DstOverlapPolicy.BOTH,
    )
    compile_schedule(rules, min_interval=timedelta(minutes=59))
    found = violations_of(rules, min_interval=timedelta(hours=2))
    assert "fires 1h apart" in found["spec.schedule"]


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param(ScheduleRules(cron_expressions=("*/15 * * * *",)), id="quarter-hourly"),
        pytest.param(
            ScheduleRules(calendars=(ScheduleCalendar(minute=(R(0, 45, 15),)),)), id="calendar"
        ),
        pytest.param(
            ScheduleRules(cron_expressions=("0 * * * *",), timezone="America/New_York"),
            id="hourly-dst",
        ),
        pytest.param(
            ScheduleRules(
                cron_expressions=("30 2 * * *", "0 3 * * *"), timezone="America/New_York"
            ),
            id="shift-merges-with-the-next-fire",
        ),
    ],
)
def test_specs_that_keep_the_minimum_compile(rules: ScheduleRules) -> None:
    compile_schedule(rules, min_interval=MIN_15)


def test_default_min_interval_is_one_second() -> None:
    assert timedelta(seconds=1) == DEFAULT_MIN_INTERVAL
    compile_schedule(ScheduleRules(calendars=(ScheduleCalendar(second=(R(0, 59),)),)))


def test_negative_min_interval_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="min_interval"):
        compile_schedule(ScheduleRules(calendars=DAILY), min_interval=timedelta(seconds=-1))


def test_start_and_end_with_other_offsets_are_compared_as_instants() -> None:
    plus_two = timezone(timedelta(hours=2))
    rules = ScheduleRules(
        calendars=DAILY,
        start_time=datetime(2024, 1, 1, 12, tzinfo=UTC),
        end_time=datetime(2024, 1, 1, 13, tzinfo=plus_two),  # 11:00 UTC
    )
    assert "spec.schedule.end_time" in violations_of(rules)
