"""ChainService's chain resource through a real server: CRUD with etags, masks, pages,
request ids and validate_only; every validation error named by its path, all in one
error; the roles. Runs are tested with the run service (tests/api/test_chain_runs*.py)."""

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from sundial.api.client import authorized_channel
from sundial.domain.chains import ChainRunStatus
from sundial.v1 import (
    access_pb2,
    agent_pb2,
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_service_pb2,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    chain_pb2,
    chain_service_pb2,
    chain_service_pb2_grpc,
    metadata_pb2,
)
from tests.api.schedule_requests import create_request
from tests.support.chains import fire_chain_from, insert_run
from tests.support.rpc import failure_of

pb = chain_service_pb2
cp = chain_pb2


@pytest.fixture
def chains(channel):
    return chain_service_pb2_grpc.ChainServiceStub(channel)


def _node(name, agent_id, **kwargs):
    kwargs.setdefault("initial_message", f"do {name}")
    return cp.ChainNode(name=name, agent_id=agent_id, **kwargs)


def _edge(source, target, **kwargs):
    return cp.ChainEdge(from_node=source, to_node=target, **kwargs)


def _pipeline(agent_id):
    """Seed 003's data pipeline."""
    return cp.ChainSpec(
        nodes=[_node(n, agent_id) for n in ("fetch", "transform", "store")],
        edges=[
            _edge("fetch", "transform", type=cp.CHAIN_EDGE_TYPE_ON_SUCCESS),
            _edge("transform", "store", type=cp.CHAIN_EDGE_TYPE_ON_SUCCESS),
            _edge("fetch", "store", type=cp.CHAIN_EDGE_TYPE_ON_FAILURE),
        ],
        description="Data pipeline",
    )


def _create(chains, workspace_id, spec, name="pipeline", **kwargs):
    return chains.CreateChain(
        pb.CreateChainRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name=name),
            spec=spec,
            **kwargs,
        )
    )


def _get(chains, workspace_id, chain_id):
    return chains.GetChain(pb.GetChainRequest(workspace_id=workspace_id, chain_id=chain_id))


def _failure(call, request):
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return failure_of(caught.value)


def _refused(chains, workspace_id, spec):
    return _failure(
        chains.CreateChain,
        pb.CreateChainRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="bad"),
            spec=spec,
        ),
    )


def test_create_get_and_list_round_trip_every_field(chains, schedules, workspace_id, agent):
    schedule = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    data = struct_pb2.Value()
    data.struct_value.update({"source": "s3://bucket", "limit": 10})
    spec = _pipeline(agent.metadata.id)
    spec.nodes[0].data.CopyFrom(data)
    spec.nodes.append(cp.ChainNode(name="report", schedule_id=schedule.metadata.id))
    spec.edges.append(
        _edge(
            "store",
            "report",
            type=cp.CHAIN_EDGE_TYPE_ON_COMPLETE,
            condition='status == "SUCCEEDED" && output.rows > 0.0',
            output_mapping={"rows": "output.rows", "note": '"stored " + string(output.rows)'},
        )
    )
    spec.overlap_policy = agent_schedule_pb2.OVERLAP_POLICY_CANCEL_OTHER

    created = _create(chains, workspace_id, spec)
    got = _get(chains, workspace_id, created.metadata.id)
    listed = chains.ListChains(pb.ListChainsRequest(workspace_id=workspace_id))

    assert created.metadata.id.startswith("chain_")
    assert created.spec == spec
    assert got == created
    assert got.info.run_count == 0
    assert got.info.last_run_id == ""
    assert got.info.created_by.spec.type == 2  # the bootstrap admin key's profile
    assert [c.metadata.id for c in listed.chains] == [created.metadata.id]


def test_list_pages_oldest_first(chains, workspace_id, agent):
    spec = cp.ChainSpec(nodes=[_node("only", agent.metadata.id)])
    ids = [_create(chains, workspace_id, spec, f"c{i}").metadata.id for i in range(3)]
    first = chains.ListChains(pb.ListChainsRequest(workspace_id=workspace_id, page_size=2))
    second = chains.ListChains(
        pb.ListChainsRequest(
            workspace_id=workspace_id, page_size=2, page_token=first.next_page_token
        )
    )
    assert [c.metadata.id for c in first.chains] == ids[:2]
    assert [c.metadata.id for c in second.chains] == ids[2:]
    assert second.next_page_token == ""


def test_list_filters_on_bundle_key_external_id_name_and_labels(chains, workspace_id, agent):
    spec = cp.ChainSpec(nodes=[_node("only", agent.metadata.id)])

    def made(name, **metadata):
        return chains.CreateChain(
            pb.CreateChainRequest(
                workspace_id=workspace_id,
                metadata=metadata_pb2.CreateResourceMetadata(name=name, **metadata),
                spec=spec,
            )
        ).metadata.id

    mail = made("nightly", bundle_key="mail", external_id="nightly", labels={"team": "mail"})
    other = made("nightly", bundle_key="other", external_id="nightly")
    loose = made("loose")

    def listed(text):
        request = pb.ListChainsRequest(workspace_id=workspace_id, filter=text)
        return [c.metadata.id for c in chains.ListChains(request).chains]

    assert listed('bundle_key = "mail"') == [mail]
    assert listed("bundle_key != mail") == [other, loose]
    assert listed("external_id = nightly AND bundle_key = other") == [other]
    assert listed("name = loose") == [loose]
    assert listed("labels.team = mail") == [mail]
    failure = _failure(
        chains.ListChains, pb.ListChainsRequest(workspace_id=workspace_id, filter="nodes = x")
    )
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot filter on 'nodes'" in failure.violations["filter"]


def test_update_with_a_mask_changes_only_those_paths_and_revalidates(chains, workspace_id, agent):
    created = _create(chains, workspace_id, _pipeline(agent.metadata.id))
    request = pb.UpdateChainRequest(
        workspace_id=workspace_id,
        chain_id=created.metadata.id,
        metadata=metadata_pb2.CreateResourceMetadata(name="ignored"),
        spec=cp.ChainSpec(description="nightly", edges=[_edge("fetch", "store")]),
        update_mask=field_mask_pb2.FieldMask(paths=["spec.edges"]),
        etag=created.metadata.etag,
    )
    updated = chains.UpdateChain(request)

    assert updated.metadata.name == "pipeline"
    assert updated.spec.description == "Data pipeline"
    assert list(updated.spec.nodes) == list(created.spec.nodes)
    assert list(updated.spec.edges) == [_edge("fetch", "store")]
    assert updated.metadata.etag != created.metadata.etag
    # The merged spec is checked whole: removing the node an edge names is refused.
    failure = _failure(
        chains.UpdateChain,
        pb.UpdateChainRequest(
            workspace_id=workspace_id,
            chain_id=created.metadata.id,
            spec=cp.ChainSpec(nodes=[_node("fetch", agent.metadata.id)]),
            update_mask=field_mask_pb2.FieldMask(paths=["spec.nodes"]),
        ),
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == ["spec.edges[0].to_node"]


def test_update_validate_only_writes_nothing(chains, workspace_id, agent):
    created = _create(chains, workspace_id, _pipeline(agent.metadata.id))
    preview = chains.UpdateChain(
        pb.UpdateChainRequest(
            workspace_id=workspace_id,
            chain_id=created.metadata.id,
            spec=cp.ChainSpec(description="changed"),
            update_mask=field_mask_pb2.FieldMask(paths=["spec.description"]),
            validate_only=True,
        )
    )
    assert preview.spec.description == "changed"
    assert _get(chains, workspace_id, created.metadata.id) == created


def test_stale_etag_is_aborted_on_update_and_delete(chains, workspace_id, agent):
    created = _create(chains, workspace_id, _pipeline(agent.metadata.id))
    update = pb.UpdateChainRequest(
        workspace_id=workspace_id,
        chain_id=created.metadata.id,
        metadata=metadata_pb2.CreateResourceMetadata(name="one"),
        etag=created.metadata.etag,
    )
    chains.UpdateChain(update)
    assert _failure(chains.UpdateChain, update).reason == "ETAG_MISMATCH"
    delete = pb.DeleteChainRequest(
        workspace_id=workspace_id, chain_id=created.metadata.id, etag=created.metadata.etag
    )
    assert _failure(chains.DeleteChain, delete).code == grpc.StatusCode.ABORTED
    assert _get(chains, workspace_id, created.metadata.id).metadata.name == "one"


def test_request_id_replays_and_a_reused_one_is_refused(chains, workspace_id, agent):
    spec = _pipeline(agent.metadata.id)
    first = _create(chains, workspace_id, spec, request_id="req-chain")
    again = _create(chains, workspace_id, spec, request_id="req-chain")
    reused = _failure(
        chains.CreateChain,
        pb.CreateChainRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="different"),
            spec=spec,
            request_id="req-chain",
        ),
    )
    assert again == first
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS
    assert len(chains.ListChains(pb.ListChainsRequest(workspace_id=workspace_id)).chains) == 1


def test_validate_only_create_writes_nothing(chains, workspace_id, agent):
    preview = _create(chains, workspace_id, _pipeline(agent.metadata.id), validate_only=True)
    assert preview.metadata.id == ""
    assert preview.spec == _pipeline(agent.metadata.id)
    assert not chains.ListChains(pb.ListChainsRequest(workspace_id=workspace_id)).chains


def test_delete_is_refused_while_a_schedule_fires_it_or_a_run_is_in_flight(
    chains, schedules, workspace_id, agent, server, clock
):
    created = _create(chains, workspace_id, _pipeline(agent.metadata.id))
    chain_id = created.metadata.id
    delete = pb.DeleteChainRequest(workspace_id=workspace_id, chain_id=chain_id)
    schedule = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    fire_chain_from(server.database, schedule.metadata.id, chain_id)

    in_use = _failure(chains.DeleteChain, delete)
    assert _get(chains, workspace_id, chain_id).info.schedule_ids == [schedule.metadata.id]

    fire_chain_from(server.database, schedule.metadata.id, "")
    run_id = insert_run(
        server.database,
        account_id=created.metadata.account_id,
        workspace_id=workspace_id,
        chain_id=chain_id,
        at=clock.now(),
    )
    running = _failure(chains.DeleteChain, delete)
    info = _get(chains, workspace_id, chain_id).info

    assert (in_use.code, in_use.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CHAIN_IN_USE")
    assert schedule.metadata.id in in_use.message
    assert (running.code, running.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CHAIN_RUNNING",
    )
    assert (info.run_count, info.last_run_id) == (1, run_id)
    assert info.last_run_status == cp.CHAIN_RUN_STATUS_RUNNING
    assert info.last_run_at == created.metadata.created_at


def test_delete_removes_it_and_its_ended_runs(chains, workspace_id, agent, server, clock):
    created = _create(chains, workspace_id, _pipeline(agent.metadata.id))
    insert_run(
        server.database,
        account_id=created.metadata.account_id,
        workspace_id=workspace_id,
        chain_id=created.metadata.id,
        at=clock.now(),
        status=ChainRunStatus.SUCCEEDED,
    )
    chains.DeleteChain(
        pb.DeleteChainRequest(workspace_id=workspace_id, chain_id=created.metadata.id)
    )
    failure = _failure(
        chains.GetChain, pb.GetChainRequest(workspace_id=workspace_id, chain_id=created.metadata.id)
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND


def test_every_violation_is_named_by_its_path_in_one_error(chains, workspace_id, agent):
    agent_id = agent.metadata.id
    spec = cp.ChainSpec(
        nodes=[
            _node("a", agent_id),
            _node("a", agent_id),  # 1: duplicate name
            cp.ChainNode(name="b"),  # 2: neither agent nor schedule
            cp.ChainNode(name="c", agent_id=agent_id, schedule_id="sched_x"),  # 3: both
            cp.ChainNode(name="d", agent_id=agent_id),  # 4: no initial message
            _node("bad name!", agent_id),  # 5
            _node("", agent_id),  # 6
            _node("e", "agent_nosuch"),  # 7
            cp.ChainNode(name="f", schedule_id="sched_nosuch"),  # 8
            _node("g", agent_id, variation_id="nosuch"),  # 9
        ],
        overlap_policy=agent_schedule_pb2.OVERLAP_POLICY_BUFFER_ALL,
        edges=[
            _edge("a", "ghost"),  # 0
            _edge("", "a"),  # 1
            _edge("a", "a"),  # 2: self edge
            _edge("a", "d"),  # 3
            _edge("a", "d"),  # 4: duplicate
            _edge("a", "g", condition="nosuch > 1"),  # 5
            _edge("a", "e", output_mapping={"x": "output.", "": "output"}),  # 6
        ],
    )
    data = struct_pb2.Value(string_value="not an object")
    spec.nodes[0].data.CopyFrom(data)

    failure = _refused(chains, workspace_id, spec)

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(failure.violations) == sorted(
        [
            "spec.overlap_policy",
            "spec.nodes[0].data",
            "spec.nodes[1].name",
            "spec.nodes[2].agent_id",
            "spec.nodes[3]",
            "spec.nodes[4].initial_message",
            "spec.nodes[5].name",
            "spec.nodes[6].name",
            "spec.edges[0].to_node",
            "spec.edges[1].from_node",
            "spec.edges[2]",
            "spec.edges[4]",
            "spec.edges[5].condition",
            "spec.edges[6].output_mapping[]",
            "spec.edges[6].output_mapping[x]",
        ]
    )
    # The workspace is looked up once the spec itself is sound.
    references = _refused(
        chains,
        workspace_id,
        cp.ChainSpec(
            nodes=[
                _node("e", "agent_nosuch"),
                cp.ChainNode(name="f", schedule_id="sched_nosuch"),
                _node("g", agent_id, variation_id="nosuch"),
            ]
        ),
    )
    assert sorted(references.violations) == [
        "spec.nodes[0].agent_id",
        "spec.nodes[1].schedule_id",
        "spec.nodes[2].variation_id",
    ]


def test_the_edge_that_closes_a_cycle_is_named_with_the_cycle(chains, workspace_id, agent):
    spec = cp.ChainSpec(
        nodes=[_node(n, agent.metadata.id) for n in ("a", "b", "c", "d")],
        edges=[_edge("a", "b"), _edge("b", "c"), _edge("c", "d"), _edge("d", "b")],
    )
    failure = _refused(chains, workspace_id, spec)
    assert failure.violations == {
        "spec.edges[3]": "closes a cycle: d -> b -> c -> d; a chain must be acyclic"
    }


def test_a_bad_condition_says_where(chains, workspace_id, agent):
    spec = cp.ChainSpec(
        nodes=[_node(n, agent.metadata.id) for n in ("a", "b")],
        edges=[_edge("a", "b", condition='status == "SUCCEEDED" &&\n  output.count >')],
    )
    failure = _refused(chains, workspace_id, spec)
    assert list(failure.violations) == ["spec.edges[0].condition"]
    assert failure.violations["spec.edges[0].condition"].startswith("line 2, column")


def test_schedule_nodes_take_the_schedules_agent_for_the_variation_check(
    chains, agents, schedules, workspace_id
):
    varied = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="varied"),
            spec=agent_pb2.AgentSpec(
                variations=[agent_pb2.AgentVariation(id="fast", name="fast", weight=1)]
            ),
        )
    )
    schedule = schedules.CreateAgentSchedule(create_request(workspace_id, varied.metadata.id))
    good = cp.ChainNode(name="s", schedule_id=schedule.metadata.id, variation_id="fast")
    bad = cp.ChainNode(name="t", schedule_id=schedule.metadata.id, variation_id="slow")

    created = _create(chains, workspace_id, cp.ChainSpec(nodes=[good]))
    failure = _refused(chains, workspace_id, cp.ChainSpec(nodes=[good, bad]))

    assert created.spec.nodes[0].variation_id == "fast"
    assert list(failure.violations) == ["spec.nodes[1].variation_id"]


def test_other_workspaces_chains_are_not_found(chains, workspace_id, other_workspace_id, agent):
    created = _create(chains, workspace_id, _pipeline(agent.metadata.id))
    failure = _failure(
        chains.GetChain,
        pb.GetChainRequest(workspace_id=other_workspace_id, chain_id=created.metadata.id),
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND
    # An agent of another workspace is not a node this workspace's chain can name.
    refused = _refused(chains, other_workspace_id, _pipeline(agent.metadata.id))
    assert sorted(refused.violations) == [f"spec.nodes[{i}].agent_id" for i in range(3)]


def test_a_viewer_reads_but_cannot_write(server, channel, chains, workspace_id, agent):
    created = _create(chains, workspace_id, _pipeline(agent.metadata.id))
    keys = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
    viewer = keys.CreateApiKey(
        api_key_service_pb2.CreateApiKeyRequest(
            account_id=created.metadata.account_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="viewer"),
            spec=api_key_pb2.ApiKeySpec(role=access_pb2.ROLE_VIEWER),
        )
    )
    chain_id = created.metadata.id
    with authorized_channel(f"127.0.0.1:{server.port}", viewer.info.secret) as viewer_channel:
        stub = chain_service_pb2_grpc.ChainServiceStub(viewer_channel)
        assert _get(stub, workspace_id, chain_id) == created
        denied = [
            (stub.CreateChain, pb.CreateChainRequest(workspace_id=workspace_id)),
            (stub.UpdateChain, pb.UpdateChainRequest(workspace_id=workspace_id, chain_id=chain_id)),
            (stub.DeleteChain, pb.DeleteChainRequest(workspace_id=workspace_id, chain_id=chain_id)),
            (
                stub.TriggerChain,
                pb.TriggerChainRequest(workspace_id=workspace_id, chain_id=chain_id),
            ),
        ]
        for call, request in denied:
            assert _failure(call, request).code == grpc.StatusCode.PERMISSION_DENIED


def test_an_agent_or_schedule_a_node_runs_cannot_be_deleted(
    chains, agents, schedules, workspace_id, agent
):
    schedule = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    other = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name="x")
        )
    )
    by_schedule = _create(
        chains,
        workspace_id,
        cp.ChainSpec(nodes=[cp.ChainNode(name="s", schedule_id=schedule.metadata.id)]),
    )
    by_agent = _create(chains, workspace_id, cp.ChainSpec(nodes=[_node("o", other.metadata.id)]))

    schedule_refused = _failure(
        schedules.DeleteAgentSchedule,
        agent_schedule_service_pb2.DeleteAgentScheduleRequest(
            workspace_id=workspace_id,
            agent_id=agent.metadata.id,
            schedule_id=schedule.metadata.id,
        ),
    )
    # Deleting the agent with its schedules (force) would remove the schedule too.
    forced_refused = _failure(
        agents.DeleteAgent,
        agent_service_pb2.DeleteAgentRequest(
            workspace_id=workspace_id, agent_id=agent.metadata.id, force=True
        ),
    )
    agent_refused = _failure(
        agents.DeleteAgent,
        agent_service_pb2.DeleteAgentRequest(workspace_id=workspace_id, agent_id=other.metadata.id),
    )
    chains.DeleteChain(
        pb.DeleteChainRequest(workspace_id=workspace_id, chain_id=by_agent.metadata.id)
    )
    agents.DeleteAgent(
        agent_service_pb2.DeleteAgentRequest(workspace_id=workspace_id, agent_id=other.metadata.id)
    )

    assert (schedule_refused.code, schedule_refused.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SCHEDULE_IN_CHAIN",
    )
    assert by_schedule.metadata.id in schedule_refused.message
    assert forced_refused.reason == "AGENT_IN_CHAIN"
    assert by_schedule.metadata.id in forced_refused.message
    assert agent_refused.reason == "AGENT_IN_CHAIN"
    assert by_agent.metadata.id in agent_refused.message
