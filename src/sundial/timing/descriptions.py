"""Schedule rules in English: what AgentScheduleInfo.description and PreviewSchedule show.

Every phrase written here is one the schedule grammar (timing.phrases) reads, so parsing
a description gives back rules with the same fire times; the two modules share the value
sets of timing.recurrences. Descriptions favour the common shapes ("at 09:00 on Monday
through Friday", "every 15 minutes") and fall back to spelling out each field ("at minute
5 and 35 during hour 9 through 17") rather than ever saying something approximate."""

import functools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sundial.domain.schedules import (
    DstGapPolicy,
    DstOverlapPolicy,
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRules,
)
from sundial.timing.calendars import compile_calendar
from sundial.timing.cron import parse_cron
from sundial.timing.days import WallRule
from sundial.timing.intervals import IntervalRule
from sundial.timing.recurrences import (
    HOURS,
    MINUTES,
    MONTHS,
    SECONDS,
    Recurrence,
    recurrence_of,
    runs_of,
)

MONTH_NAMES = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
# Weekdays are listed from Monday, so a working week is one run.
_WEEK_ORDER = [1, 2, 3, 4, 5, 6, 0]
_EPOCH_WEEKDAY = 4  # 1970-01-01, the interval anchor, was a Thursday
_DAY = 86400
# Times are listed one by one up to this many; beyond, field by field.
_MAX_LISTED_TIMES = 12
# A stepped run is named as a step from this length; shorter ones are listed.
_MIN_STEPPED_RUN = 5


def describe_rules(rules: ScheduleRules) -> str:
    """The whole of `rules` in English: rules, exclusions, window, jitter and zone.

    Every read of a schedule carries its description, so equal rules are described once."""
    try:
        return _describe_shared(rules)
    except TypeError:  # unhashable rules (a list where a tuple belongs) are described afresh
        return _describe(rules)


@functools.lru_cache(maxsize=4096)
def _describe_shared(rules: ScheduleRules) -> str:
    return _describe(rules)


def _describe(rules: ScheduleRules) -> str:
    zone_name = rules.timezone or "UTC"
    zone = ZoneInfo(zone_name)
    parts = [describe_calendar(calendar) for calendar in rules.calendars]
    for expression in rules.cron_expressions:
        rule = parse_cron(expression)
        parts.append(
            _describe_interval(rule.every, rule.offset)
            if isinstance(rule, IntervalRule)
            else describe_recurrence(recurrence_of(rule))
        )
    parts.extend(describe_interval(interval) for interval in rules.intervals)
    if rules.at:
        parts.append("once at " + _join([_instant(at, zone) for at in sorted(rules.at)]))
    text = "; ".join(parts)
    for calendar in rules.exclude_calendars:
        text += "; except " + describe_window(_compiled(calendar, window=True))
    if rules.start_time is not None:
        text += f", from {_instant(rules.start_time, zone)}"
    if rules.end_time is not None:
        text += f", until {_instant(rules.end_time, zone)}"
    if rules.jitter:
        text += f", with up to {_duration_words(rules.jitter)} of jitter"
    if rules.dst_gap_policy is DstGapPolicy.SKIP:
        text += ", skipping wall-clock times a DST change skips"
    if rules.dst_overlap_policy is DstOverlapPolicy.BOTH:
        text += ", firing twice at wall-clock times a DST change repeats"
    return f"{text}, in {zone_name}"


def describe_calendar(calendar: ScheduleCalendar) -> str:
    return describe_recurrence(_compiled(calendar, window=False))


def describe_interval(interval: ScheduleInterval) -> str:
    every = int((interval.every or timedelta(0)).total_seconds())
    offset = int((interval.offset or timedelta(0)).total_seconds())
    return _describe_interval(every, offset)


def _compiled(calendar: ScheduleCalendar, *, window: bool) -> Recurrence:
    rule = compile_calendar(calendar, "", [], window=window)
    if not isinstance(rule, WallRule):
        raise ValueError(f"invalid calendar {calendar}")
    return recurrence_of(rule)


def _describe_interval(every: int, offset: int) -> str:
    if every % _DAY == 0:
        days, time_of_day = divmod(offset, _DAY)
        at = _clock(
            time_of_day // 3600,
            time_of_day // 60 % 60,
            time_of_day % 60 if time_of_day % 60 else None,
        )
        count = every // _DAY
        if count % 7 == 0:
            weeks, weekday_offset = divmod(days, 7)
            weekday = WEEKDAY_NAMES[(_EPOCH_WEEKDAY + weekday_offset) % 7]
            text = f"every {_count(count // 7, 'week')} on {weekday} at {at}"
            return text + (f" offset by {_count(weeks * 7, 'day')}" if weeks else "")
        text = f"every {_count(count, 'day')} at {at}"
        return text + (f" offset by {_count(days, 'day')}" if days else "")
    text = f"every {_duration_words(timedelta(seconds=every))}"
    if _DAY % every == 0 and ((every < 3600 and 3600 % every == 0) or every % 3600 == 0):
        # "every 15 minutes" alone means wall-clock quarter hours (a calendar).
        text += " of elapsed time"
    if offset:
        text += f" offset by {_duration_words(timedelta(seconds=offset))}"
    return text


def describe_recurrence(rule: Recurrence) -> str:
    """A calendar or cron rule's fire times in English."""
    times = _listed_times(rule)
    if times is not None:
        words = ["at " + _join(times)]
        if rule.restricts_month_days or rule.restricts_week_days:
            words.append(_days(rule))
        elif rule.months == MONTHS:
            words.append("every day")
        if rule.months != MONTHS:
            words.append("in " + _set(rule.months, MONTH_NAMES))
        return " ".join(words)
    lowest = [
        rule.seconds == {0},
        rule.minutes == {0},
        rule.hours == {0},
        _day_is_lowest(rule),
        rule.months == {1},
    ]
    every = [
        rule.seconds == SECONDS,
        rule.minutes == MINUTES,
        rule.hours == HOURS,
        not (rule.restricts_month_days or rule.restricts_week_days),
        rule.months == MONTHS,
    ]
    finest = next((level for level, low in enumerate(lowest) if not low), 4)
    words = []
    for level in range(finest, 5):
        if level > finest and every[level]:
            continue
        words.append(_level_words(rule, level, finest=level == finest))
    return " ".join(words)


def describe_window(rule: Recurrence) -> str:
    """An exclude calendar: the periods it names (its unrestricted fields match all)."""
    words = []
    if rule.seconds != SECONDS:
        words.append("at second " + _set(rule.seconds))
    if rule.minutes != MINUTES:
        words.append("at minute " + _set(rule.minutes))
    if rule.hours != HOURS:
        words.append("during hour " + _set(rule.hours))
    if rule.restricts_month_days or rule.restricts_week_days:
        words.append(_days(rule))
    if rule.months != MONTHS:
        words.append("in " + _set(rule.months, MONTH_NAMES))
    return " ".join(words)


def _listed_times(rule: Recurrence) -> list[str] | None:
    if rule.seconds == SECONDS or rule.minutes == MINUTES or rule.hours == HOURS:
        return None
    if len(rule.seconds) * len(rule.minutes) * len(rule.hours) > _MAX_LISTED_TIMES:
        return None
    if rule.seconds == {0} and (
        _whole_step(rule.minutes, 60) or (rule.minutes == {0} and _whole_step(rule.hours, 24))
    ):
        return None  # "every 4 hours" reads better than six times of day
    with_seconds = rule.seconds != {0}
    return [
        _clock(hour, minute, second if with_seconds else None)
        for hour in sorted(rule.hours)
        for minute in sorted(rule.minutes)
        for second in sorted(rule.seconds)
    ]


def _day_is_lowest(rule: Recurrence) -> bool:
    return (
        rule.days_of_month == frozenset({1})
        and not rule.restricts_week_days
        and not rule.special_month_days
    )


def _level_words(rule: Recurrence, level: int, *, finest: bool) -> str:
    if level == 0:
        if rule.seconds == SECONDS:
            return "every second"
        step = _whole_step(rule.seconds, 60)
        if step:
            return f"every {step} seconds"
        return "at second " + _set(rule.seconds)
    if level == 1:
        if rule.minutes == MINUTES:
            return "every minute"
        step = _whole_step(rule.minutes, 60)
        if step:
            return f"every {step} minutes"
        hourly = " of every hour" if finest and rule.hours == HOURS else ""
        return "at minute " + _set(rule.minutes) + hourly
    if level == 2:
        if finest and rule.hours == HOURS:
            return "every hour"
        step = _whole_step(rule.hours, 24)
        if finest and step:
            return f"every {step} hours"
        return "during hour " + _set(rule.hours)
    if level == 3:
        if not (rule.restricts_month_days or rule.restricts_week_days):
            return "every day"
        return _days(rule)
    if rule.months == MONTHS:
        return "every month"
    return "in " + _set(rule.months, MONTH_NAMES)


def _whole_step(values: frozenset[int], size: int) -> int:
    """N when the values are 0, N, 2N, … of a field of `size` values that N divides."""
    for step in range(2, size):
        if size % step == 0 and values == frozenset(range(0, size, step)):
            return step
    return 0


def _days(rule: Recurrence) -> str:
    month_days = []
    if rule.days_of_month is not None:
        month_days.append(f"day {_set(rule.days_of_month)} of the month")
    for offset in rule.last_day_offsets:
        month_days.append(
            "the last day of the month"
            if offset == 0
            else f"the {_ordinal(offset + 1)} to last day of the month"
        )
    month_days.extend(
        f"the weekday nearest day {day} of the month" for day in rule.nearest_weekdays
    )
    if rule.last_weekday_of_month:
        month_days.append("the last weekday of the month")
    week_days = []
    if rule.days_of_week is not None:
        week_days.append(_set(rule.days_of_week, WEEKDAY_NAMES, _WEEK_ORDER))
    week_days.extend(f"the last {WEEKDAY_NAMES[day]} of the month" for day in rule.last_weekdays)
    week_days.extend(
        f"the {_ordinal(nth)} {WEEKDAY_NAMES[day]} of the month" for day, nth in rule.nth_weekdays
    )
    if month_days and week_days:
        if rule.either:
            return f"on {' and '.join(month_days)} or on {' and '.join(week_days)}"
        return f"on {' and '.join(month_days)} if it is {' and '.join(week_days)}"
    return "on " + " and ".join(month_days or week_days)


def _set(
    values: frozenset[int], names: tuple[str, ...] | None = None, order: list[int] | None = None
) -> str:
    """Values as a list of names or numbers, runs as "A through B", long stepped runs as
    "A through B in steps of N"."""

    def name(value: int) -> str:
        return names[value] if names else str(value)

    items: list[str] = []
    for start, end, step in runs_of(values, order):
        if start == end:
            items.append(name(start))
        elif step == 1:
            items.append(f"{name(start)} through {name(end)}")
        else:
            key = order.index if order else (lambda v: v)
            length = (key(end) - key(start)) // step + 1
            if length >= _MIN_STEPPED_RUN:
                items.append(f"{name(start)} through {name(end)} in steps of {step}")
            else:
                ranked = sorted((v for v in values if key(start) <= key(v) <= key(end)), key=key)
                items.extend(name(v) for v in ranked if (key(v) - key(start)) % step == 0)
    return _join(items)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _clock(hour: int, minute: int, second: int | None = None) -> str:
    if second is None:
        return f"{hour:02d}:{minute:02d}"
    return f"{hour:02d}:{minute:02d}:{second:02d}"


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def _ordinal(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number if number < 20 else number % 10, "th")
    return f"{number}{suffix}"


def _duration_words(value: timedelta) -> str:
    total_ms = value // timedelta(milliseconds=1)
    seconds, milliseconds = divmod(total_ms, 1000)
    parts = []
    for unit, size in (("day", _DAY), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(_count(count, unit))
    if milliseconds:
        parts.append(_count(milliseconds, "millisecond"))
    return " ".join(parts) or "0 seconds"


def _instant(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat()
