"""Wall-clock rules: which local dates match (`DayRule`) and at which times of day (`TimeOfDay`).

Whether a date matches depends only on its month, the month's length and the weekday of
its first day, so every question about dates is answered per *month shape* (there are
91 of them) and cached; the Gregorian calendar repeats every 400 years, so a rule that
matches no month shape never matches at all."""

from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

from sundial.timing.fields import HOUR, MINUTE, SECOND, bits_between, values_of

SATURDAY = 6
SUNDAY = 0
DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def month_length(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return DAYS_IN_MONTH[month]


def month_shapes(month: int) -> list[tuple[int, int]]:
    """Every (length, weekday of the 1st) a month can have in some year."""
    lengths = (28, 29) if month == 2 else (DAYS_IN_MONTH[month],)
    return [(length, first) for length in lengths for first in range(7)]


def _weekday_days(first_weekday: int, weekday: int) -> int:
    """The mask of days 1..31 that fall on `weekday` when day 1 falls on `first_weekday`."""
    mask = 0
    for day in range(1 + (weekday - first_weekday) % 7, 32, 7):
        mask |= 1 << day
    return mask


# WEEKDAY_DAYS[first_weekday][weekday]: cron numbering, 0 = Sunday.
WEEKDAY_DAYS = tuple(tuple(_weekday_days(first, wd) for wd in range(7)) for first in range(7))


def weekday_of(day: int, first_weekday: int) -> int:
    return (first_weekday + day - 1) % 7


@dataclass(frozen=True, slots=True)
class DayRule:
    """Which dates match. `None` for a day field means unrestricted.

    Restricted day-of-month and day-of-week must both match, unless `either` is set
    (cron's rule), and then one is enough. The tuples hold cron's special day forms."""

    months: int
    days_of_month: int | None
    days_of_week: int | None
    either: bool = False
    last_day_offsets: tuple[int, ...] = ()  # `L` is 0, `L-3` is 3
    nearest_weekdays: tuple[int, ...] = ()  # `15W`
    last_weekday_of_month: bool = False  # `LW`
    last_weekdays: tuple[int, ...] = ()  # `5L`: the last Friday
    nth_weekdays: tuple[tuple[int, int], ...] = ()  # `1#2`: (weekday 1, 2nd)
    _cache: dict[tuple[int, int, int], int] = field(default_factory=dict, compare=False, repr=False)

    def month_mask(self, month: int, length: int, first_weekday: int) -> int:
        """The mask of matching days (bit d = day d) in a month of this shape."""
        key = (month, length, first_weekday)
        mask = self._cache.get(key)
        if mask is None:
            mask = self._compute_month_mask(month, length, first_weekday)
            self._cache[key] = mask
        return mask

    def ever_matches(self) -> bool:
        """Whether any date in any year matches."""
        return any(
            self.month_mask(month, length, first)
            for month in values_of(self.months)
            for length, first in month_shapes(month)
        )

    def _compute_month_mask(self, month: int, length: int, first_weekday: int) -> int:
        if not (self.months >> month) & 1:
            return 0
        valid = bits_between(1, length)
        by_date = None if self.days_of_month is None else self._dom_mask(length, first_weekday)
        by_weekday = None if self.days_of_week is None else self._dow_mask(length, first_weekday)
        if by_date is None and by_weekday is None:
            return valid
        if by_date is None:
            assert by_weekday is not None
            return by_weekday & valid
        if by_weekday is None:
            return by_date & valid
        combined = by_date | by_weekday if self.either else by_date & by_weekday
        return combined & valid

    def _dom_mask(self, length: int, first_weekday: int) -> int:
        mask = self.days_of_month or 0
        for offset in self.last_day_offsets:
            if length - offset >= 1:
                mask |= 1 << (length - offset)
        for day in self.nearest_weekdays:
            if day <= length:
                mask |= 1 << _nearest_weekday(day, length, first_weekday)
        if self.last_weekday_of_month:
            mask |= 1 << _nearest_weekday(length, length, first_weekday)
        return mask

    def _dow_mask(self, length: int, first_weekday: int) -> int:
        days = WEEKDAY_DAYS[first_weekday]
        mask = 0
        for weekday in values_of(self.days_of_week or 0):
            mask |= days[weekday]
        last_weekday = weekday_of(length, first_weekday)
        for weekday in self.last_weekdays:
            mask |= 1 << (length - (last_weekday - weekday) % 7)
        for weekday, nth in self.nth_weekdays:
            day = 1 + (weekday - first_weekday) % 7 + 7 * (nth - 1)
            if day <= length:
                mask |= 1 << day
        return mask


def _nearest_weekday(day: int, length: int, first_weekday: int) -> int:
    """Cron's `W`: the weekday nearest to `day`, never leaving the month."""
    weekday = weekday_of(day, first_weekday)
    if weekday == SATURDAY:
        return day - 1 if day > 1 else day + 2
    if weekday == SUNDAY:
        return day + 1 if day < length else day - 2
    return day


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """Which times of day match: masks of hours, minutes and seconds (all must match)."""

    hours: int
    minutes: int
    seconds: int

    @property
    def every_hour(self) -> bool:
        """The hour field matches every hour: such a rule follows elapsed time across DST."""
        return self.hours == HOUR.all_values

    @property
    def whole_day(self) -> bool:
        return (
            self.every_hour
            and self.minutes == MINUTE.all_values
            and self.seconds == SECOND.all_values
        )

    def contains(self, second_of_day: int) -> bool:
        return bool(
            (self.hours >> (second_of_day // 3600))
            & (self.minutes >> (second_of_day // 60 % 60))
            & (self.seconds >> (second_of_day % 60))
            & 1
        )

    def seconds_of_day(self) -> tuple[int, ...]:
        """Every matching second of the day, ascending."""
        minutes = values_of(self.minutes)
        seconds = values_of(self.seconds)
        return tuple(
            hour * 3600 + minute * 60 + second
            for hour in values_of(self.hours)
            for minute in minutes
            for second in seconds
        )


@dataclass(frozen=True)
class WallRule:
    """A calendar or cron string: the dates `days` matches, at the wall-clock `times`."""

    path: str
    days: DayRule
    times: TimeOfDay

    @cached_property
    def seconds(self) -> tuple[int, ...]:
        return self.times.seconds_of_day()

    @property
    def follows_elapsed(self) -> bool:
        return self.times.every_hour

    def smallest_gap(self) -> int | None:
        """The shortest time between two of this rule's fires on constant-offset days."""
        seconds = self.seconds
        gaps = [b - a for a, b in pairwise(seconds)]
        if self._matches_consecutive_days():
            gaps.append(86400 - seconds[-1] + seconds[0])
        return min(gaps, default=None)

    def _matches_consecutive_days(self) -> bool:
        for month in range(1, 13):
            following = month % 12 + 1
            for length, first in month_shapes(month):
                mask = self.days.month_mask(month, length, first)
                if mask & (mask >> 1):
                    return True
                next_first = (first + length) % 7
                if (mask >> length) & 1 and any(
                    self.days.month_mask(following, next_length, next_first) & 0b10
                    for next_length, shape_first in month_shapes(following)
                    if shape_first == next_first
                ):
                    return True
        return False
