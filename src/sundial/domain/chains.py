"""Chains (issue 19): DAG pipelines of agents, and their runs. Mirrors sundial/v1/chain.proto.

A chain is a resource like a webhook (metadata, spec, info). Each start of it (by hand with
TriggerChain, or by a fire of a schedule whose `chain_id` names it) is a ChainRun that
snapshots the chain's spec, so editing a chain never changes a run in flight.

Edges name their nodes `from_node` and `to_node` (seed 003 says `from` and `to`; `from` is a
Python keyword, which would make the generated message awkward to build and read).

An edge's `output_mapping` maps a top-level field of the downstream node's data to a CEL
expression over the upstream objective (`output`, `status`, `data`, the CONDITION_VARIABLES),
rather than to a JSON path: the same language and compiler as the edge's condition, and it can
reshape (`output.items.map(i, i.id)`) where a path can only select. Incoming edges apply in the
order the chain lists them, after the node's own data (and, for a root, TriggerChain's data).

The run rules (the README's "Chains" section), which the run service implements:

- An edge *resolves* when its upstream node ends (or is skipped); it *fires* when the
  upstream objective's end matches its type (ON_SUCCESS: SUCCEEDED; ON_FAILURE: FAILED,
  TIMED_OUT or CANCELLED; ON_COMPLETE: any end) and its condition, if any, is true. An edge
  out of a SKIPPED node resolves without firing.
- A node with no incoming edge is a root and starts with the run. Any other node starts when
  all its incoming edges have resolved and at least one fired; when all resolved and none
  fired it is SKIPPED.
- The run ends when no node is WAITING or RUNNING: SUCCEEDED if every FAILED node had an
  outgoing ON_FAILURE or ON_COMPLETE edge that fired (it was handled), else FAILED;
  CANCELLED when cancelled.

The run use cases live in service/chain_runs.py (`ChainRunService`); the gRPC servicer
(api/chains.py) calls exactly these, so the two sides agree on:

    trigger(principal, workspace_id, chain_id, *, request_id="", data=None) -> ChainRun
    list(principal, workspace_id, chain_id, request: PageRequest) -> Page[ChainRun]
        (`chain_id` "-" for every chain of the workspace; filter `status`, `schedule_id`)
    get(principal, workspace_id, chain_id, run_id) -> ChainRun   (`chain_id` may be "-")
    cancel(principal, workspace_id, chain_id, run_id, *, reason="") -> ChainRun
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sundial.domain.metadata import ResourceMetadata
from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import OverlapPolicy
from sundial.domain.tenancy import Profile

# What an edge's condition and output mapping see of the upstream objective.
CONDITION_VARIABLES = ("output", "status", "data")
# The chain id that lists (or gets) the runs of every chain of a workspace (AIP-159).
ALL_CHAINS = "-"


class ChainEdgeType(enum.Enum):
    """Mirrors sundial.v1.ChainEdgeType."""

    UNSPECIFIED = 0
    ON_SUCCESS = 1
    ON_FAILURE = 2
    ON_COMPLETE = 3

    def fires_on(self, status: ObjectiveStatus) -> bool:
        """Whether an upstream objective that ended with `status` fires an edge of this
        type (before its condition)."""
        if self is ChainEdgeType.ON_COMPLETE:
            return status.final
        if self is ChainEdgeType.ON_FAILURE:
            return status.final and status is not ObjectiveStatus.SUCCEEDED
        return status is ObjectiveStatus.SUCCEEDED


class ChainRunStatus(enum.Enum):
    """Mirrors sundial.v1.ChainRunStatus."""

    UNSPECIFIED = 0
    RUNNING = 1
    SUCCEEDED = 2
    FAILED = 3
    CANCELLED = 4


class ChainNodeStatus(enum.Enum):
    """Mirrors sundial.v1.ChainNodeStatus."""

    UNSPECIFIED = 0
    WAITING = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4
    SKIPPED = 5
    CANCELLED = 6


class ChainTriggerKind(enum.Enum):
    """Mirrors sundial.v1.ChainTriggerKind."""

    UNSPECIFIED = 0
    SCHEDULED = 1
    MANUAL = 2


@dataclass(frozen=True, slots=True)
class ChainNode:
    name: str = ""
    # Exactly one of agent_id and schedule_id.
    agent_id: str = ""
    schedule_id: str = ""
    initial_message: str = ""
    data: Any = None
    variation_id: str = ""


@dataclass(frozen=True, slots=True)
class ChainEdge:
    from_node: str = ""
    to_node: str = ""
    type: ChainEdgeType = ChainEdgeType.UNSPECIFIED
    condition: str = ""
    # Downstream data field -> CEL expression over CONDITION_VARIABLES.
    output_mapping: dict[str, str] = field(default_factory=dict)

    @property
    def effective_type(self) -> ChainEdgeType:
        """UNSPECIFIED means ON_SUCCESS."""
        return ChainEdgeType.ON_SUCCESS if self.type is ChainEdgeType.UNSPECIFIED else self.type


@dataclass(frozen=True, slots=True)
class ChainSpec:
    nodes: tuple[ChainNode, ...] = ()
    edges: tuple[ChainEdge, ...] = ()
    overlap_policy: OverlapPolicy = OverlapPolicy.UNSPECIFIED
    description: str = ""


@dataclass(frozen=True, slots=True)
class ChainInfo:
    created_by: Profile | None = None
    run_count: int = 0
    last_run_id: str = ""
    last_run_status: ChainRunStatus = ChainRunStatus.UNSPECIFIED
    last_run_at: datetime | None = None
    # Schedules whose spec.chain_id names the chain.
    schedule_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chain:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: ChainSpec = field(default_factory=ChainSpec)
    info: ChainInfo = field(default_factory=ChainInfo)


@dataclass(frozen=True, slots=True)
class ChainRunSpec:
    chain_id: str = ""
    trigger_kind: ChainTriggerKind = ChainTriggerKind.UNSPECIFIED
    schedule_id: str = ""
    scheduled_time: datetime | None = None
    chain_etag: str = ""
    chain_spec: ChainSpec = field(default_factory=ChainSpec)
    # TriggerChain's data, set over every root node's data.
    data: Any = None


@dataclass(frozen=True, slots=True)
class ChainRunNode:
    name: str = ""
    status: ChainNodeStatus = ChainNodeStatus.UNSPECIFIED
    objective_ids: tuple[str, ...] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None
    objective_status: ObjectiveStatus = ObjectiveStatus.UNSPECIFIED
    # Run-time errors deciding its start (conditions, mappings, a vanished agent).
    error: str = ""


@dataclass(frozen=True, slots=True)
class ChainRunInfo:
    status: ChainRunStatus = ChainRunStatus.UNSPECIFIED
    nodes: tuple[ChainRunNode, ...] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None
    created_by: Profile | None = None


@dataclass(frozen=True, slots=True)
class ChainRun:
    metadata: ResourceMetadata = field(default_factory=ResourceMetadata)
    spec: ChainRunSpec = field(default_factory=ChainRunSpec)
    info: ChainRunInfo = field(default_factory=ChainRunInfo)
