"""Agents: the targets of schedules."""

import enum
from dataclasses import dataclass, field
from typing import Any

from sundial.domain.metadata import ResourceMetadata
from sundial.domain.tenancy import Profile


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


@dataclass(frozen=True, slots=True)
class AgentInfo:
    created_by: Profile | None = None
    schedule_count: int = 0


@dataclass(frozen=True, slots=True)
class Agent:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: AgentSpec = field(default_factory=AgentSpec)
    info: AgentInfo = field(default_factory=AgentInfo)
