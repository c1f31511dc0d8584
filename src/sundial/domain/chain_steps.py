"""The chain run's state machine, pure: which edges an ended node fires, which waiting nodes
start or are skipped, and how the run ends. The service applies its answer in the very
transaction that ended the upstream objective, so each step happens exactly once.

Rules (the README's "Chains" section states them for users):

- An edge fires when its upstream's objective ended (after its retries) in a status its
  type accepts (ON_SUCCESS: SUCCEEDED; ON_FAILURE: FAILED, TIMED_OUT or CANCELLED, though
  not by cancelling the run; ON_COMPLETE: any final status) and its condition, if any, is
  true over the upstream's `output`, `status` and `data`. A condition that cannot be
  decided does not fire; its error is kept on the run.
- A node starts when every incoming edge has resolved and at least one fired; its data is
  its own data with each fired edge's output mapping (CEL expressions over the upstream)
  laid over it, edges in the chain's order. A node
  whose incoming edges all resolved with none fired is SKIPPED, and its outgoing edges
  resolve as not fired. Roots (no incoming edge) start when the run starts.
- The run ends when no node is WAITING or RUNNING: SUCCEEDED when every node that ended
  FAILED or CANCELLED had an outgoing edge that fired (the failure was handled), else
  FAILED. Cancelling the run makes it CANCELLED whatever its nodes say.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sundial.domain.chains import ChainEdgeType, ChainNodeStatus, ChainRunStatus
from sundial.domain.conditions import Condition, ConditionInput
from sundial.domain.objectives import ObjectiveStatus


def node_status_of(objective_status: ObjectiveStatus) -> ChainNodeStatus:
    """A node's status once its objective's final attempt ended as `objective_status`."""
    if objective_status is ObjectiveStatus.SUCCEEDED:
        return ChainNodeStatus.SUCCEEDED
    if objective_status is ObjectiveStatus.CANCELLED:
        return ChainNodeStatus.CANCELLED
    if objective_status.final:
        return ChainNodeStatus.FAILED
    return ChainNodeStatus.RUNNING


def _ended(status: ChainNodeStatus) -> bool:
    return status not in (ChainNodeStatus.WAITING, ChainNodeStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class StepEdge:
    """One edge as the state machine needs it, its expressions compiled: `output_mapping`
    computes a downstream data field from the upstream objective."""

    upstream: str
    downstream: str
    kind: ChainEdgeType = ChainEdgeType.ON_SUCCESS
    condition: Condition | None = None
    output_mapping: Mapping[str, Condition] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepNode:
    """A node's state in one run. Once it ended: `ended_as` is its last objective's status,
    `output` and `data` that objective's, `fired` the downstream nodes whose edge from it
    fired."""

    status: ChainNodeStatus = ChainNodeStatus.WAITING
    ended_as: ObjectiveStatus | None = None
    output: Any = None
    data: Mapping[str, Any] = field(default_factory=dict)
    fired: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Resolution:
    """An ended node's edges: the downstream nodes they fire, and why the edges (by
    downstream node) whose condition could not be decided did not fire."""

    fired: frozenset[str]
    errors: dict[str, str]


@dataclass(frozen=True, slots=True)
class Steps:
    """What follows: the nodes to start with their data, the nodes skipped, the errors of
    output mappings that could not be computed (by node), and the run's status (RUNNING
    while any node waits or runs)."""

    start: dict[str, dict[str, Any]]
    skip: list[str]
    errors: dict[str, str]
    status: ChainRunStatus


def resolve_edges(
    edges: Sequence[StepEdge],
    node: str,
    ended_as: ObjectiveStatus,
    output: Any,
    data: Mapping[str, Any],
) -> Resolution:
    """Which edges from `node` fire, now that its objective ended (after retries)."""
    fired: set[str] = set()
    errors: dict[str, str] = {}
    activation = ConditionInput(output=output, data=dict(data or {}), status=ended_as)
    for edge in edges:
        if edge.upstream != node or not edge.kind.fires_on(ended_as):
            continue
        if edge.condition is not None:
            result = edge.condition.evaluate(activation)
            if result.error is not None:
                errors[edge.downstream] = f"edge {node} -> {edge.downstream}: {result.error}"
                continue
            if not result.matched:
                continue
        fired.add(edge.downstream)
    return Resolution(frozenset(fired), errors)


def next_steps(
    nodes: Mapping[str, Mapping[str, Any]],
    edges: Sequence[StepEdge],
    states: Mapping[str, StepNode],
) -> Steps:
    """Given each node's starting data (`nodes`, in chain order) and state, what starts,
    what is skipped and how the run stands. Skips cascade: a skipped node resolves its
    outgoing edges as not fired, which may skip the nodes below it."""
    current = dict(states)
    incoming: dict[str, list[StepEdge]] = {name: [] for name in nodes}
    for edge in edges:
        incoming[edge.downstream].append(edge)
    start: dict[str, dict[str, Any]] = {}
    skip: list[str] = []
    errors: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for name, node_data in nodes.items():
            if name in start or _state(current, name).status is not ChainNodeStatus.WAITING:
                continue
            upstream = incoming[name]
            if any(not _ended(_state(current, e.upstream).status) for e in upstream):
                continue
            fired = [e for e in upstream if name in _state(current, e.upstream).fired]
            if upstream and not fired:
                current[name] = StepNode(status=ChainNodeStatus.SKIPPED)
                skip.append(name)
                changed = True
                continue
            data = dict(node_data)
            for edge in fired:
                mapped, failed = map_output(edge, _state(current, edge.upstream))
                data.update(mapped)
                if failed:
                    errors[name] = "; ".join(filter(None, (errors.get(name), failed)))
            start[name] = data
    waiting = [n for n in nodes if n not in start and not _ended(_state(current, n).status)]
    status = ChainRunStatus.RUNNING if start or waiting else run_outcome(current)
    return Steps(start, skip, errors, status)


def run_outcome(states: Mapping[str, StepNode]) -> ChainRunStatus:
    """A finished run's status: FAILED if a node failed or was cancelled and none of its
    edges fired (nothing handled it), else SUCCEEDED."""
    for state in states.values():
        if state.status in (ChainNodeStatus.FAILED, ChainNodeStatus.CANCELLED) and not state.fired:
            return ChainRunStatus.FAILED
    return ChainRunStatus.SUCCEEDED


def map_output(edge: StepEdge, upstream: StepNode) -> tuple[dict[str, Any], str]:
    """The data fields a fired edge hands downstream, and what could not be computed (a
    field whose expression errors is left out, never set to a made-up value)."""
    activation = ConditionInput(
        output=upstream.output,
        data=dict(upstream.data or {}),
        status=upstream.ended_as or ObjectiveStatus.UNSPECIFIED,
    )
    mapped: dict[str, Any] = {}
    failures: list[str] = []
    for key, expression in edge.output_mapping.items():
        value, error = expression.value(activation)
        if error is None:
            mapped[key] = value
        else:
            failures.append(
                f"output_mapping {key!r} of edge {edge.upstream} -> {edge.downstream}: {error}"
            )
    return mapped, "; ".join(failures)


def _state(states: Mapping[str, StepNode], name: str) -> StepNode:
    return states.get(name) or StepNode()
