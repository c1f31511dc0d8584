"""A webhook's URL and a PUSH agent's URL are judged alike when written
(service/target_urls.py): through a real server, each URL refused is refused for both with
INVALID_ARGUMENT naming the field, and a server started with
--allow-private-webhook-targets takes it for both."""

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from sundial.api.client import authorized_channel
from sundial.v1 import (
    agent_pb2,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    webhook_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from tests.support.auth import ADMIN_SECRET
from tests.support.rpc import failure_of
from tests.support.servers import running, server_settings

PRIVATE_URLS = [
    "https://localhost:8443/in",
    "https://LOCALHOST./in",
    "https://api.localhost/in",
    "https://127.0.0.1:8443/in",
    "https://[::1]/in",
    "https://10.1.2.3/in",
    "https://169.254.169.254/latest",
    "http://hooks.example.com/in",
    "http://localhost:8080/in",
]
PRIVATE_IDS = [
    "localhost",
    "localhost-dot",
    "under-localhost",
    "loopback-v4",
    "loopback-v6",
    "private",
    "metadata",
    "http",
    "http-localhost",
]


def _webhook(channel: grpc.Channel, workspace_id: str, url: str) -> str:
    created = webhook_service_pb2_grpc.WebhookServiceStub(channel).CreateWebhook(
        webhook_service_pb2.CreateWebhookRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="target"),
            spec=webhook_pb2.WebhookSpec(url=url),
        )
    )
    return created.spec.url


def _push_agent(channel: grpc.Channel, workspace_id: str, url: str) -> str:
    created = agent_service_pb2_grpc.AgentServiceStub(channel).CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="target"),
            spec=agent_pb2.AgentSpec(
                mode=agent_pb2.AGENT_MODE_PUSH, push=agent_pb2.PushTarget(url=url)
            ),
        )
    )
    return created.spec.push.url


WRITERS = [(_webhook, "spec.url"), (_push_agent, "spec.push.url")]


def _refusal(write: Any, channel: grpc.Channel, workspace_id: str, url: str) -> Any:
    with pytest.raises(grpc.RpcError) as caught:
        write(channel, workspace_id, url)
    return failure_of(caught.value)


@pytest.mark.parametrize("url", PRIVATE_URLS, ids=PRIVATE_IDS)
def test_a_private_or_http_url_is_refused_for_a_webhook_and_a_push_agent_alike(
    channel, workspace_id, url
):
    descriptions = []
    for write, field in WRITERS:
        failure = _refusal(write, channel, workspace_id, url)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert list(failure.violations) == [field]
        descriptions.append(failure.violations[field])
    assert descriptions[0] == descriptions[1]


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/in#x", "https://@hooks.example.com/in", "https://[::1/in"],
    ids=["fragment", "empty-credentials", "bad-ipv6"],
)
def test_a_malformed_url_is_refused_for_both_even_when_private_targets_are_allowed(
    private_channel, url
):
    channel, workspace_id = private_channel
    for write, field in WRITERS:
        failure = _refusal(write, channel, workspace_id, url)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert list(failure.violations) == [field]


@pytest.fixture
def private_channel(database_url: str, clock: Any) -> Iterator[tuple[grpc.Channel, str]]:
    settings = server_settings(database_url, allow_private_webhook_targets=True)
    with (
        running(settings, clock) as server,
        authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel,
    ):
        yield channel, server.bootstrap.default_workspace.id


def test_with_private_targets_allowed_both_take_every_such_url(private_channel):
    channel, workspace_id = private_channel
    for url in PRIVATE_URLS:
        for write, _field in WRITERS:
            assert write(channel, workspace_id, url) == url
