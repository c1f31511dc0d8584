"""Compiled schedules: the union of all rules, minus exclusions, clipped to the window,
with deterministic jitter; the object the rest of Sundial asks for fire times."""

import copy
import heapq
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from sundial.domain.schedules import DstGapPolicy, DstOverlapPolicy, ScheduleRules
from sundial.timing.cost import QUERY_BUDGET, WorkBudget
from sundial.timing.days import WallRule
from sundial.timing.engine import Engine
from sundial.timing.intervals import IntervalRule
from sundial.timing.jitter import jitter_delay_ms
from sundial.timing.months import MonthPlanner
from sundial.timing.zones import ZoneDays

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)
_ONE_MILLISECOND = timedelta(milliseconds=1)
# Fires plus their jitter must stay valid datetimes.
_LAST_INSTANT = (datetime(9999, 12, 31, tzinfo=UTC) - EPOCH) // ONE_SECOND
# Where next_fire may take the lone-interval shortcut: well inside the days the engine walks,
# so the shortcut never meets the engine's edges of time.
_SHORTCUT_FIRST = (datetime(3, 1, 1, tzinfo=UTC) - EPOCH) // ONE_SECOND
_SHORTCUT_LAST = (datetime(9997, 1, 1, tzinfo=UTC) - EPOCH) // ONE_SECOND


@dataclass(frozen=True, slots=True)
class Fire:
    """One fire: `nominal` is the exactly-once key; `at` (nominal + jitter) is when to start."""

    nominal: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class ScheduleParts:
    """The validated pieces of a schedule, in engine terms (times are epoch seconds)."""

    rules: ScheduleRules
    zone: ZoneDays
    wall_rules: tuple[WallRule, ...] = ()
    intervals: tuple[IntervalRule, ...] = ()
    exclusions: tuple[WallRule, ...] = ()
    at: tuple[int, ...] = ()
    start: int | None = None
    end: int | None = None
    jitter_ms: int = 0
    gap: DstGapPolicy = DstGapPolicy.SHIFT
    overlap: DstOverlapPolicy = DstOverlapPolicy.FIRST


class CompiledSchedule:
    """A validated schedule, compiled once and asked for fire times many times."""

    def __init__(
        self, parts: ScheduleParts, schedule_id: str = "", field_path: str = "spec.schedule"
    ) -> None:
        self.parts = parts
        # Where a query too costly to answer (ScheduleTooCostlyError) points.
        self.field_path = field_path
        self.rules = parts.rules
        self.schedule_id = schedule_id
        self._engine: Engine | None = None
        if parts.wall_rules or parts.intervals:
            planner = MonthPlanner(parts.wall_rules, parts.exclusions)
            self._engine = Engine(planner, parts.intervals, parts.zone, parts.gap, parts.overlap)
        self._exclusions = MonthPlanner((), parts.exclusions)
        self._at = tuple(
            sorted({t for t in parts.at if self._in_window(t) and not self._excluded(t)})
        )
        # (first instant, every): a lone elapsed-time interval without calendars, exclusions,
        # one-shot times or jitter fires at first + k * every, whatever the zone does; the
        # firing engine asks for one next fire per fire, so next_fire computes it directly.
        self._progression: tuple[int, int] | None = None
        if (
            self._engine is not None
            and not parts.wall_rules
            and not parts.exclusions
            and not self._at
            and not parts.jitter_ms
        ):
            self._progression = self._engine.lone_progression()

    def with_id(self, schedule_id: str) -> "CompiledSchedule":
        """The same compiled rules for another schedule: only the jitter's seed differs, and
        the twins share their month plans."""
        if schedule_id == self.schedule_id:
            return self
        twin = copy.copy(self)
        twin.schedule_id = schedule_id
        return twin

    @property
    def at_instants(self) -> tuple[int, ...]:
        """The one-shot times that survive the window and the exclusions (epoch seconds)."""
        return self._at

    def next_fire(self, after: datetime) -> Fire | None:
        """The first fire whose nominal time is strictly after `after` (None if none)."""
        if self._progression is not None:
            start = epoch_seconds(after)
            if self.parts.start is not None:
                start = max(start, self.parts.start - 1)
            first, every = self._progression
            instant = first + ((start - first) // every + 1) * every
            if start >= _SHORTCUT_FIRST and instant <= _SHORTCUT_LAST:
                if self.parts.end is not None and instant > self.parts.end:
                    return None
                moment = datetime.fromtimestamp(instant, UTC)
                return Fire(moment, moment)
        return next(self.fires(after), None)

    def fires(self, after: datetime) -> Iterator[Fire]:
        """Consecutive fires with nominal times strictly after `after`, computed lazily."""
        # Validate `after` now, not at the first next() of the generator.
        return self._fires(self.instants(epoch_seconds(after)))

    def _fires(self, instants: Iterator[int]) -> Iterator[Fire]:
        fromtimestamp = datetime.fromtimestamp
        if not self.parts.jitter_ms:
            for instant in instants:
                moment = fromtimestamp(instant, UTC)
                yield Fire(moment, moment)
            return
        current = next(instants, None)
        while current is not None:
            following = next(instants, None)
            gap_ms = (
                (_LAST_INSTANT - current) * 1000
                if following is None
                else (following - current) * 1000
            )
            delay = jitter_delay_ms(self.schedule_id, current, self.parts.jitter_ms, gap_ms)
            moment = fromtimestamp(current, UTC)
            yield Fire(moment, moment + delay * _ONE_MILLISECOND)
            current = following

    def fire_times(self, after: datetime, count: int) -> list[Fire]:
        """The next `count` fires after `after` (fewer if the schedule ends)."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        return list(islice(self.fires(after), count))

    def instants(self, after: int, budget: WorkBudget | None = None) -> Iterator[int]:
        """Nominal fire times as epoch seconds strictly after `after`, ascending; the walk
        spends from `budget` (see Engine.instants), by default a fresh QUERY_BUDGET."""
        if budget is None:
            budget = WorkBudget(QUERY_BUDGET, self.field_path)
        parts = self.parts
        if parts.start is not None:
            after = max(after, parts.start - 1)
        stream: Iterator[int] = (
            self._engine.instants(after, parts.end, budget)
            if self._engine is not None
            else iter(())
        )
        if not self._at:
            return stream
        at_stream = iter(self._at[bisect_right(self._at, after) :])
        return _unique(heapq.merge(stream, at_stream)) if self._engine else at_stream

    def _in_window(self, instant: int) -> bool:
        start, end = self.parts.start, self.parts.end
        return (start is None or instant >= start) and (end is None or instant <= end)

    def _excluded(self, instant: int) -> bool:
        if not self.parts.exclusions:
            return False
        return self._exclusions.excluded_at(instant + self.parts.zone.offset_at(instant))


def epoch_seconds(moment: datetime) -> int:
    """Whole epoch seconds at or before a timezone-aware moment."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")
    return (moment - EPOCH) // ONE_SECOND


def _unique(instants: Iterator[int]) -> Iterator[int]:
    last = None
    for instant in instants:
        if instant != last:
            yield instant
            last = instant
