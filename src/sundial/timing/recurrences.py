"""Recurrences: a wall-clock rule as plain value sets, the common ground of the schedule
grammar (timing.phrases) and the descriptions (timing.descriptions).

A calendar or a cron string compiles to a WallRule of bitmasks; a Recurrence is the same
rule with every field spelled out, so describing one and parsing the description meet in
the same values. Emitting a Recurrence gives a ScheduleCalendar when a calendar can hold
it, else a cron string (cron alone has the last-day, nth-weekday and either-day forms)."""

from dataclasses import dataclass, field

from sundial.domain.schedules import ScheduleCalendar, ScheduleRange
from sundial.timing.days import DayRule, TimeOfDay, WallRule
from sundial.timing.fields import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    HOUR,
    MINUTE,
    MONTH,
    SECOND,
    Field,
    bits_between,
    values_of,
)

SECONDS = frozenset(range(60))
MINUTES = frozenset(range(60))
HOURS = frozenset(range(24))
MONTHS = frozenset(range(1, 13))
WEEKDAYS = frozenset(range(7))


@dataclass(frozen=True)
class Recurrence:
    """The dates (months, days) and times of day a wall-clock rule matches.

    `days_of_month` and `days_of_week` of None are unrestricted; when both are restricted
    a date must match both, unless `either` (cron's rule). The special forms are cron's:
    `last_day_offsets` (L, L-n), `nearest_weekdays` (nW), `last_weekday_of_month` (LW),
    `last_weekdays` (dL) and `nth_weekdays` (d#n, as (weekday, n))."""

    seconds: frozenset[int] = frozenset({0})
    minutes: frozenset[int] = frozenset({0})
    hours: frozenset[int] = frozenset({0})
    months: frozenset[int] = MONTHS
    days_of_month: frozenset[int] | None = None
    days_of_week: frozenset[int] | None = None
    either: bool = False
    last_day_offsets: tuple[int, ...] = ()
    nearest_weekdays: tuple[int, ...] = ()
    last_weekday_of_month: bool = False
    last_weekdays: tuple[int, ...] = ()
    nth_weekdays: tuple[tuple[int, int], ...] = field(default=())

    @property
    def special_month_days(self) -> bool:
        return bool(self.last_day_offsets or self.nearest_weekdays or self.last_weekday_of_month)

    @property
    def special_week_days(self) -> bool:
        return bool(self.last_weekdays or self.nth_weekdays)

    @property
    def restricts_month_days(self) -> bool:
        return self.days_of_month is not None or self.special_month_days

    @property
    def restricts_week_days(self) -> bool:
        return self.days_of_week is not None or self.special_week_days

    @property
    def needs_cron(self) -> bool:
        """Whether only a cron string can hold this rule."""
        both = self.restricts_month_days and self.restricts_week_days
        return self.special_month_days or self.special_week_days or (both and self.either)


def recurrence_of(rule: WallRule) -> Recurrence:
    """The value sets of a compiled calendar or cron string."""
    days = rule.days
    times = rule.times
    has_dom = days.days_of_month is not None
    has_dow = days.days_of_week is not None
    return Recurrence(
        seconds=frozenset(values_of(times.seconds)),
        minutes=frozenset(values_of(times.minutes)),
        hours=frozenset(values_of(times.hours)),
        months=frozenset(values_of(days.months)),
        days_of_month=_dom_values(days) if has_dom else None,
        days_of_week=_dow_values(days) if has_dow else None,
        either=days.either and has_dom and has_dow,
        last_day_offsets=tuple(sorted(set(days.last_day_offsets))),
        nearest_weekdays=tuple(sorted(set(days.nearest_weekdays))),
        last_weekday_of_month=days.last_weekday_of_month,
        last_weekdays=tuple(sorted(set(days.last_weekdays))),
        nth_weekdays=tuple(sorted(set(days.nth_weekdays))),
    )


def _dom_values(days: DayRule) -> frozenset[int] | None:
    values = frozenset(values_of(days.days_of_month or 0))
    # A cron day field of only special forms compiles to an empty plain mask.
    if not values and (
        days.last_day_offsets or days.nearest_weekdays or days.last_weekday_of_month
    ):
        return None
    return values


def _dow_values(days: DayRule) -> frozenset[int] | None:
    values = frozenset(values_of(days.days_of_week or 0))
    if not values and (days.last_weekdays or days.nth_weekdays):
        return None
    return values


def wall_rule_of(recurrence: Recurrence) -> WallRule:
    """The compiled rule of a recurrence (for checks and tests)."""
    days = DayRule(
        months=_mask(recurrence.months),
        days_of_month=_day_mask(recurrence.days_of_month, recurrence.special_month_days),
        days_of_week=_day_mask(recurrence.days_of_week, recurrence.special_week_days),
        either=recurrence.either,
        last_day_offsets=recurrence.last_day_offsets,
        nearest_weekdays=recurrence.nearest_weekdays,
        last_weekday_of_month=recurrence.last_weekday_of_month,
        last_weekdays=recurrence.last_weekdays,
        nth_weekdays=recurrence.nth_weekdays,
    )
    times = TimeOfDay(
        hours=_mask(recurrence.hours),
        minutes=_mask(recurrence.minutes),
        seconds=_mask(recurrence.seconds),
    )
    return WallRule("", days, times)


def _day_mask(values: frozenset[int] | None, special: bool) -> int | None:
    if values is None:
        return 0 if special else None
    return _mask(values)


def _mask(values: frozenset[int]) -> int:
    mask = 0
    for value in values:
        mask |= 1 << value
    return mask


def to_calendar(recurrence: Recurrence, *, window: bool = False) -> ScheduleCalendar:
    """The calendar of a recurrence that needs no cron form.

    Fields are left empty where the calendar defaults give the same values (a `window`,
    an exclude calendar, leaves every unrestricted field empty)."""
    if recurrence.needs_cron:
        raise ValueError("this recurrence needs a cron string")
    dom = recurrence.days_of_month
    dow = recurrence.days_of_week
    levels: list[tuple[frozenset[int] | None, bool, bool]] = [
        # (values, is the minimum, matches every value)
        (recurrence.seconds, recurrence.seconds == {0}, recurrence.seconds == SECONDS),
        (recurrence.minutes, recurrence.minutes == {0}, recurrence.minutes == MINUTES),
        (recurrence.hours, recurrence.hours == {0}, recurrence.hours == HOURS),
        (None, dom == frozenset({1}) and dow is None, dom is None and dow is None),
        (recurrence.months, recurrence.months == {1}, recurrence.months == MONTHS),
    ]
    if window:
        keep = [not every for _, _, every in levels]
    else:
        finest = next((i for i, (_, low, _) in enumerate(levels) if not low), 4)
        if levels[finest][2] and finest > 0:
            finest -= 1  # an unrestricted finest field reads better as its finer minimum
        keep = [i == finest or (i > finest and not levels[i][2]) for i in range(5)]
    return ScheduleCalendar(
        second=ranges_of(recurrence.seconds) if keep[0] else (),
        minute=ranges_of(recurrence.minutes) if keep[1] else (),
        hour=ranges_of(recurrence.hours) if keep[2] else (),
        day_of_month=ranges_of(dom) if keep[3] and dom is not None else (),
        day_of_week=ranges_of(dow) if keep[3] and dow is not None else (),
        month=ranges_of(recurrence.months) if keep[4] else (),
    )


def ranges_of(values: frozenset[int]) -> tuple[ScheduleRange, ...]:
    """The values as few ranges: runs and arithmetic progressions of three or more."""
    return tuple(
        ScheduleRange(start=start, end=end if end != start else 0, step=step if step > 1 else 0)
        for start, end, step in runs_of(values)
    )


def runs_of(
    values: frozenset[int] | set[int], order: list[int] | None = None
) -> list[tuple[int, int, int]]:
    """(start, end, step) runs covering the values in ascending order (or in `order`, a
    permutation of positions, for weekdays listed from Monday)."""
    ranked = sorted(values, key=(order.index if order else None))
    keys = [order.index(v) if order else v for v in ranked]
    runs: list[tuple[int, int, int]] = []
    index = 0
    while index < len(ranked):
        if index + 2 < len(ranked):
            step = keys[index + 1] - keys[index]
            end = index + 1
            while end + 1 < len(ranked) and keys[end + 1] - keys[end] == step:
                end += 1
            if end - index >= 2:
                runs.append((ranked[index], ranked[end], step))
                index = end + 1
                continue
        runs.append((ranked[index], ranked[index], 1))
        index += 1
    return runs


def to_cron(recurrence: Recurrence) -> str:
    """The cron string of a recurrence (6 fields when seconds other than 0 fire)."""
    dom = _cron_field(recurrence.days_of_month, DAY_OF_MONTH)
    specials_dom = [
        "L" if offset == 0 else f"L-{offset}" for offset in recurrence.last_day_offsets
    ] + [f"{day}W" for day in recurrence.nearest_weekdays]
    if recurrence.last_weekday_of_month:
        specials_dom.append("LW")
    dom_parts = ([dom] if recurrence.days_of_month is not None else []) + specials_dom
    dow = _cron_field(recurrence.days_of_week, DAY_OF_WEEK)
    specials_dow = [f"{day}L" for day in recurrence.last_weekdays] + [
        f"{day}#{nth}" for day, nth in recurrence.nth_weekdays
    ]
    dow_parts = ([dow] if recurrence.days_of_week is not None else []) + specials_dow
    fields = [
        _cron_field(recurrence.minutes, MINUTE),
        _cron_field(recurrence.hours, HOUR),
        ",".join(dom_parts) or "*",
        _cron_field(recurrence.months, MONTH),
        ",".join(dow_parts) or "*",
    ]
    if recurrence.seconds != {0}:
        fields.insert(0, _cron_field(recurrence.seconds, SECOND))
    return " ".join(fields)


def _cron_field(values: frozenset[int] | None, spec: Field) -> str:
    if values is None:
        return "*"
    high = 6 if spec is DAY_OF_WEEK else spec.high
    if _mask(values) == bits_between(spec.low, high):
        return "*"
    parts = []
    for start, end, step in runs_of(values):
        if start == end:
            parts.append(str(start))
        elif step == 1:
            parts.append(f"{start}-{end}")
        else:
            parts.append(f"{start}-{end}/{step}")
    return ",".join(parts)
