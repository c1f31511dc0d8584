"""The fire-time engine: walks local days and yields each day's fires as UTC epoch seconds.

Per day it takes the month plan's wall-clock seconds (calendars and cron strings, already
minus exclusions), adds the intervals' seconds, and converts them with the day's single
UTC offset; only days with a DST change take the slow path through the gap and overlap
policies. Every walk is bounded: it gives up after `horizon_days` without a fire."""

from collections.abc import Iterator, Sequence
from datetime import date

from sundial.domain.schedules import DstGapPolicy, DstOverlapPolicy
from sundial.timing.intervals import IntervalRule
from sundial.timing.months import MonthPlan, MonthPlanner
from sundial.timing.zones import (
    EPOCH_ORDINAL,
    SECONDS_PER_DAY,
    DayTransition,
    ZoneDays,
    wall_instants,
)

# 400 Gregorian years repeat exactly, so a calendar that has not fired in that long never will.
CALENDAR_CYCLE_DAYS = 146_097
DEFAULT_HORIZON_DAYS = CALENDAR_CYCLE_DAYS + 366
# Local days the engine may visit: a margin inside datetime's year 1..9999 so every UTC
# instant (and its jitter) is still a valid datetime.
FIRST_ORDINAL = date(2, 1, 1).toordinal()
LAST_ORDINAL = date(9998, 12, 31).toordinal()
_MAX_CACHED_DAYS = 4096


class Engine:
    """Fire instants of the wall-clock rules and intervals of one schedule in one zone."""

    def __init__(
        self,
        planner: MonthPlanner,
        intervals: Sequence[IntervalRule],
        zone: ZoneDays,
        gap: DstGapPolicy,
        overlap: DstOverlapPolicy,
    ) -> None:
        self.planner = planner
        self.zone = zone
        self.gap = DstGapPolicy.SHIFT if gap == DstGapPolicy.UNSPECIFIED else gap
        self.overlap = (
            DstOverlapPolicy.FIRST if overlap == DstOverlapPolicy.UNSPECIFIED else overlap
        )
        # (days between fires, first fire's day, second of day) for whole-day intervals.
        self._daily = [
            (
                rule.every // SECONDS_PER_DAY,
                EPOCH_ORDINAL + rule.offset // SECONDS_PER_DAY,
                rule.offset % SECONDS_PER_DAY,
            )
            for rule in intervals
            if rule.wall_clock
        ]
        # (first instant, every) for intervals that count elapsed seconds.
        anchor = -zone.anchor_offset()
        self._elapsed = [
            (anchor + rule.offset, rule.every) for rule in intervals if not rule.wall_clock
        ]
        self._has_intervals = bool(intervals)
        longest = max((rule.every for rule in intervals), default=0)
        self.horizon_days = max(DEFAULT_HORIZON_DAYS, longest // SECONDS_PER_DAY + 2)
        self._days: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], tuple[int, ...]] = {}

    def instants(self, after: int, until: int | None = None) -> Iterator[int]:
        """Fire instants strictly after `after` (and not after `until`), ascending."""
        try:
            day = max(self.zone.local_ordinal(after), FIRST_ORDINAL)
            last_day = LAST_ORDINAL
            if until is not None:
                last_day = min(last_day, self.zone.local_ordinal(until) + 1)
        except (OverflowError, ValueError, OSError):
            return
        limit = min(day + self.horizon_days, last_day)
        last = after
        while True:
            found = self._next_day(day, limit)
            if found is None:
                return
            day = found
            for instant in self._day_instants(day):
                if instant > last:
                    if until is not None and instant > until:
                        return
                    yield instant
                    last = instant
                    limit = min(day + self.horizon_days, last_day)
            day += 1

    def _next_day(self, day: int, limit: int) -> int | None:
        """The first local date >= day (and <= limit) that may have a fire."""
        planner = self.planner
        if planner.exclusions:
            open_day = planner.next_open_day(day, limit)
            if open_day is None:
                return None
            day = open_day
        best = limit + 1
        if planner.rules and planner.has_fires:
            found = planner.next_fire_day(day, limit)
            if found is not None:
                best = found
        for every_days, first_day, _ in self._daily:
            best = min(best, day + (first_day - day) % every_days)
        if self._elapsed and best > day:
            start = self.zone.first_instant(day)
            for first, every in self._elapsed:
                instant = first + -((first - start) // every) * every
                best = min(best, self.zone.local_ordinal(instant))
        return best if best <= limit else None

    def _day_instants(self, day: int) -> list[int]:
        """The day's fire instants, ascending (the gap's end may repeat)."""
        info = self.zone.day(day)
        cursor = self.planner.locate(day)
        index = day - cursor.first + 1
        start = (day - EPOCH_ORDINAL) * SECONDS_PER_DAY
        if isinstance(info, DayTransition):
            return self._transition_day(day, info, cursor.plan, index, start)
        base = start - info
        seconds = cursor.plan.seconds[index]
        if self._has_intervals:
            seconds = self._with_intervals(day, cursor.plan, index, base, seconds)
        return [base + second for second in seconds]

    def _with_intervals(
        self, day: int, plan: MonthPlan, index: int, base: int, seconds: tuple[int, ...]
    ) -> tuple[int, ...]:
        """Adds the intervals' seconds of day on a day with one UTC offset (cached by shape)."""
        daily = tuple(
            second
            for every_days, first_day, second in self._daily
            if (day - first_day) % every_days == 0
        )
        # An elapsed interval's first instant in the day, or -1 when it has none that day.
        phases = tuple(
            phase if (phase := (first - base) % every) < SECONDS_PER_DAY else -1
            for first, every in self._elapsed
        )
        key = (plan.rule_bits[index], plan.exclusion_bits[index], daily, phases)
        combined = self._days.get(key)
        if combined is None:
            extra = list(daily)
            for (_, every), phase in zip(self._elapsed, phases, strict=True):
                if phase >= 0:
                    extra.extend(range(phase, SECONDS_PER_DAY, every))
            kept = self.planner.without_excluded(extra, plan.exclusion_bits[index])
            combined = tuple(sorted(set(seconds).union(kept))) if kept else seconds
            if len(self._days) >= _MAX_CACHED_DAYS:
                self._days.clear()
            self._days[key] = combined
        return combined

    def _transition_day(
        self, day: int, info: DayTransition, plan: MonthPlan, index: int, start: int
    ) -> list[int]:
        """A day with a DST change: each rule through the policies, each instant checked."""
        planner = self.planner
        exclusion_bits = plan.exclusion_bits[index]
        rule_bits = plan.rule_bits[index]
        found: list[int] = []
        for number, rule in enumerate(planner.rules):
            if (rule_bits >> number) & 1:
                seconds = planner.without_excluded(rule.seconds, exclusion_bits)
                found += wall_instants(
                    info, start, seconds, self.gap, self.overlap, rule.follows_elapsed
                )
        for every_days, first_day, second in self._daily:
            if (day - first_day) % every_days == 0:
                kept = planner.without_excluded((second,), exclusion_bits)
                found += wall_instants(info, start, kept, self.gap, self.overlap)
        if self._elapsed:
            low, high = self.zone.first_instant(day), self.zone.first_instant(day + 1)
            for first, every in self._elapsed:
                found.extend(range(first + -((first - low) // every) * every, high, every))
        if planner.exclusions:
            zone = self.zone
            found = [u for u in found if not planner.excluded_at(u + zone.offset_at(u))]
        return sorted(set(found))
