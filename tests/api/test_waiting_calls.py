"""Long-polling claims never starve other calls: the server keeps a thread for each call
that may run besides those of the claims that may wait, so with one running thread and two
claims waiting, other calls (gRPC and REST) are still answered, and past the waiting limit a
claim answers at once. (Were a waiting claim to hold the running thread, the second claim
would never start waiting, nor the Get be answered, before the first ends.)"""

import json
import threading
import time
import urllib.request

import grpc
import pytest
from google.protobuf import duration_pb2

from sundial.api.client import authorized_channel
from sundial.v1 import agent_service_pb2, agent_service_pb2_grpc, metadata_pb2
from sundial.v1 import objective_service_pb2 as ob
from sundial.v1 import objective_service_pb2_grpc as og
from tests.support.auth import ADMIN_SECRET
from tests.support.servers import running, server_settings

WAIT_SECONDS = 3


class WaitCounter:
    """How many claims are inside the notifier's wait now (a sync point, not a clock)."""

    def __init__(self, wait_for_objectives):
        self._wait = wait_for_objectives
        self._lock = threading.Lock()
        self.inside = 0

    def __call__(self, agent_id, timeout):
        with self._lock:
            self.inside += 1
        try:
            return self._wait(agent_id, timeout)
        finally:
            with self._lock:
                self.inside -= 1


@pytest.fixture
def crowded(database_url, clock, monkeypatch):
    """A server with one thread for running calls, and two for claims that wait."""
    settings = server_settings(
        database_url, max_workers=1, max_waiting_calls=2, http_address="127.0.0.1:0"
    )
    with (
        running(settings, clock) as server,
        authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel,
    ):
        counter = WaitCounter(server.notifier.wait_for_objectives)
        monkeypatch.setattr(server.notifier, "wait_for_objectives", counter)
        yield server, channel, counter


def test_waiting_claims_leave_room_for_other_calls_and_only_so_many_wait(crowded):
    server, channel, counter = crowded
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
    deadline = time.monotonic() + 30
    while counter.inside < 2:  # both are in their wait
        assert time.monotonic() < deadline, "the claims never both started waiting"
        time.sleep(0.01)

    # The running thread is free: gRPC and REST calls are answered while both wait.
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
    # A wait out of bounds is still refused, not cut to no wait.
    too_long = ob.ClaimObjectivesRequest()
    too_long.CopyFrom(claim)
    too_long.wait.seconds = 3600
    with pytest.raises(grpc.RpcError) as refused:
        objectives.ClaimObjectives(too_long)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert not any(future.done() for future in waiting)

    for future in waiting:
        assert list(future.result(timeout=60).objectives) == []
    assert counter.inside == 0
