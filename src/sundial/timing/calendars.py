"""Structured calendars (`ScheduleCalendar`) compiled to wall-clock rules.

Defaults for empty fields, by granularity (second < minute < hour < day < month, where
day_of_month and day_of_week are one level): an empty field finer than the finest set
field takes its minimum (second/minute/hour 0, day_of_month 1); an empty field coarser
than it matches every value. So `{minute: 30}` is hh:30:00 every hour and `{month: 6}`
is June 1st 00:00:00."""

from sundial.domain.errors import FieldViolation
from sundial.domain.schedules import ScheduleCalendar
from sundial.timing.days import DayRule, TimeOfDay, WallRule
from sundial.timing.fields import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    HOUR,
    MINUTE,
    MONTH,
    SECOND,
    Field,
    describe_values,
    fold_sunday,
    ranges_mask,
)

_SECOND, _MINUTE, _HOUR, _DAY, _MONTH = range(5)


def compile_calendar(
    calendar: ScheduleCalendar,
    path: str,
    violations: list[FieldViolation],
    *,
    window: bool = False,
) -> WallRule | None:
    """The calendar's rule, or None after adding its violations to `violations`.

    A `window` (an exclude calendar) describes a period rather than fire times, so every
    empty field matches every value: `{day_of_week: [0, 6]}` excludes whole weekends."""
    before = len(violations)
    masks = {
        spec: ranges_mask(ranges, spec, f"{path}.{spec.name}", violations)
        for spec, ranges in (
            (SECOND, calendar.second),
            (MINUTE, calendar.minute),
            (HOUR, calendar.hour),
            (DAY_OF_MONTH, calendar.day_of_month),
            (MONTH, calendar.month),
            (DAY_OF_WEEK, calendar.day_of_week),
        )
    }
    levels = {
        _SECOND: bool(calendar.second),
        _MINUTE: bool(calendar.minute),
        _HOUR: bool(calendar.hour),
        _DAY: bool(calendar.day_of_month or calendar.day_of_week),
        _MONTH: bool(calendar.month),
    }
    set_levels = [level for level, is_set in levels.items() if is_set]
    if not set_levels:
        violations.append(
            FieldViolation(
                path,
                "the calendar sets no field; set at least one of second, minute, hour, "
                "day_of_month, month or day_of_week",
            )
        )
        return None
    if len(violations) > before:
        return None
    # In a window no empty field is "finer than the finest set field": all match everything.
    finest = -1 if window else min(set_levels)

    def pick(spec: Field, level: int, is_set: bool) -> int:
        if is_set:
            return masks[spec]
        return 1 << spec.low if level < finest else spec.all_values

    times = TimeOfDay(
        hours=pick(HOUR, _HOUR, levels[_HOUR]),
        minutes=pick(MINUTE, _MINUTE, levels[_MINUTE]),
        seconds=pick(SECOND, _SECOND, levels[_SECOND]),
    )
    if levels[_DAY]:
        days_of_month = masks[DAY_OF_MONTH] if calendar.day_of_month else None
        days_of_week = fold_sunday(masks[DAY_OF_WEEK]) if calendar.day_of_week else None
    else:
        days_of_month = 1 << DAY_OF_MONTH.low if finest == _MONTH and not window else None
        days_of_week = None
    days = DayRule(
        months=pick(MONTH, _MONTH, levels[_MONTH]),
        days_of_month=days_of_month,
        days_of_week=days_of_week,
    )
    if not days.ever_matches():
        violations.append(FieldViolation(path, _never_matches(days)))
        return None
    return WallRule(path, days, times)


def _never_matches(days: DayRule) -> str:
    months = describe_values(days.months)
    dom = describe_values(days.days_of_month or 0)
    if not DayRule(days.months, days.days_of_month, None).ever_matches():
        return (
            f"the calendar never matches a date: day_of_month {dom} does not occur in "
            f"month {months}"
        )
    return (
        f"the calendar never matches a date: no day in month {months} is both day_of_month "
        f"{dom} and day_of_week {describe_values(days.days_of_week or 0)}"
    )
