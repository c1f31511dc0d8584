"""The insight views: stats, engine status, heatmaps, calendar fires, suggestions and
compared objectives. Field names are the proto's (api.converters maps them by name)."""

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sundial.domain.objectives import ObjectiveStatus, TriggerKind


@dataclass(frozen=True, slots=True)
class ScheduleCounts:
    active: int = 0
    paused: int = 0
    archived: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class ObjectiveCounts:
    pending: int = 0
    buffered: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    timed_out: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class ObjectiveStats:
    """Objectives created in [start_time, end_time)."""

    start_time: datetime
    end_time: datetime
    counts: ObjectiveCounts
    success_rate: float | None = None
    average_duration: timedelta | None = None
    p95_duration: timedelta | None = None


@dataclass(frozen=True, slots=True)
class WorkspaceStats:
    schedules: ScheduleCounts
    today: ObjectiveStats
    window: ObjectiveStats


@dataclass(frozen=True, slots=True)
class FireCounts:
    scheduled: int = 0
    manual: int = 0
    backfill: int = 0
    retry: int = 0


@dataclass(frozen=True, slots=True)
class ScheduleStats:
    schedule_id: str
    today: ObjectiveStats
    window: ObjectiveStats
    window_fires: FireCounts
    lifetime_missed_fires: int
    lifetime_skipped_fires: int
    window_missed_fires: int
    window_skipped_fires: int


@dataclass(frozen=True, slots=True)
class EngineReplica:
    """What one process running the engine last reported."""

    replica_id: str
    started_at: datetime
    last_seen_at: datetime
    last_pass_at: datetime
    schedules_examined: int


@dataclass(frozen=True, slots=True)
class EngineStatus:
    running: bool
    replicas: tuple[EngineReplica, ...] = ()
    last_pass_at: datetime | None = None
    schedules_examined_last_pass: int = 0
    next_wake_at: datetime | None = None
    recent_fire_lag_p99: timedelta | None = None
    recent_fires: int = 0


@dataclass(frozen=True, slots=True)
class ComparedObjective:
    objective_id: str
    status: ObjectiveStatus
    attempt: int
    trigger_kind: TriggerKind
    scheduled_time: datetime | None
    duration: timedelta | None


@dataclass(frozen=True, slots=True)
class ComparedValue:
    """One objective's value at a path; `present` is False where it lacks the path."""

    present: bool
    value: Any = None


@dataclass(frozen=True, slots=True)
class ValueDifference:
    path: str
    values: tuple[ComparedValue, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    objectives: tuple[ComparedObjective, ...]
    differences: tuple[ValueDifference, ...]


class HeatmapSource(enum.Enum):
    """Mirrors sundial.v1.HeatmapSource."""

    UNSPECIFIED = 0
    PAST = 1
    FUTURE = 2


@dataclass(frozen=True, slots=True)
class HeatmapDay:
    day_of_week: int  # 0 = Sunday
    hours: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FireHeatmap:
    time_zone: str
    source: HeatmapSource
    start_time: datetime
    end_time: datetime
    days: tuple[HeatmapDay, ...]
    total: int


@dataclass(frozen=True, slots=True)
class CalendarFire:
    time: datetime
    schedule_id: str
    agent_id: str
    schedule_name: str = ""
    objective_id: str = ""
    status: ObjectiveStatus = ObjectiveStatus.UNSPECIFIED
    trigger_kind: TriggerKind = TriggerKind.SCHEDULED


class SuggestionCadence(enum.Enum):
    """Mirrors sundial.v1.SuggestionCadence."""

    UNSPECIFIED = 0
    DAILY = 1
    WEEKDAYS = 2
    WEEKLY = 3


@dataclass(frozen=True, slots=True)
class ScheduleSuggestion:
    cron_expression: str
    hour: int
    day_of_week: int  # -1 unless WEEKLY
    planned_fires: int
    reason: str


@dataclass(frozen=True, slots=True)
class Suggestions:
    time_zone: str
    suggestions: tuple[ScheduleSuggestion, ...] = field(default_factory=tuple)
