"""Chain runs through a real server: TriggerChain, workers claiming and ending the nodes'
objectives over the ObjectiveService API, Get/List/CancelChainRun, a schedule that fires a
chain, and the chain run events. The run rules are in tests/integration/service."""

from datetime import timedelta

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2

from sundial.domain.webhooks import EventType, WebhookSpec
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import chain_pb2 as cp
from sundial.v1 import chain_service_pb2 as pb
from sundial.v1 import chain_service_pb2_grpc, metadata_pb2
from sundial.v1 import objective_service_pb2 as ob
from tests.api.schedule_requests import create_request, schedule_spec
from tests.support.chains import fire_chain_from
from tests.support.rpc import failure_of
from tests.support.webhook_rows import add_webhook, delivery_rows

N = cp.ChainNodeStatus
R = cp.ChainRunStatus
WORKER = "w1"


class Pipeline:
    """One agent's chains, triggered by hand, and a worker that knows each node's
    objective by its initial message (`do <node>`)."""

    def __init__(self, server, channel, objectives, workspace_id, agent):
        self.server, self.objectives = server, objectives
        self.chains = chain_service_pb2_grpc.ChainServiceStub(channel)
        self.workspace_id, self.agent_id = workspace_id, agent.metadata.id

    def create(self, nodes, edges=(), **spec):
        chain = self.chains.CreateChain(
            pb.CreateChainRequest(
                workspace_id=self.workspace_id,
                metadata=metadata_pb2.CreateResourceMetadata(name="pipeline"),
                spec=cp.ChainSpec(
                    nodes=[
                        cp.ChainNode(name=n, agent_id=self.agent_id, initial_message=f"do {n}")
                        for n in nodes
                    ],
                    edges=list(edges),
                    **spec,
                ),
            )
        )
        return chain.metadata.id

    def trigger(self, chain_id, **fields):
        return self.chains.TriggerChain(
            pb.TriggerChainRequest(workspace_id=self.workspace_id, chain_id=chain_id, **fields)
        )

    def get(self, run):
        return self.chains.GetChainRun(
            pb.GetChainRunRequest(
                workspace_id=self.workspace_id, chain_id=run.spec.chain_id, run_id=run.metadata.id
            )
        )

    def claim(self):
        """Every pending objective, by node name."""
        claimed = self.objectives.ClaimObjectives(
            ob.ClaimObjectivesRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                worker_id=WORKER,
                max_objectives=100,
            )
        ).objectives
        return {o.spec.initial_message.removeprefix("do "): o for o in claimed}

    def complete(self, objective, **output):
        request = ob.CompleteObjectiveRequest(**self._ids(objective))
        if output:
            request.output.struct_value.update(output)
        self.objectives.CompleteObjective(request)

    def fail(self, objective):
        self.objectives.FailObjective(ob.FailObjectiveRequest(**self._ids(objective), error="x"))

    def _ids(self, objective):
        return {
            "workspace_id": self.workspace_id,
            "agent_id": self.agent_id,
            "objective_id": objective.metadata.id,
            "worker_id": WORKER,
        }


def statuses(run):
    return {node.name: node.status for node in run.info.nodes}


def edge(a, b, kind=cp.CHAIN_EDGE_TYPE_ON_SUCCESS, **fields):
    return cp.ChainEdge(from_node=a, to_node=b, type=kind, **fields)


@pytest.fixture
def pipeline(server, channel, objectives, workspace_id, agent):
    return Pipeline(server, channel, objectives, workspace_id, agent)


def test_a_pipeline_runs_its_branches_joins_and_maps_outputs(pipeline):
    """fetch fans out to parse and count; both join into store (fan-in) with mapped
    fields; a false condition prunes `alert`; fetch's on_complete `log` runs too; the
    on_failure `retry_later` of store is skipped once store succeeded."""
    chain_id = pipeline.create(
        ["fetch", "parse", "count", "store", "alert", "log", "retry_later"],
        [
            edge("fetch", "parse", output_mapping={"rows": "output.rows"}),
            edge("fetch", "count"),
            edge("fetch", "alert", condition="output.rows > 100.0"),
            edge("fetch", "log", cp.CHAIN_EDGE_TYPE_ON_COMPLETE),
            edge("parse", "store", output_mapping={"parsed": "output.ok"}),
            edge("count", "store", output_mapping={"total": "output.total"}),
            edge("store", "retry_later", cp.CHAIN_EDGE_TYPE_ON_FAILURE),
        ],
    )
    data = struct_pb2.Value()
    data.struct_value.update({"day": "2026-03-02"})
    run = pipeline.trigger(chain_id, data=data)
    assert run.info.status == R.CHAIN_RUN_STATUS_RUNNING
    assert statuses(run)["fetch"] == N.CHAIN_NODE_STATUS_RUNNING
    [fetch] = pipeline.claim().values()
    assert dict(fetch.spec.data.struct_value) == {"day": "2026-03-02"}
    pipeline.complete(fetch, rows=12)

    branches = pipeline.claim()
    assert sorted(branches) == ["count", "log", "parse"]
    assert dict(branches["parse"].spec.data.struct_value) == {"rows": 12}
    assert statuses(pipeline.get(run))["alert"] == N.CHAIN_NODE_STATUS_SKIPPED
    pipeline.complete(branches["parse"], ok=True)
    assert pipeline.claim() == {}  # store waits for count
    pipeline.complete(branches["count"], total=3)
    pipeline.complete(branches["log"])
    [store] = pipeline.claim().values()
    assert dict(store.spec.data.struct_value) == {"parsed": True, "total": 3}
    pipeline.complete(store)

    ended = pipeline.get(run)
    assert ended.info.status == R.CHAIN_RUN_STATUS_SUCCEEDED
    assert statuses(ended)["retry_later"] == N.CHAIN_NODE_STATUS_SKIPPED
    assert all(
        len(n.objective_ids) == 1
        for n in ended.info.nodes
        if n.name not in ("alert", "retry_later")
    )


def test_an_on_failure_branch_runs_when_its_upstream_fails(pipeline):
    chain_id = pipeline.create(
        ["work", "next", "cleanup"],
        [edge("work", "next"), edge("work", "cleanup", cp.CHAIN_EDGE_TYPE_ON_FAILURE)],
    )
    run = pipeline.trigger(chain_id)
    pipeline.fail(pipeline.claim()["work"])
    assert list(pipeline.claim()) == ["cleanup"]
    assert statuses(pipeline.get(run))["next"] == N.CHAIN_NODE_STATUS_SKIPPED


def test_cancel_mid_run_reaches_the_running_objectives(pipeline):
    chain_id = pipeline.create(["a", "b"], [edge("a", "b")])
    run = pipeline.trigger(chain_id)
    [a] = pipeline.claim().values()
    cancelled = pipeline.chains.CancelChainRun(
        pb.CancelChainRunRequest(
            workspace_id=pipeline.workspace_id,
            chain_id=chain_id,
            run_id=run.metadata.id,
            reason="wrong day",
        )
    )
    assert cancelled.info.status == R.CHAIN_RUN_STATUS_CANCELLED
    assert statuses(cancelled) == {
        "a": N.CHAIN_NODE_STATUS_CANCELLED,
        "b": N.CHAIN_NODE_STATUS_CANCELLED,
    }
    with pytest.raises(grpc.RpcError) as caught:
        pipeline.complete(a)
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert pipeline.claim() == {}


def test_trigger_is_idempotent_by_request_id_and_skip_refuses_a_second_run(pipeline):
    chain_id = pipeline.create(["a"])
    first = pipeline.trigger(chain_id, request_id="r-1")
    assert pipeline.trigger(chain_id, request_id="r-1").metadata.id == first.metadata.id
    with pytest.raises(grpc.RpcError) as caught:
        pipeline.trigger(chain_id, request_id="r-2")
    assert failure_of(caught.value).code is grpc.StatusCode.FAILED_PRECONDITION
    assert len(pipeline.claim()) == 1
    listed = pipeline.chains.ListChainRuns(
        pb.ListChainRunsRequest(workspace_id=pipeline.workspace_id, chain_id=chain_id)
    )
    assert [r.metadata.id for r in listed.runs] == [first.metadata.id]


def test_a_schedule_fires_its_chain_and_the_run_announces_itself(
    pipeline, server, schedules, clock
):
    add_webhook(
        server.database,
        server.bootstrap.principal,
        pipeline.workspace_id,
        WebhookSpec(
            url="https://example.com/hook",
            event_types=(EventType.CHAIN_RUN_STARTED, EventType.CHAIN_RUN_SUCCEEDED),
        ),
        now=clock.now(),
    )
    chain_id = pipeline.create(["a", "b"], [edge("a", "b")])
    every_minute = sp.AgentScheduleSpecSchedule(
        intervals=[sp.ScheduleInterval(every=duration_pb2.Duration(seconds=60))]
    )
    schedule = schedules.CreateAgentSchedule(
        create_request(
            pipeline.workspace_id, pipeline.agent_id, spec=schedule_spec(schedule=every_minute)
        )
    )
    fire_chain_from(server.database, schedule.metadata.id, chain_id)
    clock.advance(timedelta(minutes=1))
    server.engine.run_pass()

    [run] = pipeline.chains.ListChainRuns(
        pb.ListChainRunsRequest(workspace_id=pipeline.workspace_id, chain_id="-")
    ).runs
    assert run.spec.trigger_kind == cp.CHAIN_TRIGGER_KIND_SCHEDULED
    assert run.spec.schedule_id == schedule.metadata.id
    pipeline.complete(pipeline.claim()["a"])
    pipeline.complete(pipeline.claim()["b"])
    assert pipeline.get(run).info.status == R.CHAIN_RUN_STATUS_SUCCEEDED
    events = sorted(row.body["type"] for row in delivery_rows(server.database))
    assert events == ["chain_run.started", "chain_run.succeeded"]


def test_a_schedule_names_a_chain_of_its_workspace_or_is_refused(pipeline, schedules):
    chain_id = pipeline.create(["a"], [])
    made = schedules.CreateAgentSchedule(
        create_request(
            pipeline.workspace_id, pipeline.agent_id, spec=schedule_spec(chain_id=chain_id)
        )
    )
    assert made.spec.chain_id == chain_id
    missing = "chain_01M8Y9SVFM19Y33ABKJC98568W"
    with pytest.raises(grpc.RpcError) as refused:
        schedules.CreateAgentSchedule(
            create_request(
                pipeline.workspace_id, pipeline.agent_id, spec=schedule_spec(chain_id=missing)
            )
        )
    failure = failure_of(refused.value)
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.violations == {"spec.chain_id": f"the workspace has no chain {missing!r}"}
