"""What the `sundial mcp` tests share: reading a tool's result, a key of a chosen role, and
a worker's claim and completion of a run (done through the gRPC API, as `sundial worker`
would, since no MCP tool finishes runs)."""

from typing import Any

import grpc
from google.protobuf import duration_pb2, json_format, struct_pb2
from mcp.types import CallToolResult

from sundial.v1 import (
    access_pb2,
    agent_service_pb2,
    agent_service_pb2_grpc,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    metadata_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
)

# Every tool `sundial mcp` serves (compare_runs: InsightService.CompareObjectives exists).
TOOL_NAMES = {
    "create_scheduled_run",
    "list_scheduled_runs",
    "update_scheduled_run",
    "delete_scheduled_run",
    "trigger_scheduled_run",
    "preview_schedule",
    "parse_schedule",
    "list_runs",
    "get_run",
    "get_run_output",
    "compare_runs",
}


def answer(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a call that must have succeeded."""
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def tool_error(result: CallToolResult) -> dict[str, Any]:
    """The structured error of a call that must have failed as a tool error; its text, the
    part the model reads, is under "text"."""
    assert result.is_error, result.structured_content
    assert isinstance(result.structured_content, dict)
    text = "\n".join(block.text for block in result.content if block.type == "text")
    return {**result.structured_content["error"], "text": text}


def create_agent(channel: grpc.Channel, workspace_id: str, name: str) -> str:
    agents = agent_service_pb2_grpc.AgentServiceStub(channel)
    return agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name=name)
        )
    ).metadata.id


def key_of_role(channel: grpc.Channel, account_id: str, workspace_id: str, role: str) -> str:
    """The secret of a new key with `role` (viewer, editor, ...) on the workspace."""
    keys = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
    return keys.CreateApiKey(
        api_key_service_pb2.CreateApiKeyRequest(
            account_id=account_id,
            metadata=metadata_pb2.CreateResourceMetadata(name=role),
            spec=api_key_pb2.ApiKeySpec(
                role=access_pb2.Role.Value(f"ROLE_{role.upper()}"), workspace_ids=[workspace_id]
            ),
        )
    ).info.secret


def complete_next_run(channel: grpc.Channel, workspace_id: str, agent_id: str, output: Any) -> str:
    """Claims the agent's next run and completes it with `output`; returns its id."""
    objectives = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
    ids = {"workspace_id": workspace_id, "agent_id": agent_id}
    (objective,) = objectives.ClaimObjectives(
        objective_service_pb2.ClaimObjectivesRequest(
            **ids, worker_id="w", lease_duration=duration_pb2.Duration(seconds=60)
        )
    ).objectives
    value = json_format.ParseDict(output, struct_pb2.Value())
    objectives.CompleteObjective(
        objective_service_pb2.CompleteObjectiveRequest(
            **ids, objective_id=objective.metadata.id, worker_id="w", output=value
        )
    )
    return objective.metadata.id
