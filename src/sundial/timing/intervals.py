"""Interval rules: fire at anchor + n·every + offset, the anchor being 1970-01-01T00:00 on
the schedule's wall clock.

Whole-day intervals count days on the local calendar (09:00 stays 09:00 across DST);
shorter or uneven ones count elapsed seconds from the anchor's instant."""

import re
from dataclasses import dataclass
from datetime import timedelta

from sundial.domain.errors import FieldViolation
from sundial.domain.schedules import ScheduleInterval

SECONDS_PER_DAY = 86400
_ONE_SECOND = timedelta(seconds=1)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:\d+[dhms])+")
_DURATION_PART = re.compile(r"(\d+)([dhms])")


@dataclass(frozen=True, slots=True)
class IntervalRule:
    """Every `every` seconds, shifted by `offset` seconds (0 <= offset < every).

    `path` is the field a problem with `every` is reported on."""

    path: str
    every: int
    offset: int

    @property
    def wall_clock(self) -> bool:
        """Whole-day intervals keep their wall-clock time of day."""
        return self.every % SECONDS_PER_DAY == 0


def format_duration(seconds: int) -> str:
    """`5400` → `1h30m`; the form users write in `@every`."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def format_timedelta(value: timedelta) -> str:
    """A duration for messages: `1h30m`, or Python's form when it has a fraction of a second."""
    if value % _ONE_SECOND:
        return str(value)
    return format_duration(value // _ONE_SECOND)


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `90s`, `1h30m` or `2d`; ValueError says what is wrong."""
    compact = text.strip().lower()
    if not _DURATION.fullmatch(compact):
        raise ValueError(
            f"duration {text!r} is not a sequence of whole numbers with units d, h, m or s "
            "(e.g. 90s, 1h30m, 2d)"
        )
    seconds = sum(
        int(count) * _UNIT_SECONDS[unit] for count, unit in _DURATION_PART.findall(compact)
    )
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return seconds


def compile_interval(
    interval: ScheduleInterval, path: str, violations: list[FieldViolation]
) -> IntervalRule | None:
    """The interval's rule, or None after adding its violations to `violations`."""
    before = len(violations)
    every = interval.every
    offset = interval.offset or timedelta(0)
    every_seconds = 0
    if every is None:
        violations.append(FieldViolation(f"{path}.every", "every is required"))
    elif every <= timedelta(0):
        violations.append(
            FieldViolation(f"{path}.every", f"every {format_timedelta(every)} must be positive")
        )
    elif every % _ONE_SECOND:
        violations.append(
            FieldViolation(f"{path}.every", f"every {every} must be a whole number of seconds")
        )
    else:
        every_seconds = every // _ONE_SECOND
    if offset < timedelta(0):
        violations.append(
            FieldViolation(
                f"{path}.offset", f"offset {format_timedelta(offset)} must not be negative"
            )
        )
    elif offset % _ONE_SECOND:
        violations.append(
            FieldViolation(f"{path}.offset", f"offset {offset} must be a whole number of seconds")
        )
    elif every_seconds and offset // _ONE_SECOND >= every_seconds:
        violations.append(
            FieldViolation(
                f"{path}.offset",
                f"offset {format_timedelta(offset)} must be shorter than every "
                f"{format_duration(every_seconds)}",
            )
        )
    if len(violations) > before:
        return None
    return IntervalRule(f"{path}.every", every_seconds, offset // _ONE_SECOND)
