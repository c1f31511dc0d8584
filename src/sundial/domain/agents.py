"""Agents: the targets of schedules."""

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sundial.domain.metadata import ResourceMetadata
from sundial.domain.tenancy import Profile
from sundial.domain.webhooks import ResultDelivery


class VariationSelectionMode(enum.Enum):
    """Mirrors sundial.v1.VariationSelectionMode."""

    UNSPECIFIED = 0
    FIRST = 1
    WEIGHTED_RANDOM = 2
    ROUND_ROBIN = 3


@dataclass(frozen=True, slots=True)
class AgentVariation:
    id: str = ""
    name: str = ""
    weight: int = 0
    config: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AgentSpec:
    description: str = ""
    input_data_schema: dict[str, Any] | None = None
    variations: tuple[AgentVariation, ...] = ()
    variation_selection_mode: VariationSelectionMode = VariationSelectionMode.UNSPECIFIED
    # Where the results of its objectives go, for schedules that list none of their own.
    deliveries: tuple[ResultDelivery, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentInfo:
    created_by: Profile | None = None
    schedule_count: int = 0


@dataclass(frozen=True, slots=True)
class Agent:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: AgentSpec = field(default_factory=AgentSpec)
    info: AgentInfo = field(default_factory=AgentInfo)


def choose_variation(spec: AgentSpec, *, schedule_id: str, nominal: datetime, sequence: int) -> str:
    """The variation an objective of a schedule that names none gets, by the agent's
    variation_selection_mode: FIRST (the default) the first; ROUND_ROBIN the next in order,
    counting the schedule's fires (`sequence`); WEIGHTED_RANDOM one drawn in proportion to
    the weights (a weight of 0 counts as 1), from a hash of the schedule and its nominal
    time, so that a fire made again after a crash gets the same one. No variations: ""."""
    variations = spec.variations
    if not variations:
        return ""
    mode = spec.variation_selection_mode
    if mode is VariationSelectionMode.ROUND_ROBIN:
        return variations[sequence % len(variations)].id
    if mode is VariationSelectionMode.WEIGHTED_RANDOM:
        weights = [max(v.weight, 1) for v in variations]
        seed = f"{schedule_id}|{nominal.astimezone(UTC).isoformat()}".encode()
        draw = int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest()) % sum(weights)
        for variation, weight in zip(variations, weights, strict=True):
            if draw < weight:
                return variation.id
            draw -= weight
    return variations[0].id
