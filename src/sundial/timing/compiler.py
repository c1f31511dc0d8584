"""compile_schedule: validate a `ScheduleRules` completely and compile it.

Every problem becomes a FieldViolation naming its field path, and all of them are raised
together in one InvalidArgumentError, so a client can fix a spec in one round trip."""

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sundial.domain.errors import FieldViolation, InvalidArgumentError
from sundial.domain.schedules import (
    MAX_AT_TIMES,
    MAX_CALENDARS,
    MAX_CRON_EXPRESSIONS,
    MAX_CRON_LENGTH,
    MAX_EXCLUDE_CALENDARS,
    MAX_INTERVAL_EVERY,
    MAX_INTERVALS,
    MAX_JITTER,
    MAX_RANGES_PER_FIELD,
    DstGapPolicy,
    DstOverlapPolicy,
    ScheduleCalendar,
    ScheduleRules,
)
from sundial.timing.calendars import compile_calendar
from sundial.timing.checks import min_interval_violations, never_fires
from sundial.timing.cost import COMPILE_BUDGET, WorkBudget
from sundial.timing.cron import compile_cron
from sundial.timing.days import WallRule
from sundial.timing.intervals import (
    IntervalRule,
    compile_interval,
    format_duration,
    format_timedelta,
)
from sundial.timing.schedule import EPOCH, ONE_SECOND, CompiledSchedule, ScheduleParts
from sundial.timing.zones import ZoneDays, load_zone

DEFAULT_MIN_INTERVAL = timedelta(seconds=1)
_FIRST_SECOND = (datetime(2, 1, 1, tzinfo=UTC) - EPOCH) // ONE_SECOND
_LAST_SECOND = (datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC) - EPOCH) // ONE_SECOND
_ONE_MILLISECOND = timedelta(milliseconds=1)


def compile_schedule(
    rules: ScheduleRules,
    *,
    schedule_id: str = "",
    min_interval: timedelta = DEFAULT_MIN_INTERVAL,
    field_prefix: str = "spec.schedule",
) -> CompiledSchedule:
    """Validate `rules` and compile them; InvalidArgumentError lists every violation.

    `schedule_id` seeds the jitter; `min_interval` is the closest two fires may come.
    Compiling and checking depend on nothing else, so valid rules are compiled once and
    shared (see CompiledSchedule.with_id); rules seen before cost a dict lookup."""
    try:
        hash(rules)
    except TypeError:
        return _compile(rules, min_interval, field_prefix).with_id(schedule_id)
    return _compile_shared(rules, min_interval, field_prefix).with_id(schedule_id)


def _compile(rules: ScheduleRules, min_interval: timedelta, prefix: str) -> CompiledSchedule:
    if min_interval < timedelta(0):
        raise ValueError(f"min_interval must not be negative, got {min_interval}")
    # Oversized specs are refused before any of their parts is compiled.
    violations = _size_violations(rules, prefix)
    if violations:
        raise InvalidArgumentError(violations)
    if not rules.has_rule():
        violations.append(
            FieldViolation(
                prefix,
                "the schedule has no rule; set at least one of calendars, cron_expressions, "
                "intervals or at",
            )
        )
    zone = _zone(rules.timezone, f"{prefix}.timezone", violations)
    wall_rules = _calendars(rules.calendars, f"{prefix}.calendars", violations)
    intervals: list[IntervalRule] = []
    for index, expression in enumerate(rules.cron_expressions):
        rule = compile_cron(expression, f"{prefix}.cron_expressions[{index}]", violations)
        if isinstance(rule, WallRule):
            wall_rules.append(rule)
        elif rule is not None:
            intervals.append(rule)
    for index, interval in enumerate(rules.intervals):
        compiled = compile_interval(interval, f"{prefix}.intervals[{index}]", violations)
        if compiled is not None:
            intervals.append(compiled)
    for rule in intervals:
        if rule.every * ONE_SECOND > MAX_INTERVAL_EVERY:
            violations.append(
                FieldViolation(
                    rule.path,
                    f"every {format_duration(rule.every)} is longer than the maximum "
                    f"{format_timedelta(MAX_INTERVAL_EVERY)}",
                )
            )
    exclusions = _calendars(
        rules.exclude_calendars, f"{prefix}.exclude_calendars", violations, window=True
    )
    at = [
        _one_shot(moment, f"{prefix}.at[{index}]", violations)
        for index, moment in enumerate(rules.at)
    ]
    start = _instant(rules.start_time, f"{prefix}.start_time", violations, round_up=True)
    end = _instant(rules.end_time, f"{prefix}.end_time", violations, round_up=False)
    start_time, end_time = rules.start_time, rules.end_time
    if (
        start is not None
        and end is not None
        and start_time is not None
        and end_time is not None
        and end_time <= start_time
    ):
        violations.append(
            FieldViolation(
                f"{prefix}.end_time",
                f"end_time {end_time.isoformat()} must be after start_time "
                f"{start_time.isoformat()}",
            )
        )
    jitter = rules.jitter or timedelta(0)
    if jitter < timedelta(0):
        violations.append(
            FieldViolation(
                f"{prefix}.jitter", f"jitter {format_timedelta(jitter)} must not be negative"
            )
        )
    elif jitter > MAX_JITTER:
        violations.append(
            FieldViolation(
                f"{prefix}.jitter",
                f"jitter {format_timedelta(jitter)} is longer than the maximum "
                f"{format_timedelta(MAX_JITTER)}",
            )
        )
    if violations or zone is None:
        raise InvalidArgumentError(violations)
    parts = ScheduleParts(
        rules=rules,
        zone=zone,
        wall_rules=tuple(wall_rules),
        intervals=tuple(intervals),
        exclusions=tuple(exclusions),
        at=tuple(instant for instant in at if instant is not None),
        start=start,
        end=end,
        jitter_ms=jitter // _ONE_MILLISECOND,
        gap=DstGapPolicy.SKIP if rules.dst_gap_policy == DstGapPolicy.SKIP else DstGapPolicy.SHIFT,
        overlap=(
            DstOverlapPolicy.BOTH
            if rules.dst_overlap_policy == DstOverlapPolicy.BOTH
            else DstOverlapPolicy.FIRST
        ),
    )
    schedule = CompiledSchedule(parts, field_path=prefix)
    # One budget for every check, so that a spec is decided within a bounded cost.
    budget = WorkBudget(COMPILE_BUDGET, prefix)
    problem = never_fires(schedule, prefix, budget)
    if problem is not None:
        raise InvalidArgumentError([problem])
    too_close = min_interval_violations(schedule, min_interval, prefix, budget)
    if too_close:
        raise InvalidArgumentError(too_close)
    return schedule


# Only valid rules are kept: a violation raises, and lru_cache keeps no exceptions. Rules
# that compare equal compile alike (their times are aware UTC datetimes: equal means the
# same instant).
_compile_shared = functools.lru_cache(maxsize=1024)(_compile)


_CALENDAR_FIELDS = ("second", "minute", "hour", "day_of_month", "month", "day_of_week")


def _size_violations(rules: ScheduleRules, prefix: str) -> list[FieldViolation]:
    violations = [
        FieldViolation(f"{prefix}.{name}", f"at most {limit} {name}, got {len(items)}")
        for name, items, limit in (
            ("calendars", rules.calendars, MAX_CALENDARS),
            ("exclude_calendars", rules.exclude_calendars, MAX_EXCLUDE_CALENDARS),
            ("intervals", rules.intervals, MAX_INTERVALS),
            ("cron_expressions", rules.cron_expressions, MAX_CRON_EXPRESSIONS),
            ("at", rules.at, MAX_AT_TIMES),
        )
        if len(items) > limit
    ]
    for name, calendars in (
        ("calendars", rules.calendars),
        ("exclude_calendars", rules.exclude_calendars),
    ):
        for index, calendar in enumerate(calendars[:MAX_CALENDARS]):
            for field in _CALENDAR_FIELDS:
                ranges = getattr(calendar, field)
                if len(ranges) > MAX_RANGES_PER_FIELD:
                    violations.append(
                        FieldViolation(
                            f"{prefix}.{name}[{index}].{field}",
                            f"at most {MAX_RANGES_PER_FIELD} ranges, got {len(ranges)}",
                        )
                    )
    for index, expression in enumerate(rules.cron_expressions[:MAX_CRON_EXPRESSIONS]):
        if len(expression) > MAX_CRON_LENGTH:
            violations.append(
                FieldViolation(
                    f"{prefix}.cron_expressions[{index}]",
                    f"at most {MAX_CRON_LENGTH} characters, got {len(expression)}",
                )
            )
    return violations


def _zone(name: str, path: str, violations: list[FieldViolation]) -> ZoneDays | None:
    try:
        return load_zone(name)
    except ValueError as error:
        violations.append(FieldViolation(path, str(error)))
        return None


def _calendars(
    calendars: Sequence[ScheduleCalendar],
    path: str,
    violations: list[FieldViolation],
    *,
    window: bool = False,
) -> list[WallRule]:
    compiled = [
        compile_calendar(calendar, f"{path}[{index}]", violations, window=window)
        for index, calendar in enumerate(calendars)
    ]
    return [rule for rule in compiled if rule is not None]


def _instant(
    moment: datetime | None, path: str, violations: list[FieldViolation], *, round_up: bool
) -> int | None:
    """Epoch seconds of an aware datetime; a fraction of a second rounds toward the window."""
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        violations.append(
            FieldViolation(path, f"{moment.isoformat()} has no time zone; send a UTC timestamp")
        )
        return None
    seconds = -((EPOCH - moment) // ONE_SECOND) if round_up else (moment - EPOCH) // ONE_SECOND
    # Fire times stay within the years 2 to 9998, so every one (plus jitter, in any zone)
    # is a valid datetime; a window edge beyond them means "no limit" on that side.
    return min(max(seconds, _FIRST_SECOND), _LAST_SECOND)


def _one_shot(moment: datetime, path: str, violations: list[FieldViolation]) -> int | None:
    seconds = _instant(moment, path, violations, round_up=True)
    if seconds is not None and not _FIRST_SECOND < seconds < _LAST_SECOND:
        violations.append(
            FieldViolation(path, f"{moment.isoformat()} is outside the years 2 to 9998")
        )
        return None
    return seconds
