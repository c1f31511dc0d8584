"""The cron dialect: fields, names, steps, macros, @every, L/W/#n, dom/dow OR, and errors."""

from datetime import UTC, datetime

import pytest

from sundial.domain.errors import FieldViolation
from sundial.domain.schedules import ScheduleRules
from sundial.timing import compile_schedule
from sundial.timing.cron import CronSyntaxError, compile_cron, parse_cron
from sundial.timing.days import WallRule
from sundial.timing.intervals import IntervalRule


def fires(expression: str, after: datetime, count: int) -> list[str]:
    schedule = compile_schedule(ScheduleRules(cron_expressions=(expression,)))
    return [
        fire.nominal.strftime("%Y-%m-%d %H:%M:%S") for fire in schedule.fire_times(after, count)
    ]


JAN_2024 = datetime(2024, 1, 1, tzinfo=UTC)

VALID = [
    pytest.param(
        "*/5 * * * *", JAN_2024, ["2024-01-01 00:05:00", "2024-01-01 00:10:00"], id="step"
    ),
    pytest.param(
        "5/15 * * * *", JAN_2024, ["2024-01-01 00:05:00", "2024-01-01 00:20:00"], id="start-step"
    ),
    pytest.param(
        "1-10/4 0 * * *",
        JAN_2024,
        [
            "2024-01-01 00:01:00",
            "2024-01-01 00:05:00",
            "2024-01-01 00:09:00",
            "2024-01-02 00:01:00",
        ],
        id="range-step",
    ),
    pytest.param(
        "0 9,17 * * *", JAN_2024, ["2024-01-01 09:00:00", "2024-01-01 17:00:00"], id="list"
    ),
    pytest.param(
        "0 9 * jan,Jul mon-FRI",
        datetime(2024, 1, 30, tzinfo=UTC),
        ["2024-01-30 09:00:00", "2024-01-31 09:00:00", "2024-07-01 09:00:00"],
        id="names-any-case",
    ),
    pytest.param("0 0 * * 7", JAN_2024, ["2024-01-07 00:00:00"], id="seven-is-sunday"),
    pytest.param("0 0 * * 0", JAN_2024, ["2024-01-07 00:00:00"], id="zero-is-sunday"),
    pytest.param(
        "0 12 * * 5-7",
        JAN_2024,
        ["2024-01-05 12:00:00", "2024-01-06 12:00:00", "2024-01-07 12:00:00"],
        id="range-to-seven",
    ),
    pytest.param("0 0 ? * MON", JAN_2024, ["2024-01-08 00:00:00"], id="question-mark"),
    pytest.param(
        "*/15 * * * * *", JAN_2024, ["2024-01-01 00:00:15", "2024-01-01 00:00:30"], id="six-fields"
    ),
    pytest.param(
        "30 0 9 * * *", JAN_2024, ["2024-01-01 09:00:30", "2024-01-02 09:00:30"], id="seconds-first"
    ),
    pytest.param("@hourly", JAN_2024, ["2024-01-01 01:00:00"], id="hourly"),
    pytest.param("@daily", JAN_2024, ["2024-01-02 00:00:00"], id="daily"),
    pytest.param("@midnight", JAN_2024, ["2024-01-02 00:00:00"], id="midnight"),
    pytest.param("@weekly", JAN_2024, ["2024-01-07 00:00:00"], id="weekly-on-sunday"),
    pytest.param("@monthly", JAN_2024, ["2024-02-01 00:00:00"], id="monthly"),
    pytest.param("@yearly", JAN_2024, ["2025-01-01 00:00:00"], id="yearly"),
    pytest.param("@ANNUALLY", JAN_2024, ["2025-01-01 00:00:00"], id="annually-upper-case"),
    pytest.param(
        "@every 90s", JAN_2024, ["2024-01-01 00:01:30", "2024-01-01 00:03:00"], id="every-seconds"
    ),
    pytest.param(
        "@every 1h30m",
        JAN_2024,
        ["2024-01-01 01:30:00", "2024-01-01 03:00:00"],
        id="every-compound",
    ),
    pytest.param(
        "@every 2d", JAN_2024, ["2024-01-02 00:00:00", "2024-01-04 00:00:00"], id="every-days"
    ),
    pytest.param("@every\t15m", JAN_2024, ["2024-01-01 00:15:00"], id="every-after-a-tab"),
    pytest.param(
        "0 0 L * *",
        JAN_2024,
        [
            "2024-01-31 00:00:00",
            "2024-02-29 00:00:00",
            "2024-03-31 00:00:00",
            "2024-04-30 00:00:00",
        ],
        id="last-day",
    ),
    pytest.param(
        "0 0 L 2 *",
        JAN_2024,
        [
            "2024-02-29 00:00:00",
            "2025-02-28 00:00:00",
            "2026-02-28 00:00:00",
            "2027-02-28 00:00:00",
            "2028-02-29 00:00:00",
        ],
        id="last-day-of-february",
    ),
    pytest.param(
        "0 0 L-1 * *",
        JAN_2024,
        ["2024-01-30 00:00:00", "2024-02-28 00:00:00"],
        id="last-day-minus-one",
    ),
    pytest.param(
        "0 0 L-30 * *", JAN_2024, ["2024-03-01 00:00:00", "2024-05-01 00:00:00"], id="l-minus-30"
    ),
    pytest.param(
        "0 0 15W * *",
        datetime(2024, 6, 1, tzinfo=UTC),
        [
            "2024-06-14 00:00:00",
            "2024-07-15 00:00:00",
            "2024-08-15 00:00:00",
            "2024-09-16 00:00:00",
        ],
        id="nearest-weekday-15",
    ),
    pytest.param(
        "0 0 1W * *",
        datetime(2024, 5, 2, tzinfo=UTC),
        [
            "2024-06-03 00:00:00",
            "2024-07-01 00:00:00",
            "2024-08-01 00:00:00",
            "2024-09-02 00:00:00",
        ],
        id="nearest-weekday-1-stays-in-month",
    ),
    pytest.param(
        "0 0 31W * *",
        datetime(2024, 3, 1, tzinfo=UTC),
        [
            "2024-03-29 00:00:00",
            "2024-05-31 00:00:00",
            "2024-07-31 00:00:00",
            "2024-08-30 00:00:00",
        ],
        id="nearest-weekday-31-only-in-long-months",
    ),
    pytest.param(
        "0 0 LW * *",
        datetime(2024, 3, 1, tzinfo=UTC),
        [
            "2024-03-29 00:00:00",
            "2024-04-30 00:00:00",
            "2024-05-31 00:00:00",
            "2024-06-28 00:00:00",
        ],
        id="last-weekday",
    ),
    pytest.param(
        "0 0 * * 5L",
        JAN_2024,
        ["2024-01-26 00:00:00", "2024-02-23 00:00:00", "2024-03-29 00:00:00"],
        id="last-friday",
    ),
    pytest.param("0 0 * * FRIL", JAN_2024, ["2024-01-26 00:00:00"], id="last-friday-by-name"),
    pytest.param(
        "0 0 * * 1#2", JAN_2024, ["2024-01-08 00:00:00", "2024-02-12 00:00:00"], id="second-monday"
    ),
    pytest.param(
        "0 0 * * 1#5",
        JAN_2024,
        [
            "2024-01-29 00:00:00",
            "2024-04-29 00:00:00",
            "2024-07-29 00:00:00",
            "2024-09-30 00:00:00",
        ],
        id="fifth-monday-only-when-it-exists",
    ),
    pytest.param(
        "0 0 13 * 5",
        JAN_2024,
        [
            "2024-01-05 00:00:00",
            "2024-01-12 00:00:00",
            "2024-01-13 00:00:00",
            "2024-01-19 00:00:00",
        ],
        id="dom-or-dow-when-both-restricted",
    ),
    pytest.param(
        "0 0 13 * *", JAN_2024, ["2024-01-13 00:00:00", "2024-02-13 00:00:00"], id="dom-alone"
    ),
    pytest.param(
        "0 0 * * 5", JAN_2024, ["2024-01-05 00:00:00", "2024-01-12 00:00:00"], id="dow-alone"
    ),
    pytest.param(
        "0 0 L * 1",
        JAN_2024,
        [
            "2024-01-08 00:00:00",
            "2024-01-15 00:00:00",
            "2024-01-22 00:00:00",
            "2024-01-29 00:00:00",
            "2024-01-31 00:00:00",
        ],
        id="last-day-or-monday",
    ),
    pytest.param(
        "0 0 29 2 *",
        JAN_2024,
        ["2024-02-29 00:00:00", "2028-02-29 00:00:00"],
        id="feb-29-leap-years-only",
    ),
    pytest.param(
        "0 0 29 2 *",
        datetime(2096, 3, 1, tzinfo=UTC),
        ["2104-02-29 00:00:00"],
        id="feb-29-skips-2100",
    ),
    pytest.param("  0   12 * *  *  ", JAN_2024, ["2024-01-01 12:00:00"], id="extra-whitespace"),
]


@pytest.mark.parametrize(("expression", "after", "expected"), VALID)
def test_valid_expressions(expression: str, after: datetime, expected: list[str]) -> None:
    assert fires(expression, after, len(expected)) == expected


INVALID = [
    pytest.param("", "is empty", id="empty"),
    pytest.param("* * * *", "has 4 fields; expected 5", id="four-fields"),
    pytest.param("* * * * * * *", "has 7 fields", id="seven-fields"),
    pytest.param("61 * * * *", "minute 61 is out of range 0-59", id="minute-61"),
    pytest.param("0 24 * * *", "hour 24 is out of range 0-23", id="hour-24"),
    pytest.param("0 0 0 * *", "day-of-month 0 is out of range 1-31", id="dom-0"),
    pytest.param("0 0 32 * *", "day-of-month 32 is out of range 1-31", id="dom-32"),
    pytest.param("0 0 * 13 *", "month 13 is out of range 1-12", id="month-13"),
    pytest.param("0 0 * * 8", "day-of-week 8 is out of range 0-7", id="dow-8"),
    pytest.param("60 * * * * *", "second 60 is out of range 0-59", id="second-60"),
    pytest.param("0 0 * FOO *", "month value 'FOO' is not a number or a name", id="bad-month-name"),
    pytest.param("0 0 * foo *", "month value 'foo' is not a number or a name", id="case-kept"),
    pytest.param("0 0 l-31 * *", "L-n needs n between 0 and 30", id="lower-case-l"),
    pytest.param(
        "0 0 * * MON-FUN", "day-of-week value 'FUN' is not a number or a name", id="bad-day"
    ),
    pytest.param("MON * * * *", "minute value 'MON' is not a number", id="name-in-minute"),
    pytest.param("*/0 * * * *", "minute step in '*/0' must be at least 1", id="step-zero"),
    pytest.param("*/x * * * *", "minute step 'x' in '*/x' is not a number", id="step-not-number"),
    pytest.param("5-1 * * * *", "minute range '5-1' runs backwards", id="backwards-range"),
    pytest.param(
        "0 0 * * FRI-MON", "day-of-week range 'FRI-MON' runs backwards", id="backwards-names"
    ),
    pytest.param("0 0 1,,2 * *", "has an empty list item", id="empty-item"),
    pytest.param("-1 * * * *", "minute value '' is not a number", id="negative"),
    pytest.param("0 0 30 2 *", "never matches a date", id="feb-30"),
    pytest.param("0 0 31 4,6,9,11 *", "never matches a date", id="day-31-in-short-months"),
    pytest.param("0 0 L-31 * *", "L-n needs n between 0 and 30", id="l-minus-31"),
    pytest.param("0 0 32W * *", "nW needs n between 1 and 31", id="32w"),
    pytest.param("0 0 5L * *", "the special forms are L, L-n, nW and LW", id="dow-form-in-dom"),
    pytest.param("0 0 * * 1#6", "d#n needs n between 1 and 5", id="sixth-monday"),
    pytest.param("0 0 * * 1#x", "the special forms are dL", id="nth-not-number"),
    pytest.param("0 0 * * L", "the special forms are dL", id="bare-l-in-dow"),
    pytest.param("0 0 * * 9L", "day-of-week 9 is out of range 0-7", id="last-weekday-9"),
    pytest.param(
        "? * * * *", "'?' is only allowed in day-of-month and day-of-week", id="question-minute"
    ),
    pytest.param("0 0 1,? * *", "'?' must stand alone in day-of-month", id="question-in-list"),
    pytest.param("@reboot", "unknown macro '@reboot'", id="unknown-macro"),
    pytest.param("@daily 5", "takes no fields", id="macro-with-fields"),
    pytest.param("@every", "@every needs a duration", id="every-without-duration"),
    pytest.param("@every 0s", "must be longer than zero", id="every-zero"),
    pytest.param("@every 1.5h", "is not a sequence of whole numbers", id="every-fraction"),
    pytest.param("@every 10ms", "is not a sequence of whole numbers", id="every-milliseconds"),
    pytest.param("@every soon", "is not a sequence of whole numbers", id="every-words"),
]


@pytest.mark.parametrize(("expression", "problem"), INVALID)
def test_invalid_expressions_say_what_is_wrong(expression: str, problem: str) -> None:
    violations: list[FieldViolation] = []
    assert compile_cron(expression, "spec.schedule.cron_expressions[3]", violations) is None
    assert len(violations) == 1
    assert violations[0].field == "spec.schedule.cron_expressions[3]"
    assert violations[0].description.startswith(f"cron expression {expression!r}: ")
    assert problem in violations[0].description


def test_parse_returns_interval_for_every_and_wall_rule_otherwise() -> None:
    assert parse_cron("@every 1h") == IntervalRule("", 3600, 0)
    assert isinstance(parse_cron("0 9 * * *"), WallRule)
    with pytest.raises(CronSyntaxError):
        parse_cron("not cron")


@pytest.mark.parametrize(
    ("expression", "follows_elapsed"),
    [
        pytest.param("0 * * * *", True, id="hourly"),
        pytest.param("*/5 * * * *", True, id="every-five-minutes"),
        pytest.param("0 0-23 * * *", True, id="all-hours-listed"),
        pytest.param("0 9 * * *", False, id="daily"),
        pytest.param("0 0-22 * * *", False, id="not-every-hour"),
    ],
)
def test_rules_matching_every_hour_follow_elapsed_time(
    expression: str, follows_elapsed: bool
) -> None:
    rule = parse_cron(expression)
    assert isinstance(rule, WallRule)
    assert rule.follows_elapsed is follows_elapsed
