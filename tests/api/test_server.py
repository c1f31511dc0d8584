"""Server plumbing: health, reflection, request ids, unexpected errors."""

import json
import subprocess
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from sundial.v1 import agent_service_pb2
from tests.support.auth import ADMIN_SECRET
from tests.support.rpc import failure_of

BUF = Path(__file__).parents[2] / "node_modules" / ".bin" / "buf"


def test_health_is_serving_for_every_service(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "sundial.v1.AgentService", "sundial.v1.AgentScheduleService"):
        response = health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(channel):
    services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert {
        "sundial.v1.AgentService",
        "sundial.v1.AgentScheduleService",
        "grpc.health.v1.Health",
    } <= services


def test_request_id_is_echoed(agents, workspace_id):
    _, call = agents.ListAgents.with_call(
        agent_service_pb2.ListAgentsRequest(workspace_id=workspace_id),
        metadata=(("x-request-id", "trace-123"),),
    )
    assert ("x-request-id", "trace-123") in call.initial_metadata()
    _, call = agents.ListAgents.with_call(
        agent_service_pb2.ListAgentsRequest(workspace_id=workspace_id)
    )
    assert dict(call.initial_metadata())["x-request-id"].startswith("req_")


def test_unexpected_exception_is_internal_with_request_id_and_no_trace(
    server, agents, workspace_id, monkeypatch, caplog
):
    def explode(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(server.agents, "list_agents", explode)
    with pytest.raises(grpc.RpcError) as caught:
        agents.ListAgents(
            agent_service_pb2.ListAgentsRequest(workspace_id=workspace_id),
            metadata=(("x-request-id", "trace-boom"),),
        )
    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.INTERNAL
    assert "trace-boom" in failure.message
    assert "hunter2" not in failure.message
    assert "Traceback" not in failure.message
    assert "hunter2" in caplog.text  # the trace goes to the server log instead


def test_unknown_enum_value_is_invalid(schedules, workspace_id, agent):
    from tests.api.schedule_requests import create_request

    request = create_request(workspace_id, agent.metadata.id)
    request.spec.overlap_policy = 42
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(request)
    assert "spec.overlap_policy" in failure_of(caught.value).violations


@pytest.mark.parametrize(
    "method",
    ["/sundial.v1.AgentService/ListAgents", "/grpc.health.v1.Health/Check"],
    ids=["guarded", "open"],
)
def test_request_bytes_that_do_not_decode_are_invalid_argument(channel, method):
    garbage = channel.unary_unary(method)  # no serializer: these bytes go as they are
    with pytest.raises(grpc.RpcError) as caught:
        garbage(b"\xff\xff\xff\xff", timeout=30)
    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "UNDECODABLE_REQUEST"
    assert method in failure.violations["request"]


def test_streaming_health_watch_still_answers(channel):
    health = health_pb2_grpc.HealthStub(channel)
    updates = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
    assert next(updates).status == health_pb2.HealthCheckResponse.SERVING
    updates.cancel()


@pytest.mark.parametrize("protocol", ["grpc-v1", "grpc-v1alpha"])
def test_buf_curl_calls_through_reflection_of_either_version(server, agent, workspace_id, protocol):
    # buf curl reads the schema by reflection alone; it speaks each protocol on its own.
    called = subprocess.run(
        [str(BUF), "curl", "--protocol", "grpc", "--http2-prior-knowledge",
         "--reflect-protocol", protocol, "-H", f"authorization: Bearer {ADMIN_SECRET}",
         "-d", json.dumps({"workspaceId": workspace_id}),
         f"http://127.0.0.1:{server.port}/sundial.v1.AgentService/ListAgents"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert called.returncode == 0, called.stderr
    assert "Failure" not in called.stdout + called.stderr
    listed = json.loads(called.stdout)["agents"]
    assert [a["metadata"]["id"] for a in listed] == [agent.metadata.id]
