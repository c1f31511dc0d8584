"""REST calls are made in process (api.local_calls) through the very interceptor and method
handlers the gRPC server runs: the same request ids, log lines, authentication and error
mapping as a gRPC call, without the loopback hop."""

import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2

from sundial.api.grpc_server import SERVICES
from sundial.api.local_calls import LocalCalls
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


def test_every_rpc_runs_the_handler_the_grpc_server_runs(server):
    _grpc_list(server, authorization=AUTHORIZATION)  # the gRPC server wraps its handler
    grpc_server: Any = server._grpc
    interceptor, recorded = grpc_server._interceptor, grpc_server._methods.handlers
    local = grpc_server.local_calls()

    def served(method: str) -> Any:
        # What the server's interceptor hands grpcio for `method`; it wrapped ListAgents'
        # handler for the call above, and wraps the others now.
        details = type("Details", (), {"method": method, "invocation_metadata": ()})()
        return interceptor.intercept_service(lambda d: recorded.get(d.method), details)

    methods = [f"/{s.full_name}/{m.name}" for s in SERVICES for m in s.methods]
    assert set(recorded) == set(methods)
    for method in methods:
        handler = local.handler_of(method)
        assert handler is served(method)
        assert handler.unary_unary is not recorded[method].unary_unary  # wrapped, not bare


def test_a_rest_call_gets_the_request_id_and_log_line_of_a_grpc_call(server, caplog):
    caplog.set_level(logging.INFO, logger="sundial.rpc")
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
    caplog.set_level(logging.INFO, logger="sundial.rpc")
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


class _Ticking:
    """A monotonic clock the handler moves forward."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_call_that_outlives_its_deadline_is_deadline_exceeded(server, monkeypatch):
    grpc_server: Any = server._grpc
    ticking = _Ticking()
    local = LocalCalls(grpc_server._interceptor, grpc_server._methods.handlers, monotonic=ticking)
    list_agents = server.agents.list_agents

    def slow(*args: Any, **kwargs: Any) -> Any:
        ticking.now += 2.0
        return list_agents(*args, **kwargs)

    monkeypatch.setattr(server.agents, "list_agents", slow)
    request = agent_service_pb2.ListAgentsRequest(
        workspace_id=server.bootstrap.default_workspace.id
    ).SerializeToString()
    metadata = [("authorization", AUTHORIZATION)]

    assert local.call(LIST_AGENTS, request, metadata, 3.0).status is None
    late = local.call(LIST_AGENTS, request, metadata, 1.0)
    assert late.response is None
    assert late.status is not None
    assert late.status.code == code_pb2.DEADLINE_EXCEEDED
    expired = local.call(LIST_AGENTS, request, metadata, 0.0)
    assert expired.status is not None
    assert expired.status.code == code_pb2.DEADLINE_EXCEEDED
    unknown = local.call("/sundial.v1.AgentService/Nope", request, metadata, None)
    assert unknown.status is not None
    assert unknown.status.code == code_pb2.UNIMPLEMENTED
