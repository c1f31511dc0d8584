"""Checks of a ChainSpec as a Create or Update writes it. `check_chain_spec` needs nothing
but the spec; `check_chain_references` is given what the use case found in the workspace
(the nodes' agents and schedules), so every violation of one request is reported together,
each named by its path (`spec.nodes[2].agent_id`, `spec.edges[3]`)."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sundial.domain.agents import AgentSpec
from sundial.domain.chains import CONDITION_VARIABLES, ChainEdge, ChainNode, ChainSpec
from sundial.domain.conditions import compile_condition
from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import OverlapPolicy
from sundial.service.validation import (
    MAX_DATA_BYTES,
    MAX_DESCRIPTION_LENGTH,
    MAX_INITIAL_MESSAGE_LENGTH,
    Violations,
    json_size,
)

# A chain is a pipeline a person draws, not a generated graph; the bounds keep one run's
# transaction (every node row, every edge's condition) small.
MAX_NODES = 100
MAX_EDGES = 500
MAX_MAPPINGS = 64
MAX_MAPPING_KEY_LENGTH = 256
# The column the name is kept in (chain_run_nodes.node_name) is 64 characters.
_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,62}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A run has no queue to wait in: a start is made, refused, or made after cancelling.
_RUN_OVERLAP_POLICIES = frozenset(
    {
        OverlapPolicy.UNSPECIFIED,
        OverlapPolicy.SKIP,
        OverlapPolicy.ALLOW,
        OverlapPolicy.CANCEL_OTHER,
    }
)


@dataclass(frozen=True, slots=True)
class NodeTargets:
    """What the workspace holds of the nodes' references: the agents' specs by id, and each
    schedule's agent id by schedule id (missing keys: not in the workspace)."""

    agents: Mapping[str, AgentSpec]
    schedule_agents: Mapping[str, str]


def check_chain_spec(violations: Violations, spec: ChainSpec, *, prefix: str = "spec") -> None:
    """Every violation of the spec by itself: nodes, edges, conditions, mappings, and the
    first edge (in the order listed) that closes a cycle."""
    if len(spec.description) > MAX_DESCRIPTION_LENGTH:
        violations.add(
            f"{prefix}.description",
            f"at most {MAX_DESCRIPTION_LENGTH} characters, got {len(spec.description)}",
        )
    if spec.overlap_policy not in _RUN_OVERLAP_POLICIES:
        violations.add(
            f"{prefix}.overlap_policy",
            f"{spec.overlap_policy.name} is not a chain's policy: runs are not queued; use "
            "SKIP (the default), ALLOW or CANCEL_OTHER",
        )
    if not spec.nodes:
        violations.add(f"{prefix}.nodes", "a chain needs at least one node")
    elif len(spec.nodes) > MAX_NODES:
        violations.add(f"{prefix}.nodes", f"at most {MAX_NODES} nodes, got {len(spec.nodes)}")
        return
    if len(spec.edges) > MAX_EDGES:
        violations.add(f"{prefix}.edges", f"at most {MAX_EDGES} edges, got {len(spec.edges)}")
        return
    names: set[str] = set()
    for index, node in enumerate(spec.nodes):
        path = f"{prefix}.nodes[{index}]"
        _check_node(violations, path, node)
        if node.name in names:
            violations.add(f"{path}.name", f"node name {node.name!r} is used twice")
        names.add(node.name)
    _check_edges(violations, prefix, spec.edges, names)


def check_chain_references(
    violations: Violations, spec: ChainSpec, targets: NodeTargets, *, prefix: str = "spec"
) -> None:
    """Each node's agent or schedule is in the workspace, and its variation is one of the
    agent's."""
    for index, node in enumerate(spec.nodes):
        path = f"{prefix}.nodes[{index}]"
        agent_id = node.agent_id
        if node.agent_id and node.agent_id not in targets.agents:
            violations.add(f"{path}.agent_id", f"no agent {node.agent_id!r} in the workspace")
            continue
        if node.schedule_id and not node.agent_id:
            if node.schedule_id not in targets.schedule_agents:
                violations.add(
                    f"{path}.schedule_id", f"no schedule {node.schedule_id!r} in the workspace"
                )
                continue
            agent_id = targets.schedule_agents[node.schedule_id]
        agent = targets.agents.get(agent_id)
        if agent is not None and node.variation_id:
            known = {v.id for v in agent.variations}
            if node.variation_id not in known:
                violations.add(
                    f"{path}.variation_id",
                    f"the agent {agent_id!r} has no variation {node.variation_id!r} "
                    f"(its variations: {', '.join(sorted(known)) or 'none'})",
                )


def _check_node(violations: Violations, path: str, node: ChainNode) -> None:
    if not node.name:
        violations.add(f"{path}.name", "name is required")
    elif not _NODE_NAME.match(node.name):
        violations.add(
            f"{path}.name",
            f"node name {node.name!r} must be 1-63 letters, digits, '_' or '-', starting "
            "with a letter or digit",
        )
    if node.agent_id and node.schedule_id:
        violations.add(path, "set agent_id or schedule_id, not both")
    elif not node.agent_id and not node.schedule_id:
        violations.add(f"{path}.agent_id", "one of agent_id and schedule_id is required")
    elif node.agent_id and not node.initial_message.strip():
        violations.add(
            f"{path}.initial_message", "initial_message is required for an agent_id node"
        )
    if len(node.initial_message) > MAX_INITIAL_MESSAGE_LENGTH:
        violations.add(
            f"{path}.initial_message",
            f"at most {MAX_INITIAL_MESSAGE_LENGTH} characters, got {len(node.initial_message)}",
        )
    if node.data is not None:
        if not isinstance(node.data, dict):
            violations.add(
                f"{path}.data",
                "data must be a JSON object (edges' output_mapping and a trigger's data set "
                "its fields)",
            )
        elif json_size(node.data) > MAX_DATA_BYTES:
            violations.add(f"{path}.data", f"data is larger than {MAX_DATA_BYTES} bytes of JSON")


def _check_edges(
    violations: Violations, prefix: str, edges: tuple[ChainEdge, ...], names: set[str]
) -> None:
    seen: dict[tuple[str, str, object], int] = {}
    downstream: dict[str, set[str]] = {}
    for index, edge in enumerate(edges):
        path = f"{prefix}.edges[{index}]"
        known = True
        for end, name in (("from_node", edge.from_node), ("to_node", edge.to_node)):
            if not name:
                violations.add(f"{path}.{end}", f"{end} is required")
                known = False
            elif name not in names:
                violations.add(f"{path}.{end}", f"no node named {name!r} in spec.nodes")
                known = False
        _check_expressions(violations, path, edge)
        if not known:
            continue
        if edge.from_node == edge.to_node:
            violations.add(path, f"an edge cannot lead from {edge.from_node!r} to itself")
            continue
        key = (edge.from_node, edge.to_node, edge.effective_type)
        if key in seen:
            violations.add(
                path,
                f"duplicates {prefix}.edges[{seen[key]}] ({edge.from_node} -> {edge.to_node}, "
                f"{edge.effective_type.name}); merge their conditions with ||",
            )
            continue
        seen[key] = index
        cycle = _path_between(downstream, edge.to_node, edge.from_node)
        if cycle is not None:
            violations.add(
                path,
                f"closes a cycle: {' -> '.join([edge.from_node, *cycle])}; a chain must be acyclic",
            )
            continue
        downstream.setdefault(edge.from_node, set()).add(edge.to_node)


def _check_expressions(violations: Violations, path: str, edge: ChainEdge) -> None:
    if edge.condition:
        try:
            compile_condition(edge.condition, f"{path}.condition", CONDITION_VARIABLES)
        except InvalidArgumentError as error:
            violations.extend(error)
    if len(edge.output_mapping) > MAX_MAPPINGS:
        violations.add(
            f"{path}.output_mapping",
            f"at most {MAX_MAPPINGS} fields, got {len(edge.output_mapping)}",
        )
        return
    for key, expression in sorted(edge.output_mapping.items()):
        where = f"{path}.output_mapping[{key}]"
        if not key.strip() or len(key) > MAX_MAPPING_KEY_LENGTH or _CONTROL.search(key):
            violations.add(
                where,
                f"a data field name is 1-{MAX_MAPPING_KEY_LENGTH} characters without control "
                "characters",
            )
            continue
        try:
            compile_condition(expression, where, CONDITION_VARIABLES)
        except InvalidArgumentError as error:
            violations.extend(error)


def _path_between(downstream: Mapping[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The nodes from `start` to `goal` along `downstream` (both included), or None."""
    previous: dict[str, str] = {}
    frontier = [start]
    visited = {start}
    while frontier:
        node = frontier.pop()
        if node == goal:
            path = [node]
            while path[-1] != start:
                path.append(previous[path[-1]])
            return path[::-1]
        # Pushed in reverse so that the search goes on with the first in name order: the
        # cycle named does not depend on set order.
        for following in sorted(downstream.get(node, ()), reverse=True):
            if following not in visited:
                visited.add(following)
                previous[following] = node
                frontier.append(following)
    return None
