"""Objectives: one run of an agent, created by a fire, a trigger, a backfill or a retry."""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sundial.domain.metadata import ResourceMetadata


class ObjectiveStatus(enum.Enum):
    """Mirrors sundial.v1.ObjectiveStatus."""

    UNSPECIFIED = 0
    PENDING = 1
    BUFFERED = 2
    RUNNING = 3
    SUCCEEDED = 4
    FAILED = 5
    CANCELLED = 6
    TIMED_OUT = 7

    @property
    def in_flight(self) -> bool:
        """Counts against the overlap policy: created and not yet finished."""
        return self in (ObjectiveStatus.PENDING, ObjectiveStatus.RUNNING)

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {
        ObjectiveStatus.SUCCEEDED,
        ObjectiveStatus.FAILED,
        ObjectiveStatus.CANCELLED,
        ObjectiveStatus.TIMED_OUT,
    }
)


class TriggerKind(enum.Enum):
    """Mirrors sundial.v1.TriggerKind."""

    UNSPECIFIED = 0
    SCHEDULED = 1
    MANUAL = 2
    BACKFILL = 3
    RETRY = 4


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    initial_message: str = ""
    data: Any = None
    agent_id: str = ""
    variation_id: str = ""
    schedule_id: str = ""
    scheduled_time: datetime | None = None
    trigger_kind: TriggerKind = TriggerKind.UNSPECIFIED
    # The chain run and node it runs, when a chain made it (service/chain_steps.py).
    chain_run_id: str = ""
    chain_node: str = ""


@dataclass(frozen=True, slots=True)
class ObjectiveInfo:
    status: ObjectiveStatus = ObjectiveStatus.UNSPECIFIED
    attempt: int = 0
    worker_id: str = ""
    lease_expires_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Any = None
    error: str = ""
    available_at: datetime | None = None
    retry_of: str = ""
    deadline: datetime | None = None
    fired_at: datetime | None = None
    trace_parent: str = ""


@dataclass(frozen=True, slots=True)
class Objective:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: ObjectiveSpec = field(default_factory=ObjectiveSpec)
    info: ObjectiveInfo = field(default_factory=ObjectiveInfo)
