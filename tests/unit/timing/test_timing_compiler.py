"""compile_schedule's validation: every rule, with its exact field path, all reported at once."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import (
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.timing import compile_schedule

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
        ScheduleRules(calendars=(*DAILY, ScheduleCalendar(comment="nothing set"))),
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
        ScheduleRules(at=(datetime.max.replace(tzinfo=UTC),)),
        "spec.schedule.at[0]",
        "is outside the years 2 to 9998",
        id="at-beyond-9998",
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


def test_equal_rules_are_compiled_once_and_each_schedule_keeps_its_jitter_seed() -> None:
    rules = ScheduleRules(calendars=DAILY, timezone="Europe/Paris", jitter=timedelta(minutes=5))
    first = compile_schedule(rules, schedule_id="sched_a")
    second = compile_schedule(ScheduleRules(**_fields(rules)), schedule_id="sched_b")
    assert second.parts is first.parts  # compiled and checked once
    assert (first.schedule_id, second.schedule_id) == ("sched_a", "sched_b")
    after = datetime(2026, 3, 1, tzinfo=UTC)
    alone = compile_schedule(
        ScheduleRules(calendars=DAILY, timezone="Europe/Paris", jitter=timedelta(minutes=5)),
        schedule_id="sched_b",
        min_interval=timedelta(seconds=2),  # another cache entry: compiled afresh
    )
    assert alone.parts is not first.parts
    assert second.fire_times(after, 5) == alone.fire_times(after, 5)
    assert first.fire_times(after, 5) != second.fire_times(after, 5)  # jitter per schedule


def test_invalid_rules_are_refused_every_time() -> None:
    rules = ScheduleRules(calendars=DAILY, jitter=timedelta(seconds=-1))
    for _ in range(2):
        with pytest.raises(InvalidArgumentError, match="jitter"):
            compile_schedule(rules)


def _fields(rules: ScheduleRules) -> dict[str, object]:
    return {name: getattr(rules, name) for name in rules.__dataclass_fields__}
