"""The call guard at the gRPC port: one credential per call."""

import grpc
import pytest

from sundial.v1 import agent_service_pb2, agent_service_pb2_grpc
from tests.support.auth import ADMIN_SECRET


def test_two_authorization_entries_are_refused_even_when_one_is_valid(server, workspace_id):
    request = agent_service_pb2.ListAgentsRequest(workspace_id=workspace_id)
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        agents = agent_service_pb2_grpc.AgentServiceStub(channel)
        valid = ("authorization", f"Bearer {ADMIN_SECRET}")
        agents.ListAgents(request, metadata=(valid,))  # one is enough
        for pairs in ((valid, valid), (valid, ("authorization", "Bearer sdl_other_key_x"))):
            with pytest.raises(grpc.RpcError) as caught:
                agents.ListAgents(request, metadata=pairs)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert caught.value.details() == "send one authorization credential, not several"
