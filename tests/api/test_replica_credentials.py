"""Two API replicas on one PostgreSQL database: a key revoked through one stops working on
the other as soon as the NOTIFY arrives, long before the other's key cache would expire."""

import threading
from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest

from sundial.api.client import authorized_channel
from sundial.domain.clock import FakeClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Role
from sundial.domain.tenancy import ApiKeySpec
from sundial.server import SundialServer
from sundial.v1 import agent_service_pb2, agent_service_pb2_grpc
from tests.support.rpc import failure_of
from tests.support.servers import running, server_settings

from .conftest import START


@pytest.fixture
def replicas(postgres_cluster) -> Iterator[tuple[SundialServer, SundialServer]]:
    url = postgres_cluster.create_database("credentials", template="sundial_template")
    # Far longer than the test: only the notification can end the cached key.
    settings = server_settings(url, auth_cache_ttl=timedelta(hours=1))
    with (
        running(settings, FakeClock(START)) as first,
        running(settings, FakeClock(START)) as second,
    ):
        yield first, second


def _list_agents(server: SundialServer, secret: str) -> grpc.StatusCode:
    request = agent_service_pb2.ListAgentsRequest(
        workspace_id=server.bootstrap.default_workspace.id
    )
    with authorized_channel(f"127.0.0.1:{server.port}", secret) as channel:
        try:
            agent_service_pb2_grpc.AgentServiceStub(channel).ListAgents(request)
        except grpc.RpcError as error:
            return failure_of(error).code
    return grpc.StatusCode.OK


@pytest.mark.postgres
def test_a_key_revoked_on_one_replica_stops_working_on_the_other(replicas):
    first, second = replicas
    system = first.bootstrap.principal
    key = first.api_keys.create(system, MetadataInput(name="ci"), ApiKeySpec(role=Role.VIEWER))
    secret = key.info.secret
    assert _list_agents(second, secret) == grpc.StatusCode.OK  # now cached on the second
    heard = threading.Event()
    second.notifier.on_credentials_changed(
        lambda resource_id: heard.set() if resource_id == key.metadata.id else None
    )

    first.api_keys.revoke(system, key.metadata.id)

    assert heard.wait(timeout=30), "the second replica never heard of the revocation"
    assert _list_agents(second, secret) == grpc.StatusCode.UNAUTHENTICATED
    assert _list_agents(first, secret) == grpc.StatusCode.UNAUTHENTICATED
