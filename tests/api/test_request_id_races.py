"""A Create that loses the race for its request id (service/idempotency.py's
create_or_replay) answers the winner's resource and makes no second one: chains, webhooks
and agents through a real server."""

from typing import Any

import pytest

from sundial.service import agents as agent_use_cases
from sundial.service import chains as chain_use_cases
from sundial.service import webhook_resources as webhook_use_cases
from sundial.v1 import (
    agent_service_pb2,
    agent_service_pb2_grpc,
    chain_pb2,
    chain_service_pb2,
    chain_service_pb2_grpc,
    metadata_pb2,
    webhook_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)

NAME = metadata_pb2.CreateResourceMetadata(name="raced")
REQUEST_ID = "raced-1"


def _agents(channel: Any, workspace_id: str, agent_id: str) -> tuple[Any, list[Any]]:
    stub = agent_service_pb2_grpc.AgentServiceStub(channel)
    created = stub.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=NAME, request_id=REQUEST_ID
        )
    )
    listed = stub.ListAgents(agent_service_pb2.ListAgentsRequest(workspace_id=workspace_id))
    return created, list(listed.agents)


def _chains(channel: Any, workspace_id: str, agent_id: str) -> tuple[Any, list[Any]]:
    stub = chain_service_pb2_grpc.ChainServiceStub(channel)
    node = chain_pb2.ChainNode(name="only", agent_id=agent_id, initial_message="go")
    created = stub.CreateChain(
        chain_service_pb2.CreateChainRequest(
            workspace_id=workspace_id,
            metadata=NAME,
            spec=chain_pb2.ChainSpec(nodes=[node]),
            request_id=REQUEST_ID,
        )
    )
    listed = stub.ListChains(chain_service_pb2.ListChainsRequest(workspace_id=workspace_id))
    return created, list(listed.chains)


def _webhooks(channel: Any, workspace_id: str, agent_id: str) -> tuple[Any, list[Any]]:
    stub = webhook_service_pb2_grpc.WebhookServiceStub(channel)
    created = stub.CreateWebhook(
        webhook_service_pb2.CreateWebhookRequest(
            workspace_id=workspace_id,
            metadata=NAME,
            spec=webhook_pb2.WebhookSpec(url="https://hooks.example.com/in"),
            request_id=REQUEST_ID,
        )
    )
    listed = stub.ListWebhooks(webhook_service_pb2.ListWebhooksRequest(workspace_id=workspace_id))
    return created, list(listed.webhooks)


@pytest.mark.parametrize(
    ("use_cases", "create_and_list"),
    [(agent_use_cases, _agents), (chain_use_cases, _chains), (webhook_use_cases, _webhooks)],
    ids=["agent", "chain", "webhook"],
)
def test_the_loser_of_a_request_id_race_answers_the_winners_resource(
    channel, workspace_id, agent, monkeypatch, use_cases, create_and_list
):
    winner, _ = create_and_list(channel, workspace_id, agent.metadata.id)

    # The loser looked for the request id before the winner committed it: its first
    # attempt misses the record, and its commit then meets the winner's key.
    real = use_cases.find_replay
    missed: list[str] = []

    def find_replay_before_the_winner_commits(uow: Any, clock: Any, key: Any) -> str | None:
        if not missed:
            missed.append(key.request_id)
            return None
        return real(uow, clock, key)

    monkeypatch.setattr(use_cases, "find_replay", find_replay_before_the_winner_commits)
    loser, listed = create_and_list(channel, workspace_id, agent.metadata.id)

    assert missed == [REQUEST_ID]
    assert (loser.metadata.id, loser.metadata.etag) == (winner.metadata.id, winner.metadata.etag)
    assert [item.metadata.id for item in listed if item.metadata.name == "raced"] == [
        winner.metadata.id
    ]
