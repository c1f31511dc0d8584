"""The gRPC server's own limits: when every thread is busy, calls queue for one (up to
`max_queued_calls`) and are answered in turn; past that, grpcio refuses them at once with
RESOURCE_EXHAUSTED instead of queueing without bound."""

import threading

import grpc
import pytest

from sundial.api.client import authorized_channel
from sundial.v1 import agent_service_pb2, agent_service_pb2_grpc
from tests.support.auth import ADMIN_SECRET
from tests.support.servers import running, server_settings


class Blocked:
    """Stands in for a use case: holds its call's thread until released."""

    def __init__(self, real):
        self._real = real
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        self.entered.set()
        assert self.release.wait(60), "never released"
        return self._real(*args, **kwargs)


def test_calls_past_the_threads_queue_and_past_the_queue_are_refused(
    database_url, clock, monkeypatch
):
    # One thread, no waiting claims, room for one queued call: two calls at once in all.
    settings = server_settings(database_url, max_workers=1, max_waiting_calls=0, max_queued_calls=1)
    with (
        running(settings, clock) as server,
        authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel,
    ):
        agents = agent_service_pb2_grpc.AgentServiceStub(channel)
        request = agent_service_pb2.ListAgentsRequest(
            workspace_id=server.bootstrap.default_workspace.id
        )
        blocked = Blocked(server.agents.list_agents)
        monkeypatch.setattr(server.agents, "list_agents", blocked)

        running_call = agents.ListAgents.future(request, timeout=60)
        assert blocked.entered.wait(60)  # the one thread is busy
        queued_call = agents.ListAgents.future(request, timeout=60)
        # Sent after the queued call on the same connection: the third call at once.
        with pytest.raises(grpc.RpcError) as refused:
            agents.ListAgents(request, timeout=60)
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert not queued_call.done()

        blocked.release.set()
        assert list(running_call.result(timeout=60).agents) == []
        assert list(queued_call.result(timeout=60).agents) == []


def test_a_call_whose_deadline_passed_while_it_queued_is_not_run(database_url, clock, monkeypatch):
    # grpcio reads a call's request on the thread that runs it, and a call cancelled by
    # then (its deadline passed, or its client went) never reaches the handler.
    settings = server_settings(database_url, max_workers=1, max_waiting_calls=0, max_queued_calls=2)
    with (
        running(settings, clock) as server,
        authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel,
    ):
        agents = agent_service_pb2_grpc.AgentServiceStub(channel)
        request = agent_service_pb2.ListAgentsRequest(
            workspace_id=server.bootstrap.default_workspace.id
        )
        blocked = Blocked(server.agents.list_agents)
        monkeypatch.setattr(server.agents, "list_agents", blocked)
        running_call = agents.ListAgents.future(request, timeout=60)
        assert blocked.entered.wait(60)  # the one thread is busy

        with pytest.raises(grpc.RpcError) as expired:
            agents.ListAgents(request, timeout=0.2)  # queues behind it, and gives up
        assert expired.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        blocked.calls = 0
        blocked.release.set()
        assert list(running_call.result(timeout=60).agents) == []
        # Queued after the expired call, so answered after it was taken from the queue.
        assert list(agents.ListAgents(request, timeout=60).agents) == []
        assert blocked.calls == 1  # this last call only
