"""BatchCreateAgentSchedules over gRPC: all or nothing, every violation under its request's
index, at most 1,000 requests, the parent rules of AIP-233, idempotent with request_id,
the Create permission, and schedules the engine fires."""

import concurrent.futures
from datetime import UTC, timedelta

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2

from sundial.api.client import authorized_channel
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Role
from sundial.domain.tenancy import ApiKeySpec
from sundial.service.notifier import SCHEDULES
from sundial.service.schedule_batches import MAX_BATCH_SIZE
from sundial.v1 import agent_pb2, agent_service_pb2, metadata_pb2
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from sundial.v1 import agent_schedule_service_pb2_grpc as pb_grpc
from sundial.v1 import objective_service_pb2 as ob
from tests.api.schedule_requests import schedule_spec
from tests.support.rpc import failure_of


def _item(name: str, **kwargs: object) -> pb.CreateAgentScheduleRequest:
    """A request of a batch, naming no parent (it is the batch's)."""
    spec = kwargs.pop("spec", None) or schedule_spec()
    return pb.CreateAgentScheduleRequest(
        metadata=metadata_pb2.CreateResourceMetadata(name=name), spec=spec, **kwargs
    )


def _batch(
    workspace_id: str, agent_id: str, items, **kwargs
) -> pb.BatchCreateAgentSchedulesRequest:
    return pb.BatchCreateAgentSchedulesRequest(
        workspace_id=workspace_id, agent_id=agent_id, requests=items, **kwargs
    )


def _listed(schedules, workspace_id: str) -> list[sp.AgentSchedule]:
    response = schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(workspace_id=workspace_id, agent_id="-", page_size=1000)
    )
    return list(response.agent_schedules)


def _refused(call, request) -> object:
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return failure_of(caught.value)


def _every(seconds: int, jitter: int = 0) -> sp.AgentScheduleSpecSchedule:
    rules = sp.AgentScheduleSpecSchedule(
        intervals=[sp.ScheduleInterval(every=duration_pb2.Duration(seconds=seconds))]
    )
    if jitter:
        rules.jitter.FromSeconds(jitter)
    return rules


# --- what a batch creates ------------------------------------------------------------------


def test_a_batch_creates_every_schedule_in_the_order_of_its_requests(
    schedules, workspace_id, agent
):
    agent_id = agent.metadata.id
    items = [
        _item("first"),
        # A request may name the batch's parent, or leave it empty.
        _item("second", workspace_id=workspace_id, agent_id=agent_id),
        # Jitter depends on the schedule's id, and so do the fire times of equal rules.
        _item("jittered", spec=schedule_spec(schedule=_every(600, jitter=120))),
        _item("jittered-too", spec=schedule_spec(schedule=_every(600, jitter=120))),
        _item(
            "third",
            spec=schedule_spec(schedule=_every(600), status=sp.AGENT_SCHEDULE_STATUS_PAUSED),
        ),
    ]
    created = schedules.BatchCreateAgentSchedules(_batch(workspace_id, agent_id, items))

    names = ["first", "second", "jittered", "jittered-too", "third"]
    assert [s.metadata.name for s in created.agent_schedules] == names
    ids = [s.metadata.id for s in created.agent_schedules]
    assert len(set(ids)) == 5
    assert all(i.startswith("sched_") for i in ids)
    assert ids == sorted(ids)  # creation order
    for schedule in created.agent_schedules:
        assert schedule.metadata.workspace_id == workspace_id
        assert schedule.metadata.etag
        assert schedule.info.created_by.metadata.id
    assert created.agent_schedules[0].spec.status == sp.AGENT_SCHEDULE_STATUS_ACTIVE
    assert len(created.agent_schedules[0].info.future_fire_times) == 10
    jittered = created.agent_schedules[2]
    assert jittered.info.future_fire_times[0] == jittered.info.next_fire_at
    assert len(jittered.info.future_fire_times) == 10
    assert created.agent_schedules[3].info.next_fire_at != jittered.info.next_fire_at
    paused = created.agent_schedules[4]
    assert paused.spec.status == sp.AGENT_SCHEDULE_STATUS_PAUSED
    assert not paused.info.HasField("next_fire_at")

    # What a Get returns is what the batch returned.
    for schedule in created.agent_schedules:
        got = schedules.GetAgentSchedule(
            pb.GetAgentScheduleRequest(
                workspace_id=workspace_id, agent_id=agent_id, schedule_id=schedule.metadata.id
            )
        )
        assert got == schedule
    assert sorted(s.metadata.id for s in _listed(schedules, workspace_id)) == ids


def test_a_batch_of_1000_is_created_and_1001_is_refused(schedules, workspace_id, agent):
    agent_id = agent.metadata.id
    too_many = [_item(f"s{i}") for i in range(MAX_BATCH_SIZE + 1)]
    failure = _refused(
        schedules.BatchCreateAgentSchedules, _batch(workspace_id, agent_id, too_many)
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == ["requests"]
    assert "at most 1000 requests" in failure.violations["requests"]
    assert _listed(schedules, workspace_id) == []

    created = schedules.BatchCreateAgentSchedules(
        _batch(workspace_id, agent_id, too_many[:MAX_BATCH_SIZE])
    )
    assert len(created.agent_schedules) == MAX_BATCH_SIZE
    assert [s.metadata.name for s in created.agent_schedules] == [
        f"s{i}" for i in range(MAX_BATCH_SIZE)
    ]
    listed = schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(workspace_id=workspace_id, agent_id=agent_id, page_size=1000)
    )
    assert len(listed.agent_schedules) == MAX_BATCH_SIZE


def test_an_empty_batch_is_refused(schedules, workspace_id, agent):
    failure = _refused(
        schedules.BatchCreateAgentSchedules, _batch(workspace_id, agent.metadata.id, [])
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == ["requests"]


# --- all or nothing ------------------------------------------------------------------------


def test_one_bad_request_creates_nothing_and_every_violation_names_its_index(
    schedules, workspace_id, agent
):
    items = [_item(f"s{i}") for i in range(10)]
    items[7] = _item(
        "bad-cron",
        spec=schedule_spec(schedule=sp.AgentScheduleSpecSchedule(cron_expressions=["0 * * *"])),
    )
    items[3] = _item("", spec=schedule_spec(initial_message=""))
    failure = _refused(
        schedules.BatchCreateAgentSchedules, _batch(workspace_id, agent.metadata.id, items)
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    # In the order of the requests; each as a Create of that request names it, under its index.
    assert list(failure.violations) == [
        "requests[3].metadata.name",
        "requests[3].spec.initial_message",
        "requests[7].spec.schedule.cron_expressions[0]",
    ]
    assert _listed(schedules, workspace_id) == []

    single = _refused(
        schedules.CreateAgentSchedule,
        pb.CreateAgentScheduleRequest(
            workspace_id=workspace_id,
            agent_id=agent.metadata.id,
            metadata=items[7].metadata,
            spec=items[7].spec,
        ),
    )
    assert single.violations == {
        "spec.schedule.cron_expressions[0]": failure.violations[
            "requests[7].spec.schedule.cron_expressions[0]"
        ]
    }


def test_values_that_do_not_convert_are_named_under_their_index(schedules, workspace_id, agent):
    items = [_item("a"), _item("b"), _item("c")]
    items[0].spec.overlap_policy = 99  # no such enum value
    items[2].spec.catchup_window.seconds = 10**12  # beyond Duration's range
    failure = _refused(
        schedules.BatchCreateAgentSchedules, _batch(workspace_id, agent.metadata.id, items)
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == [
        "requests[0].spec.overlap_policy",
        "requests[2].spec.catchup_window",
    ]
    assert _listed(schedules, workspace_id) == []


def test_data_is_checked_against_the_agent_schema_per_request(agents, schedules, workspace_id):
    schema = struct_pb2.Struct()
    schema.update({"type": "object", "required": ["team"]})
    typed = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="typed"),
            spec=agent_pb2.AgentSpec(input_data_schema=schema),
        )
    )
    good = struct_pb2.Value()
    good.struct_value.update({"team": "ops"})
    bad = struct_pb2.Value()
    bad.struct_value.update({"owner": "me"})
    items = [
        _item("good", spec=schedule_spec(data=good)),
        _item("bad", spec=schedule_spec(data=bad)),
    ]
    failure = _refused(
        schedules.BatchCreateAgentSchedules, _batch(workspace_id, typed.metadata.id, items)
    )
    assert list(failure.violations) == ["requests[1].spec.data"]
    assert "input_data_schema" in failure.violations["requests[1].spec.data"]


# --- the parent (AIP-233) ------------------------------------------------------------------


def test_a_request_naming_another_parent_or_batch_fields_is_refused(
    agents, schedules, workspace_id, other_workspace_id, agent
):
    other = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name="other")
        )
    )
    items = [
        _item("other-workspace", workspace_id=other_workspace_id),
        _item("other-agent", agent_id=other.metadata.id),
        _item("own-request-id", request_id="r-1"),
        _item("own-validate-only", validate_only=True),
        _item("fine"),
    ]
    failure = _refused(
        schedules.BatchCreateAgentSchedules, _batch(workspace_id, agent.metadata.id, items)
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == [
        "requests[0].workspace_id",
        "requests[1].agent_id",
        "requests[2].request_id",
        "requests[3].validate_only",
    ]
    assert agent.metadata.id in failure.violations["requests[1].agent_id"]
    assert _listed(schedules, workspace_id) == []


def test_agent_dash_lets_each_request_name_its_agent(agents, schedules, workspace_id, agent):
    other = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name="other")
        )
    )
    items = [_item("mine", agent_id=agent.metadata.id), _item("theirs", agent_id=other.metadata.id)]
    created = schedules.BatchCreateAgentSchedules(_batch(workspace_id, "-", items))
    assert [s.info.agent_id for s in created.agent_schedules] == [
        agent.metadata.id,
        other.metadata.id,
    ]

    failure = _refused(
        schedules.BatchCreateAgentSchedules,
        _batch(workspace_id, "-", [_item("named", agent_id=agent.metadata.id), _item("unnamed")]),
    )
    assert list(failure.violations) == ["requests[1].agent_id"]
    assert len(_listed(schedules, workspace_id)) == 2


def test_an_unknown_agent_is_not_found_and_nothing_is_created(schedules, workspace_id, agent):
    for agent_id, items in [
        ("agent_missing", [_item("a")]),
        ("-", [_item("a", agent_id=agent.metadata.id), _item("b", agent_id="agent_missing")]),
    ]:
        failure = _refused(
            schedules.BatchCreateAgentSchedules, _batch(workspace_id, agent_id, items)
        )
        assert failure.code == grpc.StatusCode.NOT_FOUND
        assert failure.reason == "AGENT_NOT_FOUND"
    assert _listed(schedules, workspace_id) == []


def test_an_empty_agent_id_is_refused(schedules, workspace_id):
    failure = _refused(schedules.BatchCreateAgentSchedules, _batch(workspace_id, "", [_item("a")]))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "agent_id" in failure.violations


# --- request_id and validate_only ----------------------------------------------------------


def test_a_retried_batch_returns_the_schedules_it_created(schedules, workspace_id, agent):
    request = _batch(
        workspace_id, agent.metadata.id, [_item("a"), _item("b")], request_id="import-2026-12"
    )
    first = schedules.BatchCreateAgentSchedules(request)
    again = schedules.BatchCreateAgentSchedules(request)
    assert [s.metadata.id for s in again.agent_schedules] == [
        s.metadata.id for s in first.agent_schedules
    ]
    assert len(_listed(schedules, workspace_id)) == 2

    request.requests[1].spec.notes = "something else"
    failure = _refused(schedules.BatchCreateAgentSchedules, request)
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "REQUEST_ID_REUSED"
    assert len(_listed(schedules, workspace_id)) == 2


def test_a_replay_shows_the_schedules_as_they_are_now(schedules, workspace_id, agent):
    request = _batch(workspace_id, agent.metadata.id, [_item("a"), _item("b")], request_id="k1")
    first = schedules.BatchCreateAgentSchedules(request)
    paused = schedules.PauseAgentSchedule(
        pb.PauseAgentScheduleRequest(
            workspace_id=workspace_id,
            agent_id=agent.metadata.id,
            schedule_id=first.agent_schedules[1].metadata.id,
        )
    )
    again = schedules.BatchCreateAgentSchedules(request)
    assert again.agent_schedules[1] == paused

    schedules.DeleteAgentSchedule(
        pb.DeleteAgentScheduleRequest(
            workspace_id=workspace_id,
            agent_id=agent.metadata.id,
            schedule_id=first.agent_schedules[0].metadata.id,
        )
    )
    failure = _refused(schedules.BatchCreateAgentSchedules, request)
    assert failure.code == grpc.StatusCode.NOT_FOUND


def test_a_batch_request_id_expires_after_24_hours(schedules, workspace_id, agent, clock):
    request = _batch(workspace_id, agent.metadata.id, [_item("a")], request_id="daily-import")
    first = schedules.BatchCreateAgentSchedules(request)
    clock.advance(timedelta(hours=24, seconds=1))
    second = schedules.BatchCreateAgentSchedules(request)
    assert second.agent_schedules[0].metadata.id != first.agent_schedules[0].metadata.id
    assert len(_listed(schedules, workspace_id)) == 2


def test_racing_retries_of_one_batch_create_it_once(schedules, workspace_id, agent):
    request = _batch(
        workspace_id, agent.metadata.id, [_item(f"s{i}") for i in range(20)], request_id="burst"
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: schedules.BatchCreateAgentSchedules(request), range(12)))
    ids = {tuple(s.metadata.id for s in r.agent_schedules) for r in results}
    assert len(ids) == 1
    assert sorted(s.metadata.id for s in _listed(schedules, workspace_id)) == sorted(ids.pop())


def test_a_bad_request_id_is_named(schedules, workspace_id, agent):
    failure = _refused(
        schedules.BatchCreateAgentSchedules,
        _batch(workspace_id, agent.metadata.id, [_item("a")], request_id="has space"),
    )
    assert list(failure.violations) == ["request_id"]


def test_validate_only_checks_every_request_and_writes_nothing(schedules, workspace_id, agent):
    items = [_item("a"), _item("b")]
    previews = schedules.BatchCreateAgentSchedules(
        _batch(workspace_id, agent.metadata.id, items, validate_only=True, request_id="v1")
    )
    assert [s.metadata.name for s in previews.agent_schedules] == ["a", "b"]
    assert all(
        s.metadata.id == "" and s.info.HasField("next_fire_at") for s in previews.agent_schedules
    )
    assert _listed(schedules, workspace_id) == []

    items[1].spec.initial_message = ""
    failure = _refused(
        schedules.BatchCreateAgentSchedules,
        _batch(workspace_id, agent.metadata.id, items, validate_only=True),
    )
    assert list(failure.violations) == ["requests[1].spec.initial_message"]
    # validate_only does not take the request id.
    created = schedules.BatchCreateAgentSchedules(
        _batch(workspace_id, agent.metadata.id, [_item("a")], request_id="v1")
    )
    assert created.agent_schedules[0].metadata.id


# --- who may call it -----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.WORKER], ids=lambda r: r.name.lower())
def test_it_needs_the_permission_create_needs(server, schedules, workspace_id, agent, role):
    key = server.api_keys.create(
        server.bootstrap.principal, MetadataInput(name="limited"), ApiKeySpec(role=role)
    )
    request = _batch(workspace_id, agent.metadata.id, [_item("a")])
    with authorized_channel(f"127.0.0.1:{server.port}", key.info.secret) as channel:
        limited = pb_grpc.AgentScheduleServiceStub(channel)
        for call in (limited.CreateAgentSchedule, limited.BatchCreateAgentSchedules):
            single = pb.CreateAgentScheduleRequest(
                workspace_id=workspace_id,
                agent_id=agent.metadata.id,
                metadata=request.requests[0].metadata,
                spec=request.requests[0].spec,
            )
            failure = _refused(call, single if call is limited.CreateAgentSchedule else request)
            assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    assert _listed(schedules, workspace_id) == []

    editor = server.api_keys.create(
        server.bootstrap.principal, MetadataInput(name="editor"), ApiKeySpec(role=Role.EDITOR)
    )
    with authorized_channel(f"127.0.0.1:{server.port}", editor.info.secret) as channel:
        created = pb_grpc.AgentScheduleServiceStub(channel).BatchCreateAgentSchedules(request)
    assert len(created.agent_schedules) == 1


def test_a_key_of_another_workspace_is_denied(
    server, schedules, workspace_id, other_workspace_id, agent
):
    key = server.api_keys.create(
        server.bootstrap.principal,
        MetadataInput(name="elsewhere"),
        ApiKeySpec(role=Role.ADMIN, workspace_ids=(other_workspace_id,)),
    )
    with authorized_channel(f"127.0.0.1:{server.port}", key.info.secret) as channel:
        failure = _refused(
            pb_grpc.AgentScheduleServiceStub(channel).BatchCreateAgentSchedules,
            _batch(workspace_id, agent.metadata.id, [_item("a")]),
        )
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    assert _listed(schedules, workspace_id) == []


# --- the engine ----------------------------------------------------------------------------


def test_the_engine_is_woken_once_and_fires_every_new_schedule(
    server, schedules, objectives, workspace_id, agent, clock
):
    woken, published = [], []
    server.notifier.on_schedules_changed(woken.append)
    server.notifier.add_publisher(lambda topic, payload: published.append((topic, payload)))
    allow = sp.OVERLAP_POLICY_ALLOW  # every fire runs, whatever is still in flight
    items = [
        _item(f"s{i}", spec=schedule_spec(schedule=_every(60 * (i + 1)), overlap_policy=allow))
        for i in range(5)
    ]
    items.append(
        _item(
            "paused",
            spec=schedule_spec(schedule=_every(60), status=sp.AGENT_SCHEDULE_STATUS_PAUSED),
        )
    )
    created = schedules.BatchCreateAgentSchedules(_batch(workspace_id, agent.metadata.id, items))
    nexts = [
        s.info.next_fire_at.ToDatetime().replace(tzinfo=UTC) for s in created.agent_schedules[:5]
    ]
    # One wake-up, at the earliest new fire: the engine takes the rest from its index. (On
    # PostgreSQL the server also hears its own NOTIFY back, so the local loop may be told
    # twice; what it is told is the same.)
    assert published == [(SCHEDULES, min(nexts).isoformat())]
    assert woken
    assert set(woken) == {min(nexts)}

    clock.advance(timedelta(minutes=5))
    server.engine.run_pass()
    response = objectives.ListObjectives(
        ob.ListObjectivesRequest(
            workspace_id=workspace_id, agent_id=agent.metadata.id, page_size=1000
        )
    )
    fired: dict[str, int] = {}
    for objective in response.objectives:
        fired[objective.spec.schedule_id] = fired.get(objective.spec.schedule_id, 0) + 1
    ids = [s.metadata.id for s in created.agent_schedules]
    # Every 1, 2, 3, 4 and 5 minutes, over five minutes from 12:00 (the times in (12:00, 12:05]).
    assert fired == {ids[0]: 5, ids[1]: 2, ids[2]: 1, ids[3]: 1, ids[4]: 1}

    # What a Get shows afterwards is the schedule's new position, not the batch's (the
    # future fire times follow the engine).
    got = schedules.GetAgentSchedule(
        pb.GetAgentScheduleRequest(
            workspace_id=workspace_id, agent_id=agent.metadata.id, schedule_id=ids[0]
        )
    )
    assert got.info.total_fires == 5
    assert got.info.future_fire_times[0] == got.info.next_fire_at
    assert got.info.future_fire_times[0] != created.agent_schedules[0].info.future_fire_times[0]
