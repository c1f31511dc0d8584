"""REST calls are real gRPC calls of the server beside the gateway, over its Unix socket:
the same request ids, log lines, authentication, deadlines and error mapping as a gRPC call."""

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2

from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.v1 import agent_service_pb2, agent_service_pb2_grpc
from tests.gateway.client import call
from tests.support.auth import AUTHORIZATION
from tests.support.rpc import failure_of
from tests.support.servers import running, server_settings

LIST_AGENTS = "/sundial.v1.AgentService/ListAgents"


@pytest.fixture
def server(database_url: str, clock: FakeClock) -> Iterator[SundialServer]:
    with running(server_settings(database_url, http_address="127.0.0.1:0"), clock) as server:
        yield server


def _agents_path(server: SundialServer) -> str:
    return f"/v1/workspaces/{server.bootstrap.default_workspace.id}/agents"


def _grpc_list(server: SundialServer, **metadata: str) -> Any:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        request = agent_service_pb2.ListAgentsRequest(
            workspace_id=server.bootstrap.default_workspace.id
        )
        return stub.ListAgents.with_call(request, metadata=tuple(metadata.items()))


def test_the_gateway_calls_the_server_over_a_unix_socket_only_its_user_may_open(
    database_url, clock
):
    settings = server_settings(database_url, http_address="127.0.0.1:0")
    with running(settings, clock) as server:
        target: str = server._grpc.local_target
        assert target.startswith("unix:")
        socket = Path(target.removeprefix("unix:"))
        assert socket.is_socket()
        assert os.stat(socket.parent).st_mode & 0o077 == 0
        assert call(server.http_port, "GET", _agents_path(server), headers={}).status == 401
    assert not socket.parent.exists()  # removed at stop


def test_a_rest_call_gets_the_request_id_and_log_line_of_a_grpc_call(server, caplog):
    caplog.set_level(logging.DEBUG, logger="sundial.rpc")
    _, grpc_call = _grpc_list(server, authorization=AUTHORIZATION, **{"x-request-id": "req_g"})
    reply = call(
        server.http_port,
        "GET",
        _agents_path(server),
        headers={"Authorization": AUTHORIZATION, "X-Request-Id": "req_r"},
    )

    assert reply.status == 200
    assert reply.headers["x-request-id"] == "req_r"
    assert dict(grpc_call.initial_metadata())["x-request-id"] == "req_g"
    lines = {r.request_id: (r.method, r.code) for r in caplog.records if r.name == "sundial.rpc"}
    assert lines == {"req_g": (LIST_AGENTS, "OK"), "req_r": (LIST_AGENTS, "OK")}


def test_a_rest_call_is_authenticated_and_its_failure_logged(server, caplog):
    caplog.set_level(logging.DEBUG, logger="sundial.rpc")
    reply = call(server.http_port, "GET", _agents_path(server), headers={"X-Request-Id": "req_n"})
    assert reply.status == 401
    assert reply.json()["code"] == code_pb2.UNAUTHENTICATED
    [line] = [r for r in caplog.records if r.name == "sundial.rpc"]
    assert (line.method, line.code, line.request_id) == (LIST_AGENTS, "UNAUTHENTICATED", "req_n")


def test_an_unexpected_error_is_the_same_internal_status_over_both(server, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(server.agents, "list_agents", broken)
    with pytest.raises(grpc.RpcError) as raised:
        _grpc_list(server, authorization=AUTHORIZATION, **{"x-request-id": "req_1"})
    reply = call(
        server.http_port,
        "GET",
        _agents_path(server),
        headers={"Authorization": AUTHORIZATION, "X-Request-Id": "req_1"},
    )

    failure = failure_of(raised.value)
    assert failure.code is grpc.StatusCode.INTERNAL
    assert reply.status == 500
    assert reply.json()["code"] == code_pb2.INTERNAL
    assert reply.json()["message"] == failure.message
    assert "req_1" in failure.message
    assert "secret" not in reply.body.decode()


def test_a_rest_call_past_its_grpc_timeout_is_deadline_exceeded(server):
    reply = call(
        server.http_port,
        "GET",
        _agents_path(server),
        headers={"Authorization": AUTHORIZATION, "Grpc-Timeout": "1n"},
    )
    assert reply.status == 504
    assert reply.json()["code"] == code_pb2.DEADLINE_EXCEEDED


def test_a_body_too_deep_for_protobufs_decoder_is_bad_request(server):
    # JSON's parser takes 35 levels of spec.data; protobuf's decoder would not: the gateway's
    # nesting limit refuses it first, naming the limit.
    data: Any = "x"
    for _ in range(35):
        data = {"a": data}
    headers = {"Authorization": AUTHORIZATION}
    agent = call(
        server.http_port, "POST", _agents_path(server), {"metadata": {"name": "a"}}, headers
    )
    schedules = f"{_agents_path(server)}/{agent.json()['metadata']['id']}/schedules"
    body = {"metadata": {"name": "s"}, "spec": {"initialMessage": "hi", "data": data}}
    reply = call(server.http_port, "POST", schedules, body, headers)
    assert reply.status == 400
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert "nested deeper than 20 levels" in reply.json()["message"]
