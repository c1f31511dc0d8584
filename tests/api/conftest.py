"""A real Sundial gRPC server on a free loopback port, on each database kind."""

from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import pytest

from sundial.api.client import authorized_channel
from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.v1 import (
    agent_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    objective_service_pb2_grpc,
)
from tests.support.auth import ADMIN_SECRET
from tests.support.servers import running, server_settings

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def server(database_url: str, clock: FakeClock) -> Iterator[SundialServer]:
    # Tests drive the firing loop themselves (server.engine.run_pass()) on the fake clock.
    with running(server_settings(database_url), clock) as instance:
        yield instance


@pytest.fixture
def channel(server: SundialServer) -> Iterator[grpc.Channel]:
    with authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel:
        yield channel


@pytest.fixture
def agents(channel: grpc.Channel) -> agent_service_pb2_grpc.AgentServiceStub:
    return agent_service_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture
def schedules(channel: grpc.Channel) -> agent_schedule_service_pb2_grpc.AgentScheduleServiceStub:
    return agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)


@pytest.fixture
def objectives(channel: grpc.Channel) -> objective_service_pb2_grpc.ObjectiveServiceStub:
    return objective_service_pb2_grpc.ObjectiveServiceStub(channel)


@pytest.fixture
def workspace_id(server: SundialServer) -> str:
    return server.bootstrap.default_workspace.id


@pytest.fixture
def other_workspace_id(server: SundialServer) -> str:
    return server.tenancy.create_workspace(server.bootstrap.principal, "other").id


@pytest.fixture
def agent(agents: agent_service_pb2_grpc.AgentServiceStub, workspace_id: str) -> agent_pb2.Agent:
    return agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name="helper")
        )
    )
