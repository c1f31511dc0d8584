"""AgentService through a real server: CRUD, masks, etags, request ids, validation."""

import concurrent.futures

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from sundial.v1 import agent_pb2, agent_service_pb2, metadata_pb2
from tests.support.rpc import failure_of

pb = agent_service_pb2


def _create(agents, workspace_id, name="agent", **kwargs):
    return agents.CreateAgent(
        pb.CreateAgentRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(
                name=name, labels=kwargs.pop("labels", {})
            ),
            **kwargs,
        )
    )


def test_create_then_get_round_trips_every_field(agents, workspace_id, server):
    schema = struct_pb2.Struct()
    schema.update({"type": "object", "required": ["customer"]})
    spec = agent_pb2.AgentSpec(
        description="answers tickets",
        input_data_schema=schema,
        variations=[agent_pb2.AgentVariation(id="fast", name="Fast", weight=3)],
        variation_selection_mode=agent_pb2.VARIATION_SELECTION_MODE_ROUND_ROBIN,
    )
    created = _create(agents, workspace_id, "support", labels={"team": "cx"}, spec=spec)

    got = agents.GetAgent(
        pb.GetAgentRequest(workspace_id=workspace_id, agent_id=created.metadata.id)
    )

    assert got == created
    assert got.metadata.id.startswith("agent_")
    assert got.metadata.workspace_id == workspace_id
    assert got.metadata.account_id == server.bootstrap.account.id
    assert server.bootstrap.admin_key is not None
    assert got.metadata.profile_id == server.bootstrap.admin_key.info.key_profile_id
    assert got.info.created_by.spec.type == 2  # PROFILE_TYPE_API_KEY: the bootstrap admin key
    assert got.spec == spec
    assert got.metadata.labels == {"team": "cx"}
    assert got.metadata.etag


def test_update_with_mask_changes_only_listed_paths(agents, workspace_id):
    created = _create(agents, workspace_id, "before", labels={"a": "1"})
    updated = agents.UpdateAgent(
        pb.UpdateAgentRequest(
            workspace_id=workspace_id,
            agent_id=created.metadata.id,
            metadata=metadata_pb2.CreateResourceMetadata(name="after", labels={"b": "2"}),
            spec=agent_pb2.AgentSpec(description="new"),
            update_mask=field_mask_pb2.FieldMask(paths=["spec.description"]),
        )
    )
    assert updated.metadata.name == "before"
    assert updated.metadata.labels == {"a": "1"}
    assert updated.spec.description == "new"
    assert updated.metadata.etag != created.metadata.etag


def test_update_with_stale_etag_is_aborted(agents, workspace_id):
    created = _create(agents, workspace_id)
    request = pb.UpdateAgentRequest(
        workspace_id=workspace_id,
        agent_id=created.metadata.id,
        spec=agent_pb2.AgentSpec(description="one"),
        etag=created.metadata.etag,
    )
    agents.UpdateAgent(request)
    with pytest.raises(grpc.RpcError) as caught:
        agents.UpdateAgent(request)
    assert failure_of(caught.value).code == grpc.StatusCode.ABORTED
    assert failure_of(caught.value).reason == "ETAG_MISMATCH"


def test_request_id_replays_and_concurrent_duplicates_make_one_agent(agents, workspace_id):
    def create():
        return _create(agents, workspace_id, "same", request_id="req-42")

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: create(), range(8)))

    assert len({r.metadata.id for r in results}) == 1
    listed = agents.ListAgents(pb.ListAgentsRequest(workspace_id=workspace_id))
    assert [a.metadata.id for a in listed.agents] == [results[0].metadata.id]


def test_validate_only_writes_nothing(agents, workspace_id):
    preview = _create(agents, workspace_id, "dry", validate_only=True)
    assert preview.metadata.name == "dry"
    assert preview.metadata.id == ""
    assert agents.ListAgents(pb.ListAgentsRequest(workspace_id=workspace_id)).agents == []


@pytest.mark.parametrize(
    ("metadata", "spec", "field"),
    [
        (metadata_pb2.CreateResourceMetadata(name=""), None, "metadata.name"),
        (metadata_pb2.CreateResourceMetadata(name="x" * 257), None, "metadata.name"),
        (
            metadata_pb2.CreateResourceMetadata(name="a", labels={"Bad Key": "v"}),
            None,
            "metadata.labels[Bad Key]",
        ),
        (
            metadata_pb2.CreateResourceMetadata(name="a", labels={"k": "v" * 257}),
            None,
            "metadata.labels[k]",
        ),
        (
            metadata_pb2.CreateResourceMetadata(name="a", labels={f"k{i}": "v" for i in range(65)}),
            None,
            "metadata.labels",
        ),
        (
            metadata_pb2.CreateResourceMetadata(name="a"),
            agent_pb2.AgentSpec(variations=[agent_pb2.AgentVariation(id="no spaces")]),
            "spec.variations[0].id",
        ),
        (
            metadata_pb2.CreateResourceMetadata(name="a"),
            agent_pb2.AgentSpec(
                input_data_schema=struct_pb2.Struct(
                    fields={"type": struct_pb2.Value(string_value="not-a-type")}
                )
            ),
            "spec.input_data_schema",
        ),
    ],
    ids=[
        "empty-name",
        "long-name",
        "bad-label-key",
        "long-label-value",
        "too-many-labels",
        "bad-variation-id",
        "bad-json-schema",
    ],
)
def test_invalid_agents_name_the_field(agents, workspace_id, metadata, spec, field):
    request = pb.CreateAgentRequest(workspace_id=workspace_id, metadata=metadata, spec=spec)
    with pytest.raises(grpc.RpcError) as caught:
        agents.CreateAgent(request)
    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in failure.violations
    assert failure.domain == "sundial.dev"


def test_agent_of_another_workspace_is_not_found(agents, workspace_id, other_workspace_id):
    created = _create(agents, workspace_id)
    with pytest.raises(grpc.RpcError) as caught:
        agents.GetAgent(
            pb.GetAgentRequest(workspace_id=other_workspace_id, agent_id=created.metadata.id)
        )
    assert failure_of(caught.value).code == grpc.StatusCode.NOT_FOUND


def test_unknown_workspace_is_permission_denied_like_another_tenants(agents):
    # AIP-211: access is checked before existence, so a made-up workspace id and another
    # account's get the same answer.
    with pytest.raises(grpc.RpcError) as caught:
        agents.ListAgents(pb.ListAgentsRequest(workspace_id="ws_01JUNKJUNKJUNKJUNKJUNKJUNK"))
    failure = failure_of(caught.value)
    assert (failure.code, failure.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "PERMISSION_DENIED",
    )


def test_delete_removes_the_agent(agents, workspace_id):
    created = _create(agents, workspace_id)
    agents.DeleteAgent(
        pb.DeleteAgentRequest(workspace_id=workspace_id, agent_id=created.metadata.id)
    )
    with pytest.raises(grpc.RpcError) as caught:
        agents.GetAgent(pb.GetAgentRequest(workspace_id=workspace_id, agent_id=created.metadata.id))
    assert failure_of(caught.value).code == grpc.StatusCode.NOT_FOUND
