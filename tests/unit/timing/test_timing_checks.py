"""Whole-schedule checks: specs that can never fire, and the minimum fire interval."""

from datetime import UTC, datetime, timedelta

import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import (
    DstGapPolicy,
    DstOverlapPolicy,
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.timing import DEFAULT_MIN_INTERVAL, compile_schedule
from sundial.timing.checks import REFERENCE_START, search_start
from sundial.timing.schedule import ScheduleParts
from sundial.timing.zones import load_zone

R = ScheduleRange


def violations_of(rules: ScheduleRules, **options: object) -> dict[str, str]:
    with pytest.raises(InvalidArgumentError) as raised:
        compile_schedule(rules, **options)  # type: ignore[arg-type]
    return {violation.field: violation.description for violation in raised.value.violations}


NEVER_FIRES = [
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


@pytest.mark.parametrize(("rules", "field", "problem"), NEVER_FIRES)
def test_never_fires(rules: ScheduleRules, field: str, problem: str) -> None:
    found = violations_of(rules)
    assert field in found, found
    assert problem in found[field]


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param(ScheduleRules(at=(datetime(1990, 1, 1, tzinfo=UTC),)), id="past-at-is-fine"),
        pytest.param(
            ScheduleRules(
                cron_expressions=("0 0 1 1 *",), end_time=datetime(1900, 6, 1, tzinfo=UTC)
            ),
            id="end-long-ago-is-fine",
        ),
        pytest.param(
            ScheduleRules(
                calendars=(
                    ScheduleCalendar(month=(R(2),), day_of_month=(R(29),), day_of_week=(R(1),)),
                ),
                start_time=datetime(2017, 1, 1, tzinfo=UTC),
            ),
            id="next-fire-27-years-on",
        ),
        pytest.param(
            ScheduleRules(
                cron_expressions=("30 2 10 3 *",),
                timezone="America/New_York",
                dst_gap_policy=DstGapPolicy.SKIP,
            ),
            id="sometimes-in-the-gap",
        ),
    ],
)
def test_specs_that_fire_at_some_point_compile(rules: ScheduleRules) -> None:
    compile_schedule(rules)


def test_search_starts_at_start_time_or_before_the_anchor() -> None:
    zone = load_zone("")
    parts = ScheduleParts(rules=ScheduleRules(), zone=zone)
    assert search_start(parts) == REFERENCE_START
    assert search_start(ScheduleParts(rules=ScheduleRules(), zone=zone, start=100)) == 99
    assert search_start(ScheduleParts(rules=ScheduleRules(), zone=zone, end=0)) < -400 * 365 * 86400


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
