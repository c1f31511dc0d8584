"""Long-polling claims hold no running place while they wait: with one call running at a
time and claims waiting, other calls (gRPC and REST) are still answered, and past the waiting
limit a claim answers at once."""

import json
import time
import urllib.request

import pytest
from google.protobuf import duration_pb2

from sundial.api.client import authorized_channel
from sundial.v1 import agent_service_pb2, agent_service_pb2_grpc, metadata_pb2
from sundial.v1 import objective_service_pb2 as ob
from sundial.v1 import objective_service_pb2_grpc as og
from tests.support.auth import ADMIN_SECRET
from tests.support.servers import running, server_settings

WAIT_SECONDS = 3


@pytest.fixture
def crowded(database_url, clock):
    """A server that runs one call at a time, and lets two claims wait."""
    settings = server_settings(
        database_url, max_workers=1, max_waiting_calls=2, http_address="127.0.0.1:0"
    )
    with (
        running(settings, clock) as server,
        authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel,
    ):
        yield server, channel


def test_waiting_claims_leave_room_for_other_calls_and_only_so_many_wait(crowded):
    server, channel = crowded
    workspace_id = server.bootstrap.default_workspace.id
    agents = agent_service_pb2_grpc.AgentServiceStub(channel)
    agent = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name="a")
        )
    )
    objectives = og.ObjectiveServiceStub(channel)
    claim = ob.ClaimObjectivesRequest(
        workspace_id=workspace_id,
        agent_id=agent.metadata.id,
        worker_id="w",
        wait=duration_pb2.Duration(seconds=WAIT_SECONDS),
    )
    waiting = [objectives.ClaimObjectives.future(claim) for _ in range(2)]
    slots = server.objectives._slots
    deadline = time.monotonic() + 30
    while slots.waiting_calls < 2:  # both are in their wait (no clock involved: a sync point)
        assert time.monotonic() < deadline, "the claims never started waiting"
        time.sleep(0.01)

    # The one running place is free: gRPC and REST calls are answered while both wait.
    got = agents.GetAgent(
        agent_service_pb2.GetAgentRequest(workspace_id=workspace_id, agent_id=agent.metadata.id)
    )
    assert got.metadata.id == agent.metadata.id
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.http_port}/v1/workspaces/{workspace_id}/agents",
        headers={"Authorization": f"Bearer {ADMIN_SECRET}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["agents"][0]["metadata"]["id"] == agent.metadata.id
    # A third claim may not wait: it answers at once, with nothing pending.
    assert list(objectives.ClaimObjectives(claim).objectives) == []
    assert not any(future.done() for future in waiting)

    for future in waiting:
        assert list(future.result(timeout=60).objectives) == []
    assert slots.waiting_calls == 0
