"""What every insight view checks and computes the same way: windows, time zones,
percentiles and the counts of a window's objectives."""

import math
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.insight import ObjectiveCounts, ObjectiveStats
from sundial.domain.objectives import ObjectiveStatus
from sundial.store.repositories.insight import WindowObjective
from sundial.timing.zones import zone_names

# No view reads more than this much history (or plans this far ahead).
MAX_WINDOW = timedelta(days=31)
# A range that ends "now" includes what the clock made at now (created_at == now).
TICK = timedelta(microseconds=1)
_FINISHED = (ObjectiveStatus.SUCCEEDED, ObjectiveStatus.FAILED, ObjectiveStatus.TIMED_OUT)
_ENDED = (*_FINISHED, ObjectiveStatus.CANCELLED)


def checked_window(window: timedelta | None, default: timedelta, field: str) -> timedelta:
    """`window`, or `default` when unset; INVALID_ARGUMENT naming `field` unless it is
    positive and at most MAX_WINDOW."""
    if window is None:
        return default
    if window <= timedelta(0):
        raise InvalidArgumentError.single(field, f"{field} must be positive, got {window}")
    if window > MAX_WINDOW:
        raise InvalidArgumentError.single(
            field, f"{field} may be at most {MAX_WINDOW.days} days, got {window}"
        )
    return window


def checked_zone(name: str, field: str = "time_zone") -> tuple[str, tzinfo]:
    """The zone's name ('' is UTC) and the zone; INVALID_ARGUMENT naming `field` if unknown."""
    key = name or "UTC"
    if key not in zone_names():
        raise InvalidArgumentError.single(
            field, f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'"
        )
    return key, ZoneInfo(key)


def start_of_day(moment: datetime, zone: tzinfo) -> datetime:
    """Midnight of `moment`'s day in `zone` (the first instant of that day, across DST)."""
    local = moment.astimezone(zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    return midnight.astimezone(moment.tzinfo)


def nearest_rank(values: Sequence[timedelta], percent: int) -> timedelta | None:
    """The `percent`th percentile by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(percent * len(ordered) / 100), 1) - 1]


def objective_stats(
    objectives: Sequence[WindowObjective], start: datetime, end: datetime
) -> ObjectiveStats:
    """The stats of the objectives fired in [start, end] (the others are left out)."""
    counts = dict.fromkeys(ObjectiveStatus, 0)
    durations: list[timedelta] = []
    for objective in objectives:
        if not start <= objective.fired_at <= end:
            continue
        counts[objective.status] += 1
        if (
            objective.status in _ENDED
            and objective.started_at is not None
            and objective.completed_at is not None
        ):
            durations.append(objective.completed_at - objective.started_at)
    finished = sum(counts[status] for status in _FINISHED)
    return ObjectiveStats(
        start_time=start,
        end_time=end,
        counts=ObjectiveCounts(
            pending=counts[ObjectiveStatus.PENDING],
            buffered=counts[ObjectiveStatus.BUFFERED],
            running=counts[ObjectiveStatus.RUNNING],
            succeeded=counts[ObjectiveStatus.SUCCEEDED],
            failed=counts[ObjectiveStatus.FAILED],
            cancelled=counts[ObjectiveStatus.CANCELLED],
            timed_out=counts[ObjectiveStatus.TIMED_OUT],
            total=sum(counts.values()),
        ),
        success_rate=counts[ObjectiveStatus.SUCCEEDED] / finished if finished else None,
        average_duration=sum(durations, timedelta(0)) / len(durations) if durations else None,
        p95_duration=nearest_rank(durations, 95),
    )
