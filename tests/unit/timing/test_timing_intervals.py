"""Interval rules: durations, validation and the wall-clock vs elapsed split."""

from datetime import timedelta

import pytest

from sundial.domain.errors import FieldViolation
from sundial.domain.schedules import ScheduleInterval
from sundial.timing.intervals import (
    IntervalRule,
    compile_interval,
    format_duration,
    format_timedelta,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1D2H", 93600),
        (" 15m ", 900),
        ("30m1h", 5400),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "90", "1.5h", "10ms", "-5m", "1h 30m", "0s", "0d0h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (90, "1m30s"), (5400, "1h30m"), (90061, "1d1h1m1s"), (-60, "-1m")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_timedelta_keeps_fractions_visible() -> None:
    assert format_timedelta(timedelta(minutes=15)) == "15m"
    assert format_timedelta(timedelta(seconds=1.5)) == "0:00:01.500000"


@pytest.mark.parametrize(
    ("interval", "rule"),
    [
        pytest.param(
            ScheduleInterval(every=timedelta(hours=1)),
            IntervalRule("i.every", 3600, 0),
            id="no-offset",
        ),
        pytest.param(
            ScheduleInterval(every=timedelta(days=1), offset=timedelta(hours=9)),
            IntervalRule("i.every", 86400, 32400),
            id="daily",
        ),
    ],
)
def test_compile_interval(interval: ScheduleInterval, rule: IntervalRule) -> None:
    assert compile_interval(interval, "i", []) == rule


@pytest.mark.parametrize(
    ("every", "wall_clock"), [(86400, True), (7 * 86400, True), (3600, False), (90000, False)]
)
def test_whole_days_are_wall_clock(every: int, wall_clock: bool) -> None:
    assert IntervalRule("p", every, 0).wall_clock is wall_clock


def test_every_and_offset_violations_together() -> None:
    violations: list[FieldViolation] = []
    interval = ScheduleInterval(every=timedelta(0), offset=timedelta(seconds=-1))
    assert compile_interval(interval, "i", violations) is None
    assert [v.field for v in violations] == ["i.every", "i.offset"]
