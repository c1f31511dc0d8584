"""Agent schedules: what the user wants (spec) and what the server knows (info).

Field names are the proto field names of sundial.v1, so the api layer converts by name."""

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sundial.domain.metadata import ResourceMetadata
from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.tenancy import Profile
from sundial.domain.webhooks import ResultDelivery

# Caps on what one schedule spec may hold (the README lists them): generous for real
# schedules, small enough that validating and compiling one stays cheap.
MAX_CALENDARS = 256
MAX_EXCLUDE_CALENDARS = 100
MAX_INTERVALS = 100
MAX_CRON_EXPRESSIONS = 100
MAX_CRON_LENGTH = 256
MAX_AT_TIMES = 1000
MAX_RANGES_PER_FIELD = 60  # enough for each second of a minute on its own
# 400 years, one Gregorian cycle: the engine's horizon follows `every` up to there.
MAX_INTERVAL_EVERY = timedelta(days=146_097)
MAX_JITTER = timedelta(days=3653)
MAX_CATCHUP_WINDOW = timedelta(days=366)
MAX_EXECUTION_TIMEOUT = timedelta(days=366)
MAX_RETRY_BACKOFF = timedelta(days=366)
# JSON nesting in `data`: below the depth at which protobuf's Struct (three messages per
# level) reaches its recursion limit of 100.
MAX_DATA_DEPTH = 20


class OverlapPolicy(enum.Enum):
    """Mirrors sundial.v1.OverlapPolicy; UNSPECIFIED behaves as SKIP."""

    UNSPECIFIED = 0
    ALLOW = 1
    SKIP = 2
    BUFFER_ONE = 3
    BUFFER_ALL = 4
    CANCEL_OTHER = 5


class ScheduleStatus(enum.Enum):
    """Mirrors sundial.v1.AgentScheduleStatus."""

    UNSPECIFIED = 0
    ACTIVE = 1
    PAUSED = 2
    ARCHIVED = 3


class DstGapPolicy(enum.Enum):
    """Mirrors sundial.v1.DstGapPolicy; UNSPECIFIED behaves as SHIFT."""

    UNSPECIFIED = 0
    SHIFT = 1
    SKIP = 2


class DstOverlapPolicy(enum.Enum):
    """Mirrors sundial.v1.DstOverlapPolicy; UNSPECIFIED behaves as FIRST."""

    UNSPECIFIED = 0
    FIRST = 1
    BOTH = 2


@dataclass(frozen=True, slots=True)
class ScheduleRange:
    """start, start+step, ... up to end inclusive; end < start means end = start, step 0 means 1."""

    start: int = 0
    end: int = 0
    step: int = 0


@dataclass(frozen=True, slots=True)
class ScheduleCalendar:
    """A wall-clock rule: fields AND, ranges inside a field OR."""

    comment: str = ""
    second: tuple[ScheduleRange, ...] = ()
    minute: tuple[ScheduleRange, ...] = ()
    hour: tuple[ScheduleRange, ...] = ()
    day_of_month: tuple[ScheduleRange, ...] = ()
    month: tuple[ScheduleRange, ...] = ()
    day_of_week: tuple[ScheduleRange, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleInterval:
    """Fires at anchor + n*every + offset (anchor: 1970-01-01T00:00 in the schedule's zone)."""

    every: timedelta | None = None
    offset: timedelta | None = None


@dataclass(frozen=True, slots=True)
class ScheduleRules:
    """When a schedule fires (AgentScheduleSpecSchedule on the wire)."""

    calendars: tuple[ScheduleCalendar, ...] = ()
    intervals: tuple[ScheduleInterval, ...] = ()
    timezone: str = ""
    cron_expressions: tuple[str, ...] = ()
    at: tuple[datetime, ...] = ()
    exclude_calendars: tuple[ScheduleCalendar, ...] = ()
    start_time: datetime | None = None
    end_time: datetime | None = None
    jitter: timedelta | None = None
    dst_gap_policy: DstGapPolicy = DstGapPolicy.UNSPECIFIED
    dst_overlap_policy: DstOverlapPolicy = DstOverlapPolicy.UNSPECIFIED

    def has_rule(self) -> bool:
        return bool(self.calendars or self.intervals or self.cron_expressions or self.at)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 0
    initial_backoff: timedelta | None = None
    max_backoff: timedelta | None = None
    backoff_multiplier: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentScheduleSpec:
    """What the user configured; kept exactly as written."""

    initial_message: str = ""
    schedule: ScheduleRules = field(default_factory=ScheduleRules)
    data: Any = None
    overlap_policy: OverlapPolicy = OverlapPolicy.UNSPECIFIED
    status: ScheduleStatus = ScheduleStatus.UNSPECIFIED
    variation_id: str = ""
    catchup_window: timedelta | None = None
    execution_timeout: timedelta | None = None
    retry_policy: RetryPolicy | None = None
    pause_on_failure: bool = False
    max_fires: int = 0
    notes: str = ""
    # Where each objective's result goes; empty: the agent's deliveries.
    deliveries: tuple[ResultDelivery, ...] = ()
    # A chain each fire starts instead of one objective of the agent (domain/chains.py).
    chain_id: str = ""


@dataclass(frozen=True, slots=True)
class RecentFire:
    objective_id: str = ""
    scheduled_time: datetime | None = None
    fired_at: datetime | None = None
    status: ObjectiveStatus = ObjectiveStatus.UNSPECIFIED


@dataclass(frozen=True, slots=True)
class AgentScheduleInfo:
    """Read-only runtime facts the server computes."""

    agent_id: str = ""
    created_by: Profile | None = None
    last_fire_at: datetime | None = None
    last_objective_id: str = ""
    last_skipped_at: datetime | None = None
    last_skip_reason: str = ""
    next_fire_at: datetime | None = None
    total_fires: int = 0
    missed_fires: int = 0
    skipped_fires: int = 0
    future_fire_times: tuple[datetime, ...] = ()
    recent_fires: tuple[RecentFire, ...] = ()
    running_objective_ids: tuple[str, ...] = ()
    consecutive_failure_count: int = 0
    last_objective_status: ObjectiveStatus = ObjectiveStatus.UNSPECIFIED
    remaining_fires: int | None = None
    manual_fires: int = 0
    backfill_fires: int = 0
    retry_attempts: int = 0
    description: str = ""
    # Not on the wire: the nominal time of the next fire (next_fire_at adds jitter), and
    # the scheduled fires so far (what max_fires counts).
    next_nominal_at: datetime | None = None
    scheduled_fires: int = 0


@dataclass(frozen=True, slots=True)
class AgentSchedule:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: AgentScheduleSpec = field(default_factory=AgentScheduleSpec)
    info: AgentScheduleInfo = field(default_factory=AgentScheduleInfo)


class ParseMethod(enum.Enum):
    """How ParseSchedule read its text."""

    UNSPECIFIED = 0
    GRAMMAR = 1
    CRON = 2


@dataclass(frozen=True, slots=True)
class ParsedSchedule:
    """What ParseSchedule answers: the rules a text means, in English, and how sure the
    grammar is (below 1.0 when it assumed something the text did not say)."""

    schedule: ScheduleRules
    description: str
    confidence: float
    method: ParseMethod
