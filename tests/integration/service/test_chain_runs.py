"""Chain runs on real databases: each objective's final end starts exactly the nodes it makes
ready, in its own transaction (linear, fan-out, fan-in, failure branches, conditions, output
mappings), and triggers, schedules, overlap, retries and cancel behave as the README says."""

from datetime import timedelta
from typing import Any

import pytest

from sundial.domain.chains import (
    ChainEdge,
    ChainEdgeType,
    ChainNode,
    ChainNodeStatus,
    ChainRun,
    ChainRunStatus,
    ChainSpec,
    ChainTriggerKind,
)
from sundial.domain.errors import FailedPreconditionError
from sundial.domain.metadata import MetadataInput
from sundial.domain.objectives import Objective, ObjectiveStatus
from sundial.domain.schedules import OverlapPolicy, RetryPolicy
from sundial.service.chain_runs import ChainRunService
from sundial.service.chains import ChainService
from sundial.service.firing import FiringService
from sundial.service.notifier import Notifier
from sundial.service.objectives import ObjectiveService
from sundial.service.pagination import PageRequest
from sundial.store.unit_of_work import UnitOfWork
from tests.support.tenants import MINUTE, Tenant

WORKER = "worker-1"
OK, FAIL, DONE = ChainEdgeType.ON_SUCCESS, ChainEdgeType.ON_FAILURE, ChainEdgeType.ON_COMPLETE


class Harness:
    """A tenant with the chain services and a worker that claims and ends objectives."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        notifier = Notifier()
        self.objectives = ObjectiveService(tenant.database, tenant.clock, notifier)
        self.chains = ChainService(tenant.database, tenant.clock)
        self.runs = ChainRunService(tenant.database, tenant.clock, notifier)

    def chain(self, *nodes: str, edges: tuple[ChainEdge, ...] = (), **spec: Any) -> str:
        chain = self.chains.create(
            self.tenant.principal,
            self.tenant.workspace_id,
            MetadataInput(name="c"),
            ChainSpec(
                nodes=tuple(
                    ChainNode(
                        name=n,
                        agent_id=self.tenant.agent_id,
                        initial_message=f"do {n}",
                        data={"node": n},
                    )
                    for n in nodes
                ),
                edges=edges,
                **spec,
            ),
        )
        return chain.metadata.id

    def trigger(self, chain_id: str, **options: Any) -> ChainRun:
        return self.runs.trigger(
            self.tenant.principal, self.tenant.workspace_id, chain_id, **options
        )

    def run(self, run: ChainRun) -> ChainRun:
        return self.runs.get(
            self.tenant.principal, self.tenant.workspace_id, run.spec.chain_id, run.metadata.id
        )

    def claim(self) -> dict[str, Objective]:
        """Every pending objective, leased to WORKER, by node name."""
        claimed = self.objectives.claim(
            self.tenant.principal,
            self.tenant.workspace_id,
            self.tenant.agent_id,
            worker_id=WORKER,
            max_objectives=100,
        )
        return {o.spec.chain_node: o for o in claimed}

    def complete(self, objective: Objective, output: Any = None) -> None:
        self.objectives.complete(*self._ids(objective), worker_id=WORKER, output=output)

    def fail(self, objective: Objective, *, retryable: bool = False) -> None:
        self.objectives.fail(
            *self._ids(objective), worker_id=WORKER, error="boom", retryable=retryable
        )

    def _ids(self, objective: Objective) -> tuple[Any, ...]:
        t = self.tenant
        return (t.principal, t.workspace_id, t.agent_id, objective.metadata.id)


def statuses(run: ChainRun) -> dict[str, ChainNodeStatus]:
    return {node.name: node.status for node in run.info.nodes}


def objective_count(tenant: Tenant, run: ChainRun) -> dict[str, int]:
    with UnitOfWork(tenant.database, write=False) as uow:
        found = uow.objectives.of_chain_run(run.metadata.id).values()
    counts: dict[str, int] = {}
    for objective in found:
        counts[objective.spec.chain_node] = counts.get(objective.spec.chain_node, 0) + 1
    return counts


@pytest.fixture
def harness(tenant: Tenant) -> Harness:
    return Harness(tenant)


def edge(a: str, b: str, kind: ChainEdgeType = OK, **options: Any) -> ChainEdge:
    return ChainEdge(from_node=a, to_node=b, type=kind, **options)


def test_a_linear_chain_runs_each_node_after_the_one_before(harness):
    chain_id = harness.chain("a", "b", "c", edges=(edge("a", "b"), edge("b", "c")))
    run = harness.trigger(chain_id)
    assert run.info.status is ChainRunStatus.RUNNING
    assert run.spec.trigger_kind is ChainTriggerKind.MANUAL
    assert statuses(run) == {
        "a": ChainNodeStatus.RUNNING,
        "b": ChainNodeStatus.WAITING,
        "c": ChainNodeStatus.WAITING,
    }
    for name in ("a", "b", "c"):
        claimed = harness.claim()
        assert list(claimed) == [name]
        assert claimed[name].spec.initial_message == f"do {name}"
        assert claimed[name].spec.chain_run_id == run.metadata.id
        harness.complete(claimed[name], {"done": name})
    ended = harness.run(run)
    assert ended.info.status is ChainRunStatus.SUCCEEDED
    assert ended.info.ended_at is not None
    assert set(statuses(ended).values()) == {ChainNodeStatus.SUCCEEDED}
    assert objective_count(harness.tenant, run) == {"a": 1, "b": 1, "c": 1}


def test_fan_out_starts_both_branches_and_fan_in_waits_for_both(harness):
    chain_id = harness.chain(
        "a",
        "b",
        "c",
        "d",
        edges=(edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d")),
    )
    run = harness.trigger(chain_id)
    harness.complete(harness.claim()["a"])
    branches = harness.claim()
    assert sorted(branches) == ["b", "c"]
    harness.complete(branches["b"])
    assert harness.claim() == {}
    assert statuses(harness.run(run))["d"] is ChainNodeStatus.WAITING
    harness.complete(branches["c"])
    harness.complete(harness.claim()["d"])
    assert harness.run(run).info.status is ChainRunStatus.SUCCEEDED
    assert objective_count(harness.tenant, run) == {"a": 1, "b": 1, "c": 1, "d": 1}


def test_an_on_failure_branch_handles_the_failure_and_the_success_branch_is_skipped(harness):
    chain_id = harness.chain(
        "a",
        "next",
        "after",
        "cleanup",
        edges=(edge("a", "next"), edge("next", "after"), edge("a", "cleanup", FAIL)),
    )
    run = harness.trigger(chain_id)
    harness.fail(harness.claim()["a"])
    skipped = harness.run(run)
    assert statuses(skipped)["next"] is ChainNodeStatus.SKIPPED
    assert statuses(skipped)["after"] is ChainNodeStatus.SKIPPED  # skips cascade
    harness.complete(harness.claim()["cleanup"])
    ended = harness.run(run)
    assert statuses(ended)["a"] is ChainNodeStatus.FAILED
    assert ended.info.status is ChainRunStatus.SUCCEEDED  # the failure was handled
    assert objective_count(harness.tenant, run) == {"a": 1, "cleanup": 1}


def test_a_failure_nothing_handles_fails_the_run(harness):
    chain_id = harness.chain("a", "b", edges=(edge("a", "b"),))
    run = harness.trigger(chain_id)
    harness.fail(harness.claim()["a"])
    ended = harness.run(run)
    assert ended.info.status is ChainRunStatus.FAILED
    assert statuses(ended) == {"a": ChainNodeStatus.FAILED, "b": ChainNodeStatus.SKIPPED}


@pytest.mark.parametrize("fails", [False, True], ids=["after-success", "after-failure"])
def test_an_on_complete_edge_fires_whatever_the_end(harness, fails):
    chain_id = harness.chain("a", "report", edges=(edge("a", "report", DONE),))
    run = harness.trigger(chain_id)
    upstream = harness.claim()["a"]
    harness.fail(upstream) if fails else harness.complete(upstream)
    harness.complete(harness.claim()["report"])
    assert harness.run(run).info.status is ChainRunStatus.SUCCEEDED


def test_a_false_condition_prunes_its_branch(harness):
    chain_id = harness.chain(
        "a",
        "big",
        "small",
        edges=(
            edge("a", "big", condition="output.n > 5.0"),
            edge("a", "small", condition="output.n <= 5.0"),
        ),
    )
    run = harness.trigger(chain_id)
    harness.complete(harness.claim()["a"], {"n": 2})
    assert list(harness.claim()) == ["small"]
    assert statuses(harness.run(run))["big"] is ChainNodeStatus.SKIPPED


def test_a_condition_or_mapping_that_errors_is_kept_on_the_node(harness):
    chain_id = harness.chain(
        "a",
        "b",
        "c",
        edges=(
            edge("a", "b", condition="output.missing > 1.0"),
            edge("a", "c", output_mapping={"x": "output.missing", "n": "output.n"}),
        ),
    )
    run = harness.trigger(chain_id)
    harness.complete(harness.claim()["a"], {"n": 2})
    ended = harness.run(run)
    b, c = ended.info.nodes[1:]
    assert b.status is ChainNodeStatus.SKIPPED  # an undecided condition does not fire
    assert "edge a -> b" in b.error
    assert "missing" in b.error
    assert "output_mapping 'x'" in c.error
    assert harness.claim()["c"].spec.data == {"node": "c", "n": 2}  # x left out, not null
    assert ended.info.nodes[0].error == ""


def test_output_mappings_set_downstream_data_fields_in_edge_order(harness):
    chain_id = harness.chain(
        "a",
        "b",
        "c",
        edges=(
            edge("a", "c", output_mapping={"summary": "output.summary", "from": '"a"'}),
            edge("b", "c", output_mapping={"from": '"b"', "count": "size(output.items)"}),
        ),
    )
    harness.trigger(chain_id, data={"batch": 7})
    roots = harness.claim()
    assert roots["a"].spec.data == {"node": "a", "batch": 7}  # the trigger's data on roots
    harness.complete(roots["a"], {"summary": "short"})
    harness.complete(roots["b"], {"items": [1, 2, 3]})
    assert harness.claim()["c"].spec.data == {
        "node": "c",
        "summary": "short",
        "from": "b",
        "count": 3,
    }


def test_cancel_mid_run_cancels_the_running_objectives_and_starts_nothing(harness):
    chain_id = harness.chain("a", "b", "c", edges=(edge("a", "c"), edge("b", "c", FAIL)))
    run = harness.trigger(chain_id)
    roots = harness.claim()
    harness.complete(roots["a"])
    t = harness.tenant
    cancelled = harness.runs.cancel(
        t.principal, t.workspace_id, chain_id, run.metadata.id, reason="stop"
    )
    assert cancelled.info.status is ChainRunStatus.CANCELLED
    assert statuses(cancelled) == {
        "a": ChainNodeStatus.SUCCEEDED,
        "b": ChainNodeStatus.CANCELLED,
        "c": ChainNodeStatus.CANCELLED,
    }
    objective = harness.objectives.get(*harness._ids(roots["b"])[:3], roots["b"].metadata.id)
    assert objective.info.status is ObjectiveStatus.CANCELLED
    with pytest.raises(FailedPreconditionError):
        harness.complete(roots["b"])
    assert harness.claim() == {}
    with pytest.raises(FailedPreconditionError):
        harness.runs.cancel(t.principal, t.workspace_id, chain_id, run.metadata.id)


def test_a_trigger_with_a_request_id_starts_one_run(harness):
    chain_id = harness.chain("a", overlap_policy=OverlapPolicy.ALLOW)
    first = harness.trigger(chain_id, request_id="once")
    again = harness.trigger(chain_id, request_id="once")
    assert again.metadata.id == first.metadata.id
    assert list(harness.claim()) == ["a"]
    assert harness.trigger(chain_id).metadata.id != first.metadata.id  # ALLOW: a second run


def test_skip_refuses_a_trigger_while_a_run_is_running(harness):
    chain_id = harness.chain("a")
    harness.trigger(chain_id)
    with pytest.raises(FailedPreconditionError) as raised:
        harness.trigger(chain_id)
    assert raised.value.reason == "TRIGGER_SKIPPED"
    harness.complete(harness.claim()["a"])
    assert harness.trigger(chain_id).info.status is ChainRunStatus.RUNNING


def test_a_schedule_that_names_a_chain_starts_a_run_per_fire(harness):
    t = harness.tenant
    chain_id = harness.chain("a", "b", edges=(edge("a", "b"),))
    schedule_id = t.schedule(chain_id=chain_id)
    t.clock.advance(MINUTE)
    FiringService(t.database, t.clock).fire_due()
    page = harness.runs.list(t.principal, t.workspace_id, chain_id, PageRequest())
    [run] = page.items
    assert (run.spec.trigger_kind, run.spec.schedule_id) == (
        ChainTriggerKind.SCHEDULED,
        schedule_id,
    )
    claimed = harness.claim()
    assert list(claimed) == ["a"]
    assert claimed["a"].spec.schedule_id == ""  # not one of the schedule's own objectives
    t.clock.advance(MINUTE)
    FiringService(t.database, t.clock).fire_due()  # SKIP: the first run is still running
    assert len(harness.runs.list(t.principal, t.workspace_id, chain_id, PageRequest()).items) == 1
    schedule = t.schedules.get(t.principal, t.workspace_id, t.agent_id, schedule_id)
    assert (schedule.info.skipped_fires, schedule.info.total_fires) == (1, 1)
    assert "still running" in schedule.info.last_skip_reason


def test_cancel_other_cancels_the_running_run_before_starting(harness):
    chain_id = harness.chain("a", overlap_policy=OverlapPolicy.CANCEL_OTHER)
    first = harness.trigger(chain_id)
    second = harness.trigger(chain_id)
    assert harness.run(first).info.status is ChainRunStatus.CANCELLED
    assert harness.run(second).info.status is ChainRunStatus.RUNNING
    [objective] = harness.claim().values()
    assert objective.spec.chain_run_id == second.metadata.id


def test_a_retried_objective_stays_its_node_and_only_its_last_end_resolves(harness):
    t = harness.tenant
    schedule_id = t.schedule(retry_policy=RetryPolicy(max_attempts=2))
    chain = harness.chains.create(
        t.principal,
        t.workspace_id,
        MetadataInput(name="retrying"),
        ChainSpec(
            nodes=(
                ChainNode(name="a", schedule_id=schedule_id),
                ChainNode(name="b", agent_id=t.agent_id, initial_message="b"),
            ),
            edges=(edge("a", "b", FAIL),),
        ),
    )
    run = harness.trigger(chain.metadata.id)
    first = harness.claim()["a"]
    assert first.spec.initial_message == "hello"  # the schedule's
    harness.fail(first, retryable=True)
    assert statuses(harness.run(run))["a"] is ChainNodeStatus.RUNNING
    t.clock.advance(timedelta(hours=1))
    second = harness.claim()["a"]
    assert second.info.attempt == 2
    harness.fail(second, retryable=True)
    ended = harness.run(run)
    node = ended.info.nodes[0]
    assert node.objective_ids == (first.metadata.id, second.metadata.id)
    assert node.status is ChainNodeStatus.FAILED
    assert list(harness.claim()) == ["b"]
