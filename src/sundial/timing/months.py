"""Per-month plans: for each day of a month, the wall-clock seconds at which the schedule's
calendars and cron strings fire once the exclude calendars are taken out.

A plan depends only on the month's shape (month, length, weekday of the 1st), so at most
91 plans exist per schedule and iterating days costs a lookup, not a computation."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from sundial.timing.cost import MONTH_COST, QUERY_BUDGET, WorkBudget
from sundial.timing.days import TimeOfDay, WallRule, month_length, month_shapes
from sundial.timing.fields import MINUTE, SECOND, bits_between, values_of
from sundial.timing.zones import EPOCH_ORDINAL, SECONDS_PER_DAY

_EMPTY: tuple[int, ...] = ()
# Bounds the cache of per-(rules, exclusions) second lists; there are rarely more than a few.
_MAX_CACHED_SECOND_LISTS = 4096


@dataclass(frozen=True, slots=True)
class MonthPlan:
    """Wall-clock fires of one month shape; the per-day tuples are indexed by day of month."""

    shape: tuple[int, int, int]  # (month, length, weekday of the 1st)
    length: int
    fire_mask: int  # bit d: day d has a wall-clock fire left after exclusions
    excluded_mask: int  # bit d: every second of day d is excluded
    open_mask: int  # bit d: day d exists and is not excluded entirely
    rule_bits: tuple[int, ...]  # per day: bit i set when wall rule i matches the date
    exclusion_bits: tuple[int, ...]  # per day: bit j set when exclude calendar j matches
    seconds: tuple[tuple[int, ...], ...]  # per day: wall-rule seconds of day not excluded


@dataclass(frozen=True, slots=True)
class MonthCursor:
    """A located month: its plan and the ordinal of its first day."""

    plan: MonthPlan
    first: int


class MonthPlanner:
    """Builds and caches month plans for a set of wall rules and exclude calendars."""

    def __init__(self, rules: Sequence[WallRule], exclusions: Sequence[WallRule]) -> None:
        self.rules = tuple(rules)
        self.exclusions = tuple(exclusions)
        self._plans: dict[tuple[int, int, int], MonthPlan] = {}
        self._kept: dict[tuple[int, int], tuple[int, ...]] = {}
        self._open_seconds: dict[int, bytes] = {}
        self._cursor: MonthCursor | None = None

    def locate(self, ordinal: int) -> MonthCursor:
        """The month containing a local date (ordinal)."""
        cursor = self._cursor
        if cursor is not None and cursor.first <= ordinal < cursor.first + cursor.plan.length:
            return cursor
        day = date.fromordinal(ordinal)
        first = ordinal - day.day + 1
        plan = self.plan(day.month, month_length(day.year, day.month), first % 7)
        cursor = MonthCursor(plan, first)
        self._cursor = cursor
        return cursor

    def plan(self, month: int, length: int, first_weekday: int) -> MonthPlan:
        key = (month, length, first_weekday)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._build(month, length, first_weekday)
            self._plans[key] = plan
        return plan

    @cached_property
    def has_fires(self) -> bool:
        """Whether the wall rules fire on any date at all once exclusions are applied."""
        return any(
            self.plan(month, length, first).fire_mask
            for month in range(1, 13)
            for length, first in month_shapes(month)
        )

    def always_excluded(self, second_of_day: int) -> bool:
        """Whether that wall time is excluded on every date there is."""
        return bool(self.exclusions) and all(
            self.excluded(plan.exclusion_bits[day], second_of_day)
            for month in range(1, 13)
            for length, first in month_shapes(month)
            for plan in (self.plan(month, length, first),)
            for day in range(1, length + 1)
        )

    def next_fire_day(
        self, ordinal: int, limit: int, budget: WorkBudget | None = None
    ) -> int | None:
        """The first date >= ordinal (and <= limit) with a wall-clock fire left."""
        return self._fire_days.next(ordinal, limit, budget)

    def next_day_in(
        self,
        ordinal: int,
        limit: int,
        mask_of: Callable[[MonthPlan], int],
        budget: WorkBudget | None = None,
    ) -> int | None:
        """The first date >= ordinal (and <= limit) whose bit is set in `mask_of(plan)`."""
        return _DayScan(self, mask_of).next(ordinal, limit, budget)

    def next_open_day(
        self, ordinal: int, limit: int, budget: WorkBudget | None = None
    ) -> int | None:
        """The first date >= ordinal (and <= limit) not excluded entirely."""
        return self._open_days.next(ordinal, limit, budget)

    @cached_property
    def _fire_days(self) -> "_DayScan":
        return _DayScan(self, lambda plan: plan.fire_mask)

    @cached_property
    def _open_days(self) -> "_DayScan":
        return _DayScan(self, lambda plan: plan.open_mask)

    def excluded(self, exclusion_bits: int, second_of_day: int) -> bool:
        """Whether an exclude calendar among `exclusion_bits` covers that second of the day."""
        index = 0
        while exclusion_bits:
            if exclusion_bits & 1 and self.exclusions[index].times.contains(second_of_day):
                return True
            exclusion_bits >>= 1
            index += 1
        return False

    def excluded_at(self, local: int) -> bool:
        """Whether a local wall time (seconds since 1970-01-01T00:00 local) is excluded."""
        if not self.exclusions:
            return False
        day, second = divmod(local, SECONDS_PER_DAY)
        ordinal = day + EPOCH_ORDINAL
        cursor = self.locate(ordinal)
        exclusion_bits = cursor.plan.exclusion_bits[ordinal - cursor.first + 1]
        return bool(exclusion_bits) and not self.open_seconds(exclusion_bits)[second]

    def without_excluded(self, seconds: Sequence[int], exclusion_bits: int) -> tuple[int, ...]:
        if not exclusion_bits:
            return tuple(seconds)
        open_seconds = self.open_seconds(exclusion_bits)
        return tuple([s for s in seconds if open_seconds[s]])

    def open_seconds(self, exclusion_bits: int, budget: WorkBudget | None = None) -> bytes:
        """Byte s is 1 when no exclude calendar among `exclusion_bits` covers second s of the
        day: a day's candidates are filtered by indexing (or itertools.compress), not by
        asking every exclusion about every second."""
        found = self._open_seconds.get(exclusion_bits)
        if found is not None:
            return found
        kept = bytearray(b"\x01") * SECONDS_PER_DAY
        for index, exclusion in enumerate(self.exclusions):
            if (exclusion_bits >> index) & 1:
                _close(kept, exclusion.times, budget)
        found = bytes(kept)
        if len(self._open_seconds) >= _MAX_CACHED_SECOND_LISTS:
            self._open_seconds.clear()
        self._open_seconds[exclusion_bits] = found
        return found

    def _kept_seconds(self, rule_bits: int, exclusion_bits: int) -> tuple[int, ...]:
        key = (rule_bits, exclusion_bits)
        kept = self._kept.get(key)
        if kept is None:
            matching = [rule for i, rule in enumerate(self.rules) if (rule_bits >> i) & 1]
            if not matching:
                union: Sequence[int] = _EMPTY
            elif len(matching) == 1:
                union = matching[0].seconds
            else:
                union = sorted({s for rule in matching for s in rule.seconds})
            kept = self.without_excluded(union, exclusion_bits)
            if len(self._kept) >= _MAX_CACHED_SECOND_LISTS:
                self._kept.clear()
            self._kept[key] = kept
        return kept

    def _build(self, month: int, length: int, first_weekday: int) -> MonthPlan:
        rule_masks = [rule.days.month_mask(month, length, first_weekday) for rule in self.rules]
        exclusion_masks = [
            exclusion.days.month_mask(month, length, first_weekday) for exclusion in self.exclusions
        ]
        whole_day = [exclusion.times.whole_day for exclusion in self.exclusions]
        rule_bits = [0] * (length + 1)
        exclusion_bits = [0] * (length + 1)
        seconds = [_EMPTY] * (length + 1)
        fire_mask = excluded_mask = 0
        for day in range(1, length + 1):
            bits = 0
            for index, mask in enumerate(rule_masks):
                if (mask >> day) & 1:
                    bits |= 1 << index
            excluding = 0
            for index, mask in enumerate(exclusion_masks):
                if (mask >> day) & 1:
                    excluding |= 1 << index
                    if whole_day[index]:
                        excluded_mask |= 1 << day
            rule_bits[day] = bits
            exclusion_bits[day] = excluding
            if bits and not (excluded_mask >> day) & 1:
                seconds[day] = self._kept_seconds(bits, excluding)
                if seconds[day]:
                    fire_mask |= 1 << day
        return MonthPlan(
            shape=(month, length, first_weekday),
            length=length,
            fire_mask=fire_mask,
            excluded_mask=excluded_mask,
            open_mask=bits_between(1, length) & ~excluded_mask,
            rule_bits=tuple(rule_bits),
            exclusion_bits=tuple(exclusion_bits),
            seconds=tuple(seconds),
        )


def _close(kept: bytearray, times: TimeOfDay, budget: WorkBudget | None) -> None:
    """Zeroes the seconds of the day that `times` covers: a whole minute, or a whole hour,
    in one slice when every second (and minute) of it is covered."""
    minutes = values_of(times.minutes)
    hours = values_of(times.hours)
    whole_minutes = times.seconds == SECOND.all_values
    whole_hours = whole_minutes and times.minutes == MINUTE.all_values
    if budget is not None:
        budget.spend(len(hours) * (1 if whole_hours else len(minutes) * 8))
    if whole_hours:
        for hour in hours:
            kept[hour * 3600 : hour * 3600 + 3600] = bytes(3600)
        return
    if whole_minutes:
        for hour in hours:
            for minute in minutes:
                start = hour * 3600 + minute * 60
                kept[start : start + 60] = bytes(60)
        return
    row = int.from_bytes(bytes(0 if (times.seconds >> s) & 1 else 1 for s in range(60)))
    for hour in hours:
        for minute in minutes:
            start = hour * 3600 + minute * 60
            kept[start : start + 60] = (int.from_bytes(kept[start : start + 60]) & row).to_bytes(60)


class _DayScan:
    """Finds the next day whose bit is set in a per-month mask, remembering its last answer
    so that walking forward day by day does not rescan the same empty months."""

    def __init__(self, planner: MonthPlanner, mask_of: Callable[[MonthPlan], int]) -> None:
        self._planner = planner
        self._mask_of = mask_of
        # (first day searched, last day searched, day found or None)
        self._memo: tuple[int, int, int | None] = (0, -1, None)

    def next(self, ordinal: int, limit: int, budget: WorkBudget | None) -> int | None:
        if budget is None:
            budget = WorkBudget(QUERY_BUDGET)
        cursor = self._planner.locate(ordinal)
        if (self._mask_of(cursor.plan) >> (ordinal - cursor.first + 1)) & 1:
            return ordinal if ordinal <= limit else None  # the common case: this very day
        start, searched, found = self._memo
        if start <= ordinal:
            if found is not None and ordinal <= found:
                return found if found <= limit else None
            if found is None and ordinal <= searched + 1:
                if limit <= searched:
                    return None
                result = self._scan(max(ordinal, searched + 1), limit, budget)
                self._memo = (start, limit if result is None else result, result)
                return result
        result = self._scan(ordinal, limit, budget)
        self._memo = (ordinal, limit if result is None else result, result)
        return result

    def _scan(self, ordinal: int, limit: int, budget: WorkBudget) -> int | None:
        while ordinal <= limit:
            budget.spend(MONTH_COST)
            cursor = self._planner.locate(ordinal)
            mask = self._mask_of(cursor.plan) >> (ordinal - cursor.first + 1)
            if mask:
                found = ordinal + (mask & -mask).bit_length() - 1
                return found if found <= limit else None
            ordinal = cursor.first + cursor.plan.length
        return None
