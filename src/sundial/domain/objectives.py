"""Objectives: one run of an agent, created by a fire, a trigger, a backfill or a retry."""

import enum


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
