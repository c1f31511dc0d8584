"""Agents: the targets of schedules."""

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


class AgentMode(enum.Enum):
    """Mirrors sundial.v1.AgentMode: how an agent's objectives reach it."""

    UNSPECIFIED = 0
    PULL = 1
    PUSH = 2


DEFAULT_PUSH_TIMEOUT = timedelta(seconds=30)
MAX_PUSH_TIMEOUT = timedelta(minutes=10)
# The end of the secret a Get shows, so a person can tell which secret is in use.
PUSH_SECRET_HINT_LENGTH = 4


@dataclass(frozen=True, slots=True)
class PushTarget:
    """Where a PUSH agent's objectives are POSTed. `secret` is write-only: it is stored
    apart from the spec (agents.push_secret) and reads back empty."""

    url: str = ""
    timeout: timedelta | None = None
    headers: dict[str, str] = field(default_factory=dict)
    secret: str = ""


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
    mode: AgentMode = AgentMode.UNSPECIFIED
    push: PushTarget | None = None

    @property
    def pushed(self) -> bool:
        """Whether the engine POSTs this agent's objectives (mode PUSH) instead of workers
        claiming them."""
        return self.mode is AgentMode.PUSH


@dataclass(frozen=True, slots=True)
class AgentInfo:
    created_by: Profile | None = None
    schedule_count: int = 0
    # Only in the answer of the call that made the secret; never stored in this form.
    push_secret: str = ""
    push_secret_hint: str = ""


@dataclass(frozen=True, slots=True)
class Agent:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: AgentSpec = field(default_factory=AgentSpec)
    info: AgentInfo = field(default_factory=AgentInfo)


def push_secret_hint(secret: str) -> str:
    """What a Get shows of a push secret: its last characters, or "" when there is none."""
    return secret[-PUSH_SECRET_HINT_LENGTH:] if secret else ""


def push_timeout(target: PushTarget, execution_timeout: timedelta | None) -> timedelta:
    """How long a push waits for its answer: the target's timeout (default 30 s), never
    past the objective's execution timeout."""
    timeout = target.timeout or DEFAULT_PUSH_TIMEOUT
    return min(timeout, execution_timeout) if execution_timeout else timeout


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
