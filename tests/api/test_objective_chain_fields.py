"""An objective names the chain run and node it works for (spec.chain_run_id, chain_node),
over gRPC and REST; a scheduled fire's objective names neither. ListObjectives filters on
chain_run_id."""

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote

import pytest
from google.protobuf import duration_pb2

from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import objective_pb2
from sundial.v1 import objective_service_pb2 as ob
from tests.api.schedule_requests import create_request, schedule_spec
from tests.api.test_chain_runs import Pipeline, edge
from tests.gateway.client import call
from tests.support.auth import AUTHORIZATION
from tests.support.servers import running, server_settings


@pytest.fixture
def server(database_url: str, clock: FakeClock) -> Iterator[SundialServer]:
    with running(server_settings(database_url, http_address="127.0.0.1:0"), clock) as instance:
        yield instance


@pytest.fixture
def pipeline(server, channel, objectives, workspace_id, agent):
    return Pipeline(server, channel, objectives, workspace_id, agent)


def _objectives(pipeline, filter_text=""):
    return pipeline.objectives.ListObjectives(
        ob.ListObjectivesRequest(
            workspace_id=pipeline.workspace_id, agent_id=pipeline.agent_id, filter=filter_text
        )
    ).objectives


def _rest_get(server, path):
    reply = call(server.http_port, "GET", path, headers={"Authorization": AUTHORIZATION})
    assert reply.status == 200, reply.body
    return reply.json()


def test_a_chain_nodes_objective_names_its_run_and_node_and_a_fire_names_neither(
    pipeline, server, schedules, clock
):
    chain_id = pipeline.create(["fetch", "store"], [edge("fetch", "store")])
    run = pipeline.trigger(chain_id)
    pipeline.complete(pipeline.claim()["fetch"])
    every_minute = sp.AgentScheduleSpecSchedule(
        intervals=[sp.ScheduleInterval(every=duration_pb2.Duration(seconds=60))]
    )
    schedules.CreateAgentSchedule(
        create_request(
            pipeline.workspace_id, pipeline.agent_id, spec=schedule_spec(schedule=every_minute)
        )
    )
    clock.advance(timedelta(minutes=1))
    server.engine.run_pass()

    listed = _objectives(pipeline)
    assert len(listed) == 3  # fetch, store (made ready by fetch's end) and the fire
    fired = next(o for o in listed if o.spec.schedule_id)
    assert fired.spec.trigger_kind == objective_pb2.TRIGGER_KIND_SCHEDULED
    assert (fired.spec.chain_run_id, fired.spec.chain_node) == ("", "")
    nodes = {o.spec.chain_node: o for o in listed if o.spec.chain_run_id}
    assert set(nodes) == {"fetch", "store"}
    assert {o.spec.chain_run_id for o in nodes.values()} == {run.metadata.id}
    got = pipeline.objectives.GetObjective(
        ob.GetObjectiveRequest(
            workspace_id=pipeline.workspace_id,
            agent_id=pipeline.agent_id,
            objective_id=nodes["store"].metadata.id,
        )
    )
    assert (got.spec.chain_run_id, got.spec.chain_node) == (run.metadata.id, "store")

    base = f"/v1/workspaces/{pipeline.workspace_id}/agents/{pipeline.agent_id}/objectives"
    rest_node = _rest_get(server, f"{base}/{nodes['fetch'].metadata.id}")
    assert rest_node["spec"]["chainRunId"] == run.metadata.id
    assert rest_node["spec"]["chainNode"] == "fetch"
    rest_fire = _rest_get(server, f"{base}/{fired.metadata.id}")
    assert "chainRunId" not in rest_fire["spec"]
    assert "chainNode" not in rest_fire["spec"]


def test_list_objectives_filters_on_chain_run_id(pipeline, server):
    chain_id = pipeline.create(["only"], overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    first, second = pipeline.trigger(chain_id), pipeline.trigger(chain_id)
    for run in (first, second):
        [found] = _objectives(pipeline, f'chain_run_id = "{run.metadata.id}"')
        assert (found.spec.chain_run_id, found.spec.chain_node) == (run.metadata.id, "only")
    others = _objectives(pipeline, f"chain_run_id != {first.metadata.id}")
    assert [o.spec.chain_run_id for o in others] == [second.metadata.id]

    base = f"/v1/workspaces/{pipeline.workspace_id}/agents/{pipeline.agent_id}/objectives"
    text = quote(f'chain_run_id = "{second.metadata.id}"')
    rest = _rest_get(server, f"{base}?filter={text}")["objectives"]
    assert [o["spec"]["chainRunId"] for o in rest] == [second.metadata.id]
