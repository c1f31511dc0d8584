"""The fire-time engine: walks local days and yields each day's fires as UTC epoch seconds.

Per day it takes the month plan's wall-clock seconds (calendars and cron strings, already
minus exclusions), adds the intervals' seconds, and converts them with the day's single
UTC offset; only days with a DST change take the slow path through the gap and overlap
policies. Every walk is bounded: it gives up after `horizon_days` without a fire."""

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import date
from functools import lru_cache
from heapq import heappop, heappush
from itertools import compress
from math import gcd

from sundial.domain.schedules import DstGapPolicy, DstOverlapPolicy
from sundial.timing.cost import DAY_COST, QUERY_BUDGET, WorkBudget
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
# The UTC instants the walk may start from: a day inside those days in every zone.
FIRST_INSTANT = (FIRST_ORDINAL - 2 - EPOCH_ORDINAL) * SECONDS_PER_DAY
LAST_INSTANT = (LAST_ORDINAL - 1 - EPOCH_ORDINAL) * SECONDS_PER_DAY
_MAX_CACHED_DAYS = 4096
_MAX_TIMES_OF_DAY_CHECKED = 1440


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
            # A whole-day interval whose wall time is always excluded can never fire.
            if rule.wall_clock and not planner.always_excluded(rule.offset % SECONDS_PER_DAY)
        ]
        # (first instant, every) for intervals that count elapsed seconds.
        anchor = -zone.anchor_offset()
        self._elapsed = [
            (anchor + rule.offset, rule.every)
            for rule in intervals
            if not rule.wall_clock and not self._always_excluded(anchor + rule.offset, rule.every)
        ]
        self._has_intervals = bool(self._daily or self._elapsed)
        # Intervals shorter than a day have a fire in (nearly) every local day.
        self._every_day = any(every < SECONDS_PER_DAY for _, every in self._elapsed)
        # When every elapsed interval divides a day (and none counts days), a day's fires
        # depend only on its month plan entry and its UTC offset, so runs of days without a
        # fire (say, all excluded) are skipped a month at a time.
        self._day_periodic = (
            self._every_day
            and not self._daily
            and all(SECONDS_PER_DAY % every == 0 for _, every in self._elapsed)
        )
        self._fire_masks: dict[tuple[tuple[int, int, int], tuple[int, ...]], int] = {}
        longest = max((rule.every for rule in intervals), default=0)
        self.horizon_days = max(DEFAULT_HORIZON_DAYS, longest // SECONDS_PER_DAY + 2)
        self._days: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], tuple[int, ...]] = {}

    def _always_excluded(self, first: int, every: int) -> bool:
        """Whether every wall time a long interval reaches in a fixed-offset zone is excluded.

        Such an interval only ever reaches the times of day congruent to its first one
        modulo gcd(every, 1 day); when all of them are excluded it can never fire."""
        offset = self.zone.fixed_offset
        if offset is None or every < SECONDS_PER_DAY or not self.planner.exclusions:
            return False
        step = gcd(every, SECONDS_PER_DAY)
        if SECONDS_PER_DAY // step > _MAX_TIMES_OF_DAY_CHECKED:
            return False
        times = range((first + offset) % step, SECONDS_PER_DAY, step)
        return all(self.planner.always_excluded(second) for second in times)

    def lone_progression(self) -> tuple[int, int] | None:
        """(first instant, every) when this engine's fires are one elapsed-time interval's
        and nothing else (no wall-clock rules, no whole-day intervals, no exclusions)."""
        if self.planner.rules or self.planner.exclusions or self._daily:
            return None
        if len(self._elapsed) != 1:
            return None
        return self._elapsed[0]

    def instants(
        self, after: int, until: int | None = None, budget: WorkBudget | None = None
    ) -> Iterator[int]:
        """Fire instants strictly after `after` (and not after `until`), ascending.

        The walk spends from `budget` (a fresh QUERY_BUDGET if None) and raises
        ScheduleTooCostlyError when it runs out."""
        if budget is None:
            budget = WorkBudget(QUERY_BUDGET)
        # The walk covers local days of the years 2 to 9998: a question from before them
        # starts at their first fire, one from past them has no answer.
        if after > LAST_INSTANT:
            return
        after = max(after, FIRST_INSTANT)
        day = max(self.zone.local_ordinal(after), FIRST_ORDINAL)
        last_day = LAST_ORDINAL
        if until is not None:
            if until <= after:
                return
            last_day = min(last_day, self.zone.local_ordinal(min(until, LAST_INSTANT)) + 1)
        limit = min(day + self.horizon_days, last_day)
        last = after
        # A DST day can produce instants after the next day's first instant (a repeated
        # hour across midnight); those wait here until no later day can come before them.
        pending: list[int] = []
        while True:
            budget.spend(DAY_COST)
            found = self._next_day(day, limit, budget)
            if pending:
                boundary = None if found is None else self.zone.first_instant(found)
                while pending and (boundary is None or pending[0] < boundary):
                    instant = heappop(pending)
                    if instant > last:
                        if until is not None and instant > until:
                            return
                        yield instant
                        last = instant
                        limit = min(day + self.horizon_days, last_day)
            if found is None:
                return
            day = found
            info = self.zone.day(day)
            if pending or isinstance(info, DayTransition):
                for instant in self._day_instants(day, info, budget):
                    heappush(pending, instant)
            else:
                # One UTC offset all day: start at the first second after `last` (bisect)
                # instead of building the day's instants; a 1 s interval has 86,400 a day.
                base, seconds = self._day_seconds(day, info, budget)
                for index in range(bisect_right(seconds, last - base), len(seconds)):
                    instant = base + seconds[index]
                    if until is not None and instant > until:
                        return
                    yield instant
                    last = instant
                    limit = min(day + self.horizon_days, last_day)
            day += 1

    def _next_day(self, day: int, limit: int, budget: WorkBudget) -> int | None:
        """The first local date >= day (and <= limit) that may have a fire."""
        if day > limit:
            return None
        planner = self.planner
        if planner.exclusions:
            open_day = planner.next_open_day(day, limit, budget)
            if open_day is None:
                return None
            day = open_day
        if self._day_periodic:
            return self._next_periodic_day(day, limit, budget)
        if self._every_day:
            return day
        best = limit + 1
        if planner.rules and planner.has_fires:
            found = planner.next_fire_day(day, limit, budget)
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

    def _next_periodic_day(self, day: int, limit: int, budget: WorkBudget) -> int | None:
        """The next day with a fire, scanning month masks until the next DST change."""
        info = self.zone.day(day)
        if isinstance(info, DayTransition):
            return day
        change = self.zone.next_change(day, limit)
        base = (day - EPOCH_ORDINAL) * SECONDS_PER_DAY - info
        phases = self._phases(base)

        def fire_mask(plan: MonthPlan) -> int:
            key = (plan.shape, phases)
            mask = self._fire_masks.get(key)
            if mask is None:
                mask = 0
                for index in range(1, plan.length + 1):
                    if self._combined(plan, index, (), phases, budget):
                        mask |= 1 << index
                self._fire_masks[key] = mask
            return mask

        found = self.planner.next_day_in(
            day, limit if change is None else change - 1, fire_mask, budget
        )
        return found if found is not None else change

    def _phases(self, base: int) -> tuple[int, ...]:
        """Each elapsed interval's first second in the day starting at `base`, or -1 if none."""
        return tuple(
            [
                phase if (phase := (first - base) % every) < SECONDS_PER_DAY else -1
                for first, every in self._elapsed
            ]
        )

    def _day_instants(self, day: int, info: int | DayTransition, budget: WorkBudget) -> list[int]:
        """The day's fire instants, ascending (the gap's end may repeat)."""
        if isinstance(info, DayTransition):
            cursor = self.planner.locate(day)
            start = (day - EPOCH_ORDINAL) * SECONDS_PER_DAY
            return self._transition_day(
                day, info, cursor.plan, day - cursor.first + 1, start, budget
            )
        base, seconds = self._day_seconds(day, info, budget)
        return [base + second for second in seconds]

    def _day_seconds(
        self, day: int, offset: int, budget: WorkBudget
    ) -> tuple[int, tuple[int, ...]]:
        """On a day with one UTC offset: the UTC instant of its local midnight and its fire
        seconds of day, ascending."""
        cursor = self.planner.locate(day)
        index = day - cursor.first + 1
        base = (day - EPOCH_ORDINAL) * SECONDS_PER_DAY - offset
        seconds = cursor.plan.seconds[index]
        if self._has_intervals:
            seconds = self._with_intervals(day, cursor.plan, index, base, seconds, budget)
        return base, seconds

    def _with_intervals(
        self,
        day: int,
        plan: MonthPlan,
        index: int,
        base: int,
        seconds: tuple[int, ...],
        budget: WorkBudget,
    ) -> tuple[int, ...]:
        """Adds the intervals' seconds of day on a day with one UTC offset."""
        daily = (
            tuple(
                [
                    second
                    for every_days, first_day, second in self._daily
                    if (day - first_day) % every_days == 0
                ]
            )
            if self._daily
            else ()
        )
        return self._combined(plan, index, daily, self._phases(base), budget)

    def _combined(
        self,
        plan: MonthPlan,
        index: int,
        daily: tuple[int, ...],
        phases: tuple[int, ...],
        budget: WorkBudget,
    ) -> tuple[int, ...]:
        """A plan day's wall seconds with the intervals' seconds, minus exclusions (cached)."""
        exclusion_bits = plan.exclusion_bits[index]
        key = (plan.rule_bits[index], exclusion_bits, daily, phases)
        combined = self._days.get(key)
        if combined is None:
            seconds = plan.seconds[index]
            if not seconds and not daily and not exclusion_bits and len(phases) == 1:
                # The common case, a lone interval: one shared progression, no sorting.
                combined = _progression(phases[0], self._elapsed[0][1])
            else:
                kept = self._open_interval_seconds(daily, phases, exclusion_bits, budget)
                combined = tuple(sorted(set(seconds).union(kept))) if kept else seconds
            if len(self._days) >= _MAX_CACHED_DAYS:
                self._days.clear()
            self._days[key] = combined
        return combined

    def _open_interval_seconds(
        self,
        daily: tuple[int, ...],
        phases: tuple[int, ...],
        exclusion_bits: int,
        budget: WorkBudget,
    ) -> list[int]:
        """The intervals' seconds of a day (with one UTC offset) that no exclusion covers."""
        open_seconds = self.planner.open_seconds(exclusion_bits, budget) if exclusion_bits else None
        kept = [s for s in daily if open_seconds is None or open_seconds[s]]
        for (_, every), phase in zip(self._elapsed, phases, strict=True):
            if phase < 0:
                continue
            candidates = range(phase, SECONDS_PER_DAY, every)
            # Filtered in C (compress), so a candidate costs a fraction of a unit.
            budget.spend(len(candidates) // 16 + 1)
            if open_seconds is None:
                kept.extend(candidates)
            else:
                kept.extend(compress(candidates, open_seconds[phase::every]))
        return kept

    def _transition_day(
        self,
        day: int,
        info: DayTransition,
        plan: MonthPlan,
        index: int,
        start: int,
        budget: WorkBudget,
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
            budget.spend(len(found))
            found = self._not_excluded_on(info, start, exclusion_bits, found)
        return sorted(set(found))

    def _not_excluded_on(
        self, info: DayTransition, start: int, exclusion_bits: int, instants: list[int]
    ) -> list[int]:
        """The instants of a DST-change day whose wall time no exclusion covers. The offset is
        `before` until the change and `after` from it on; wall times that fall on a
        neighbouring day (a change near midnight) ask that day's exclusions."""
        planner = self.planner
        open_seconds = planner.open_seconds(exclusion_bits)
        kept = []
        for instant in instants:
            local = instant + (info.before if instant < info.utc else info.after)
            second = local - start
            if 0 <= second < SECONDS_PER_DAY:
                if open_seconds[second]:
                    kept.append(instant)
            elif not planner.excluded_at(local):
                kept.append(instant)
        return kept


@lru_cache(maxsize=4096)
def _progression(phase: int, every: int) -> tuple[int, ...]:
    """Seconds of day phase, phase + every, ...; shared by every schedule with that shape, so
    100,000 one-second schedules hold one 86,400-entry tuple, not 100,000 of them."""
    return tuple(range(phase, SECONDS_PER_DAY, every)) if phase >= 0 else ()
