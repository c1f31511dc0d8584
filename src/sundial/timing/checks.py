"""Whole-schedule checks run at compile time: does the schedule ever fire, and do its fires
keep the minimum fire interval.

The minimum interval is checked exactly for each rule on its own (an interval's `every`,
the gaps between a calendar's or cron string's times, across midnight when it matches
consecutive days, and between `at` times), then by scanning for rules that come close to
each other or to DST changes: the first 1,000 fires from start_time (or from 2025), the
fires within a day of every UTC-offset change in that first year and in 2025, and the
fires next to each `at` time. The first scan stops after five years (a leap day's cycle
and then some), so that a rule firing once in four years is not followed for millennia."""

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from sundial.domain.errors import FieldViolation
from sundial.timing.cost import WorkBudget
from sundial.timing.intervals import format_duration, format_timedelta
from sundial.timing.schedule import EPOCH, ONE_SECOND, CompiledSchedule, ScheduleParts
from sundial.timing.zones import DayTransition, ZoneDays

# Where to look for a first fire when the schedule has no start_time: the anchor of the
# intervals (1970-01-01 local), minus two days so no zone puts it after the search start.
REFERENCE_START = (datetime(1969, 12, 30, tzinfo=UTC) - EPOCH) // ONE_SECOND
REFERENCE_YEAR = 2025
# Where the minimum-interval scan starts without a start_time: a date users recognise.
REFERENCE_SCAN_START = (datetime(REFERENCE_YEAR, 1, 1, tzinfo=UTC) - EPOCH) // ONE_SECOND
_FOUR_HUNDRED_ONE_YEARS = 401 * 366 * 86400
_SCAN_FIRST = 1000
_SCAN_FIRST_SECONDS = 5 * 366 * 86400
_SCAN_AROUND_CHANGE = 5000
_SCAN_AROUND_AT = 100
_MAX_AT_PROBES = 100


def search_start(parts: ScheduleParts) -> int:
    """An instant from which the first fire of the window is found."""
    if parts.start is not None:
        return parts.start - 1
    if parts.end is not None:
        return min(REFERENCE_START, parts.end - _FOUR_HUNDRED_ONE_YEARS)
    return REFERENCE_START


def never_fires(
    schedule: CompiledSchedule, prefix: str, budget: WorkBudget
) -> FieldViolation | None:
    """A violation naming why the schedule can never fire, or None if it fires at least once."""
    parts = schedule.parts
    if next(schedule.instants(search_start(parts), budget), None) is not None:
        return None
    if parts.exclusions and _fires(dataclasses.replace(parts, exclusions=()), budget):
        return FieldViolation(
            f"{prefix}.exclude_calendars",
            "the exclude calendars remove every fire, so the schedule would never fire",
        )
    if (parts.start is not None or parts.end is not None) and _fires(
        dataclasses.replace(parts, start=None, end=None), budget
    ):
        where = "end_time" if parts.end is not None else "start_time"
        return FieldViolation(f"{prefix}.{where}", f"no fire falls {_describe_window(parts)}")
    return FieldViolation(prefix, "the schedule never fires: no rule produces a fire time")


def min_interval_violations(
    schedule: CompiledSchedule, min_interval: timedelta, prefix: str, budget: WorkBudget
) -> list[FieldViolation]:
    """Violations for fires closer together than `min_interval`."""
    if min_interval <= ONE_SECOND:
        return []  # nominal times are whole seconds, so any two are at least 1 s apart
    minimum = format_timedelta(min_interval)
    parts = schedule.parts

    def too_close(seconds: int) -> bool:
        return seconds * ONE_SECOND < min_interval

    found = [
        FieldViolation(
            rule.path,
            f"every {format_duration(rule.every)} is shorter than the minimum fire interval "
            f"{minimum}",
        )
        for rule in parts.intervals
        if too_close(rule.every)
    ]
    for rule in parts.wall_rules:
        gap = rule.smallest_gap()
        if gap is not None and too_close(gap):
            found.append(
                FieldViolation(
                    rule.path,
                    f"fires {format_duration(gap)} apart, closer than the minimum fire interval "
                    f"{minimum}",
                )
            )
    kept = set(schedule.at_instants)
    ordered = sorted((instant, index) for index, instant in enumerate(parts.at) if instant in kept)
    for (earlier, _), (later, index) in pairwise(ordered):
        if later != earlier and too_close(later - earlier):
            found.append(
                FieldViolation(
                    f"{prefix}.at[{index}]",
                    f"at {_iso(later)} is {format_duration(later - earlier)} after another at "
                    f"time, closer than the minimum fire interval {minimum}",
                )
            )
    if found:
        return found
    pair = _scan(schedule, min_interval, budget)
    if pair is None:
        return []
    earlier, later = pair
    return [
        FieldViolation(
            prefix,
            f"fires {format_duration(later - earlier)} apart (at {_iso(earlier)} and "
            f"{_iso(later)}), closer than the minimum fire interval {minimum}",
        )
    ]


def _fires(parts: ScheduleParts, budget: WorkBudget) -> bool:
    return next(CompiledSchedule(parts).instants(search_start(parts), budget), None) is not None


def _scan(
    schedule: CompiledSchedule, min_interval: timedelta, budget: WorkBudget
) -> tuple[int, int] | None:
    parts = schedule.parts
    reach = -(-min_interval // ONE_SECOND)
    start = search_start(parts)
    if parts.start is None and (parts.end is None or parts.end > REFERENCE_SCAN_START):
        start = REFERENCE_SCAN_START
    probes: list[tuple[int, int | None, int]] = [(start, start + _SCAN_FIRST_SECONDS, _SCAN_FIRST)]
    first_year = datetime.fromtimestamp(start + 2 * 86400, UTC).year
    for day in _offset_changes(parts.zone, sorted({first_year, REFERENCE_YEAR})):
        probes.append(
            (
                parts.zone.first_instant(day - 1) - 1,
                parts.zone.first_instant(day + 2),
                _SCAN_AROUND_CHANGE,
            )
        )
    for instant in schedule.at_instants[:_MAX_AT_PROBES]:
        probes.append((instant - reach - 1, instant + reach, _SCAN_AROUND_AT))
    for after, until, count in probes:
        pair = _closest_pair(schedule.instants(after, budget), until, count, min_interval)
        if pair is not None:
            return pair
    return None


def _closest_pair(
    instants: Iterator[int], until: int | None, count: int, min_interval: timedelta
) -> tuple[int, int] | None:
    previous = None
    for seen, instant in enumerate(instants):
        if seen >= count or (until is not None and instant > until):
            return None
        if previous is not None and (instant - previous) * ONE_SECOND < min_interval:
            return previous, instant
        previous = instant
    return None


def _offset_changes(zone: ZoneDays, years: list[int]) -> list[int]:
    """Local days (ordinals) on which the zone's UTC offset changes, in the given years."""
    if zone.fixed_offset is not None:
        return []
    return [
        ordinal
        for year in years
        for ordinal in range(date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal())
        if isinstance(zone.day(ordinal), DayTransition)
    ]


def _describe_window(parts: ScheduleParts) -> str:
    if parts.start is not None and parts.end is not None:
        return f"between start_time {_iso(parts.start)} and end_time {_iso(parts.end)}"
    if parts.start is not None:
        return f"at or after start_time {_iso(parts.start)}"
    assert parts.end is not None
    return f"at or before end_time {_iso(parts.end)}"


def _iso(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).isoformat().replace("+00:00", "Z")
