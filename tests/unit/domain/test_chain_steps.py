"""The chain run rules, pure: which edges an end fires, the join, skips that cascade, output
mappings, and how a run ends."""

import pytest

from sundial.domain.chain_steps import (
    StepEdge,
    StepNode,
    map_output,
    next_steps,
    node_status_of,
    resolve_edges,
    run_outcome,
)
from sundial.domain.chains import CONDITION_VARIABLES, ChainEdgeType, ChainNodeStatus
from sundial.domain.chains import ChainRunStatus as Run
from sundial.domain.conditions import compile_condition
from sundial.domain.objectives import ObjectiveStatus as O

W, R = ChainNodeStatus.WAITING, ChainNodeStatus.RUNNING
OK, FAIL, DONE = ChainEdgeType.ON_SUCCESS, ChainEdgeType.ON_FAILURE, ChainEdgeType.ON_COMPLETE


def cel(text):
    return compile_condition(text, "condition", CONDITION_VARIABLES)


def ended(status, *fired, output=None):
    return StepNode(
        status=node_status_of(status), ended_as=status, output=output, fired=frozenset(fired)
    )


@pytest.mark.parametrize(
    ("kind", "status", "fires"),
    [
        (OK, O.SUCCEEDED, True),
        (OK, O.FAILED, False),
        (FAIL, O.FAILED, True),
        (FAIL, O.TIMED_OUT, True),
        (FAIL, O.CANCELLED, True),
        (FAIL, O.SUCCEEDED, False),
        (DONE, O.SUCCEEDED, True),
        (DONE, O.TIMED_OUT, True),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_an_edge_fires_on_the_ends_its_type_accepts(kind, status, fires):
    resolution = resolve_edges([StepEdge("a", "b", kind)], "a", status, None, {})
    assert resolution.fired == ({"b"} if fires else set())


@pytest.mark.parametrize(
    ("condition", "fired", "error"),
    [
        ("output.n > 1.0", {"b"}, False),
        ("output.n > 5.0", set(), False),
        ("output.x > 1.0", set(), True),
    ],
    ids=["true", "false", "error"],
)
def test_a_condition_decides_and_an_error_does_not_fire(condition, fired, error):
    edges = [StepEdge("a", "b", OK, cel(condition))]
    resolution = resolve_edges(edges, "a", O.SUCCEEDED, {"n": 2}, {})
    assert resolution.fired == fired
    assert ("b" in resolution.errors) is error


def test_roots_start_with_their_data_and_the_rest_wait():
    nodes = {"a": {"x": 1}, "b": {}}
    steps = next_steps(nodes, [StepEdge("a", "b")], {"a": StepNode(), "b": StepNode()})
    assert (steps.start, steps.skip, steps.status) == ({"a": {"x": 1}}, [], Run.RUNNING)


def test_a_fan_in_waits_for_every_incoming_edge_and_needs_one_fired():
    nodes = {"a": {}, "b": {}, "c": {}}
    edges = [StepEdge("a", "c"), StepEdge("b", "c")]
    waiting = next_steps(nodes, edges, {"a": ended(O.SUCCEEDED, "c"), "b": StepNode(status=R)})
    assert waiting.start == {}
    one_fired = next_steps(nodes, edges, {"a": ended(O.SUCCEEDED, "c"), "b": ended(O.FAILED)})
    assert list(one_fired.start) == ["c"]


def test_a_skip_cascades_and_the_run_ends():
    nodes = {"a": {}, "b": {}, "c": {}, "d": {}}
    edges = [StepEdge("a", "b"), StepEdge("b", "c"), StepEdge("a", "d", FAIL)]
    steps = next_steps(nodes, edges, {"a": ended(O.FAILED, "d"), "d": ended(O.SUCCEEDED)})
    assert steps.skip == ["b", "c"]
    assert steps.status is Run.SUCCEEDED  # a's failure was handled by d


@pytest.mark.parametrize(
    ("states", "outcome"),
    [
        ({"a": ended(O.SUCCEEDED)}, Run.SUCCEEDED),
        ({"a": ended(O.FAILED)}, Run.FAILED),
        ({"a": ended(O.CANCELLED)}, Run.FAILED),
        ({"a": ended(O.FAILED, "h"), "h": ended(O.SUCCEEDED)}, Run.SUCCEEDED),
    ],
    ids=["succeeded", "unhandled-failure", "unhandled-cancel", "handled"],
)
def test_a_run_fails_only_for_an_unhandled_failure(states, outcome):
    assert run_outcome(states) is outcome


def test_mappings_apply_in_edge_order_over_the_nodes_data_and_errors_are_kept():
    nodes = {"a": {}, "b": {}, "c": {"own": 1, "k": 0}}
    edges = [
        StepEdge("a", "c", output_mapping={"k": cel("output.v"), "bad": cel("output.nope")}),
        StepEdge("b", "c", output_mapping={"k": cel('"from b"')}),
    ]
    states = {"a": ended(O.SUCCEEDED, "c", output={"v": 7}), "b": ended(O.SUCCEEDED, "c")}
    steps = next_steps(nodes, edges, states)
    assert steps.start == {"c": {"own": 1, "k": "from b"}}
    assert "bad" in steps.errors["c"]


def test_a_mapping_sees_status_and_data():
    edge = StepEdge("a", "b", DONE, output_mapping={"s": cel("status"), "d": cel("data.q")})
    node = StepNode(status=ChainNodeStatus.FAILED, ended_as=O.TIMED_OUT, data={"q": "x"})
    assert map_output(edge, node) == ({"s": "TIMED_OUT", "d": "x"}, "")
