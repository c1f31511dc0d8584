"""The chain spec checks alone (no database): cycles found whatever the graph's shape and
named at the edge that closes them, the limits, and the node references checked against
what the workspace holds."""

import pytest

from sundial.domain.agents import AgentSpec, AgentVariation
from sundial.domain.chains import ChainEdge, ChainEdgeType, ChainNode, ChainSpec
from sundial.service.chain_checks import (
    MAX_EDGES,
    MAX_NODES,
    NodeTargets,
    check_chain_references,
    check_chain_spec,
)
from sundial.service.validation import Violations


def _nodes(*names):
    return tuple(ChainNode(name=n, agent_id="agent_a", initial_message="m") for n in names)


def _edges(*pairs):
    return tuple(ChainEdge(from_node=a, to_node=b) for a, b in pairs)


def _violations(spec):
    violations = Violations()
    check_chain_spec(violations, spec)
    return {v.field: v.description for v in violations.items}


@pytest.mark.parametrize(
    ("pairs", "closing", "cycle"),
    [
        ([("a", "b"), ("b", "a")], 1, "b -> a -> b"),
        ([("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")], 3, "d -> a -> b -> c -> d"),
        # A diamond is no cycle; the edge back to its top is.
        ([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "a")], 4, "d -> a -> b -> d"),
        # Listed out of order: the first edge (in the list) that completes the loop is named.
        ([("c", "a"), ("b", "c"), ("a", "b")], 2, "a -> b -> c -> a"),
    ],
    ids=["two", "four", "diamond-back", "out-of-order"],
)
def test_the_edge_that_closes_a_cycle_is_named_with_the_cycle(pairs, closing, cycle):
    found = _violations(ChainSpec(nodes=_nodes("a", "b", "c", "d"), edges=_edges(*pairs)))
    assert found == {f"spec.edges[{closing}]": f"closes a cycle: {cycle}; a chain must be acyclic"}


def test_fan_out_fan_in_and_parallel_edges_of_different_types_are_a_dag():
    edges = (
        *_edges(("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")),
        ChainEdge(from_node="a", to_node="d", type=ChainEdgeType.ON_FAILURE),
        ChainEdge(from_node="a", to_node="d", type=ChainEdgeType.ON_COMPLETE),
    )
    assert _violations(ChainSpec(nodes=_nodes("a", "b", "c", "d"), edges=edges)) == {}


def test_unspecified_and_on_success_are_the_same_edge():
    edges = (
        ChainEdge(from_node="a", to_node="b"),
        ChainEdge(from_node="a", to_node="b", type=ChainEdgeType.ON_SUCCESS),
    )
    assert list(_violations(ChainSpec(nodes=_nodes("a", "b"), edges=edges))) == ["spec.edges[1]"]


def test_sizes_are_bounded():
    many = ChainSpec(nodes=_nodes(*(f"n{i}" for i in range(MAX_NODES + 1))))
    edges = ChainSpec(nodes=_nodes("a", "b"), edges=_edges(*[("a", "b")] * (MAX_EDGES + 1)))
    assert list(_violations(many)) == ["spec.nodes"]
    assert list(_violations(edges)) == ["spec.edges"]
    assert list(_violations(ChainSpec())) == ["spec.nodes"]


def test_mapping_expressions_compile_over_the_upstream_variables():
    edge = ChainEdge(
        from_node="a",
        to_node="b",
        output_mapping={"ok": "output.items.map(i, i.id)", "bad": "schedule.id"},
    )
    found = _violations(ChainSpec(nodes=_nodes("a", "b"), edges=(edge,)))
    assert list(found) == ["spec.edges[0].output_mapping[bad]"]
    assert "undeclared variable 'schedule'" in found["spec.edges[0].output_mapping[bad]"]


def test_references_are_checked_against_the_workspace():
    spec = ChainSpec(
        nodes=(
            ChainNode(name="a", agent_id="agent_a", initial_message="m", variation_id="fast"),
            ChainNode(name="b", schedule_id="sched_b", variation_id="slow"),
            ChainNode(name="c", schedule_id="sched_gone"),
            ChainNode(name="d", agent_id="agent_gone", initial_message="m"),
        )
    )
    agent = AgentSpec(variations=(AgentVariation(id="fast", name="fast", weight=1),))
    violations = Violations()
    check_chain_references(
        violations, spec, NodeTargets({"agent_a": agent}, {"sched_b": "agent_a"})
    )
    assert [v.field for v in violations.items] == [
        "spec.nodes[1].variation_id",
        "spec.nodes[2].schedule_id",
        "spec.nodes[3].agent_id",
    ]
