"""AgentScheduleService through a real server: lifecycle, masks, etags, request ids."""

import concurrent.futures
from datetime import timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2, json_format

from sundial.v1 import (
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_service_pb2,
    metadata_pb2,
)
from tests.api.schedule_requests import create_request, hourly_rules, schedule_spec
from tests.support.rpc import failure_of

pb = agent_schedule_service_pb2
sp = agent_schedule_pb2


def _ids(workspace_id, schedule):
    return {
        "workspace_id": workspace_id,
        "agent_id": schedule.info.agent_id,
        "schedule_id": schedule.metadata.id,
    }


def test_create_fills_identity_and_next_fires(schedules, workspace_id, agent, clock):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))

    assert created.metadata.id.startswith("sched_")
    assert created.info.agent_id == agent.metadata.id
    assert created.spec.status == sp.AGENT_SCHEDULE_STATUS_ACTIVE
    # Hourly interval anchored at midnight: the next fire is the next full hour.
    assert created.info.next_fire_at.ToDatetime() == (clock.now() + timedelta(hours=1)).replace(
        tzinfo=None
    )
    assert len(created.info.future_fire_times) == 10
    assert created.info.future_fire_times[0] == created.info.next_fire_at
    assert not created.info.HasField("remaining_fires")


@pytest.mark.parametrize("status", ["AGENT_SCHEDULE_STATUS_ACTIVE", "AGENT_SCHEDULE_STATUS_PAUSED"])
def test_create_answers_exactly_what_a_get_then_reads(schedules, workspace_id, agent, status):
    """Create answers with what it wrote, not a read: every field must come out as a read of
    the row gives it (the whole message is compared)."""
    body = {
        "metadata": {
            "name": "every field",
            "bundleKey": "b-1",
            "externalId": "x-1",
            "labels": {"team": "ops", "tier": "1"},
        },
        "spec": {
            "initialMessage": "run the report",
            "schedule": {
                "calendars": [{"comment": "c", "month": [{"start": 1, "end": 12, "step": 2}]}],
                "intervals": [{"every": "5400s", "offset": "60s"}],
                "timezone": "Asia/Kolkata",
                "startTime": "2026-01-01T00:00:00.5Z",
                "endTime": "2036-01-01T00:00:00Z",
                "jitter": "1.5s",
                "dstGapPolicy": "DST_GAP_POLICY_SHIFT",
                "dstOverlapPolicy": "DST_OVERLAP_POLICY_FIRST",
            },
            "data": {"n": 42, "f": 0.1, "big": 1e300, "no": None, "yes": True, "deep": [{"a": []}]},
            "overlapPolicy": "OVERLAP_POLICY_BUFFER_ONE",
            "status": status,
            "catchupWindow": "600s",
            "executionTimeout": "30s",
            "retryPolicy": {"maxAttempts": 3, "initialBackoff": "2s", "backoffMultiplier": 1.5},
            "pauseOnFailure": True,
            "notes": "ünïcødé ✓",
            "maxFires": 7,
        },
    }
    request = json_format.ParseDict(body, pb.CreateAgentScheduleRequest())
    request.workspace_id, request.agent_id = workspace_id, agent.metadata.id
    created = schedules.CreateAgentSchedule(request)
    got = schedules.GetAgentSchedule(pb.GetAgentScheduleRequest(**_ids(workspace_id, created)))
    assert created == got
    assert created.info.created_by.metadata.id == created.metadata.profile_id
    assert bool(created.info.future_fire_times) == (status == "AGENT_SCHEDULE_STATUS_ACTIVE")


def test_pause_clears_next_fire_and_resume_does_not_replay(schedules, workspace_id, agent, clock):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    paused = schedules.PauseAgentSchedule(
        pb.PauseAgentScheduleRequest(**_ids(workspace_id, created), reason="maintenance")
    )
    assert paused.spec.status == sp.AGENT_SCHEDULE_STATUS_PAUSED
    assert paused.spec.notes == "maintenance"
    assert not paused.info.HasField("next_fire_at")
    assert list(paused.info.future_fire_times) == []

    clock.advance(timedelta(hours=5, minutes=30))
    resumed = schedules.ResumeAgentSchedule(
        pb.ResumeAgentScheduleRequest(**_ids(workspace_id, created))
    )

    assert resumed.spec.status == sp.AGENT_SCHEDULE_STATUS_ACTIVE
    # The first fire after now, not the five paused ones.
    assert resumed.info.next_fire_at.ToDatetime() == (clock.now() + timedelta(minutes=30)).replace(
        tzinfo=None
    )


def test_archived_schedules_are_hidden_unless_asked_for(schedules, workspace_id, agent):
    kept = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id, "kept"))
    gone = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id, "gone"))
    archived = schedules.ArchiveAgentSchedule(
        pb.ArchiveAgentScheduleRequest(**_ids(workspace_id, gone))
    )
    assert archived.spec.status == sp.AGENT_SCHEDULE_STATUS_ARCHIVED
    assert not archived.info.HasField("next_fire_at")

    def names(**kwargs):
        response = schedules.ListAgentSchedules(
            pb.ListAgentSchedulesRequest(
                workspace_id=workspace_id, agent_id=agent.metadata.id, **kwargs
            )
        )
        return [s.metadata.name for s in response.agent_schedules]

    assert names() == ["kept"]
    assert names(show_archived=True) == ["kept", "gone"]
    assert names(filter="status = ARCHIVED") == ["gone"]
    with pytest.raises(grpc.RpcError) as caught:
        schedules.ResumeAgentSchedule(pb.ResumeAgentScheduleRequest(**_ids(workspace_id, gone)))
    assert failure_of(caught.value).code == grpc.StatusCode.FAILED_PRECONDITION
    assert kept.metadata.id


def test_delete_removes_the_row(schedules, workspace_id, agent):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    schedules.DeleteAgentSchedule(pb.DeleteAgentScheduleRequest(**_ids(workspace_id, created)))
    with pytest.raises(grpc.RpcError) as caught:
        schedules.GetAgentSchedule(pb.GetAgentScheduleRequest(**_ids(workspace_id, created)))
    assert failure_of(caught.value).code == grpc.StatusCode.NOT_FOUND


def test_deleting_an_agent_with_schedules_needs_force(agents, schedules, workspace_id, agent):
    schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    request = agent_service_pb2.DeleteAgentRequest(
        workspace_id=workspace_id, agent_id=agent.metadata.id
    )
    with pytest.raises(grpc.RpcError) as caught:
        agents.DeleteAgent(request)
    assert failure_of(caught.value).reason == "AGENT_HAS_SCHEDULES"
    request.force = True
    agents.DeleteAgent(request)
    listed = schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(workspace_id=workspace_id, agent_id="-")
    )
    assert list(listed.agent_schedules) == []


# --- Update: masks and etags ---------------------------------------------------------------


def _update(schedules, workspace_id, schedule, **kwargs):
    return schedules.UpdateAgentSchedule(
        pb.UpdateAgentScheduleRequest(**_ids(workspace_id, schedule), **kwargs)
    )


def test_update_mask_listed_paths_change_only_those(schedules, workspace_id, agent):
    created = schedules.CreateAgentSchedule(
        create_request(workspace_id, agent.metadata.id, labels={"team": "a"})
    )
    updated = _update(
        schedules,
        workspace_id,
        created,
        metadata=metadata_pb2.CreateResourceMetadata(name="renamed", labels={"team": "b"}),
        spec=sp.AgentScheduleSpec(schedule=sp.AgentScheduleSpecSchedule(timezone="Europe/Berlin")),
        update_mask=field_mask_pb2.FieldMask(
            paths=["spec.schedule.timezone", "metadata.labels.team"]
        ),
    )
    assert updated.spec.schedule.timezone == "Europe/Berlin"
    assert updated.spec.schedule.intervals == created.spec.schedule.intervals
    assert updated.spec.initial_message == created.spec.initial_message
    assert updated.metadata.name == created.metadata.name
    assert updated.metadata.labels == {"team": "b"}


def test_update_without_mask_changes_populated_fields(schedules, workspace_id, agent):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    updated = _update(
        schedules,
        workspace_id,
        created,
        spec=sp.AgentScheduleSpec(notes="on call: ana", max_fires=3),
    )
    assert updated.spec.notes == "on call: ana"
    assert updated.spec.max_fires == 3
    assert updated.info.remaining_fires == 3
    assert updated.spec.schedule == created.spec.schedule
    assert updated.spec.initial_message == created.spec.initial_message
    assert updated.metadata.name == created.metadata.name


def test_update_star_mask_replaces_metadata_and_spec(schedules, workspace_id, agent):
    created = schedules.CreateAgentSchedule(
        create_request(
            workspace_id,
            agent.metadata.id,
            labels={"team": "a"},
            spec=schedule_spec(notes="old notes", max_fires=5),
        )
    )
    updated = _update(
        schedules,
        workspace_id,
        created,
        metadata=metadata_pb2.CreateResourceMetadata(name="new"),
        spec=schedule_spec(initial_message="new message"),
        update_mask=field_mask_pb2.FieldMask(paths=["*"]),
    )
    assert updated.metadata.name == "new"
    assert dict(updated.metadata.labels) == {}
    assert updated.spec.notes == ""
    assert updated.spec.max_fires == 0
    assert updated.spec.initial_message == "new message"
    # Status is not reset by a replacement that leaves it unspecified.
    assert updated.spec.status == sp.AGENT_SCHEDULE_STATUS_ACTIVE


def test_update_mask_rejects_unknown_paths_and_ignores_output_only(schedules, workspace_id, agent):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    with pytest.raises(grpc.RpcError) as caught:
        _update(
            schedules,
            workspace_id,
            created,
            update_mask=field_mask_pb2.FieldMask(paths=["spec.nope"]),
        )
    assert failure_of(caught.value).violations.keys() == {"update_mask"}

    updated = _update(
        schedules,
        workspace_id,
        created,
        spec=sp.AgentScheduleSpec(notes="x"),
        update_mask=field_mask_pb2.FieldMask(
            paths=["info.total_fires", "metadata.id", "spec.notes"]
        ),
    )
    assert updated.spec.notes == "x"
    assert updated.metadata.id == created.metadata.id


def test_stale_etag_is_aborted_on_update_pause_and_delete(schedules, workspace_id, agent):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    _update(
        schedules,
        workspace_id,
        created,
        spec=sp.AgentScheduleSpec(notes="first"),
        etag=created.metadata.etag,
    )
    stale = created.metadata.etag
    calls = [
        lambda: _update(
            schedules, workspace_id, created, spec=sp.AgentScheduleSpec(notes="second"), etag=stale
        ),
        lambda: schedules.PauseAgentSchedule(
            pb.PauseAgentScheduleRequest(**_ids(workspace_id, created), etag=stale)
        ),
        lambda: schedules.DeleteAgentSchedule(
            pb.DeleteAgentScheduleRequest(**_ids(workspace_id, created), etag=stale)
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert failure_of(caught.value).code == grpc.StatusCode.ABORTED
    current = schedules.GetAgentSchedule(pb.GetAgentScheduleRequest(**_ids(workspace_id, created)))
    assert current.spec.notes == "first"


def test_editing_rules_never_fires_immediately(schedules, workspace_id, agent, clock):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    clock.advance(timedelta(minutes=10))
    updated = _update(
        schedules,
        workspace_id,
        created,
        spec=sp.AgentScheduleSpec(
            schedule=sp.AgentScheduleSpecSchedule(cron_expressions=["*/15 * * * *"])
        ),
        update_mask=field_mask_pb2.FieldMask(paths=["spec.schedule"]),
    )
    assert updated.info.next_fire_at.ToDatetime() > clock.now().replace(tzinfo=None)
    assert list(updated.spec.schedule.cron_expressions) == ["*/15 * * * *"]


# --- Create: request ids and validate_only -------------------------------------------------


def test_request_id_replays_the_original(schedules, workspace_id, agent):
    request = create_request(workspace_id, agent.metadata.id, request_id="f2b7c1e0-retry")
    first = schedules.CreateAgentSchedule(request)
    again = schedules.CreateAgentSchedule(request)
    assert again.metadata.id == first.metadata.id

    request.spec.notes = "something else"
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(request)
    assert failure_of(caught.value).code == grpc.StatusCode.ALREADY_EXISTS
    assert failure_of(caught.value).reason == "REQUEST_ID_REUSED"


def test_request_id_expires_after_24_hours(schedules, workspace_id, agent, clock):
    request = create_request(workspace_id, agent.metadata.id, request_id="daily-key")
    first = schedules.CreateAgentSchedule(request)
    clock.advance(timedelta(hours=24, seconds=1))
    second = schedules.CreateAgentSchedule(request)
    assert second.metadata.id != first.metadata.id


def test_concurrent_duplicate_creates_make_exactly_one_row(schedules, workspace_id, agent):
    request = create_request(workspace_id, agent.metadata.id, request_id="burst-1")
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: schedules.CreateAgentSchedule(request), range(16)))
    assert len({r.metadata.id for r in results}) == 1
    listed = schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(workspace_id=workspace_id, agent_id=agent.metadata.id)
    )
    assert [s.metadata.id for s in listed.agent_schedules] == [results[0].metadata.id]


def test_validate_only_returns_the_schedule_without_writing(schedules, workspace_id, agent):
    preview = schedules.CreateAgentSchedule(
        create_request(workspace_id, agent.metadata.id, validate_only=True, request_id="r1")
    )
    assert preview.metadata.id == ""
    assert preview.spec.status == sp.AGENT_SCHEDULE_STATUS_ACTIVE
    assert preview.info.HasField("next_fire_at")
    listed = schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(workspace_id=workspace_id, agent_id="-")
    )
    assert list(listed.agent_schedules) == []
    # validate_only does not consume the request id.
    created = schedules.CreateAgentSchedule(
        create_request(workspace_id, agent.metadata.id, request_id="r1")
    )
    assert created.metadata.id


# --- Tenancy -----------------------------------------------------------------------------


def test_schedule_of_another_workspace_or_agent_is_not_found(
    agents, schedules, workspace_id, other_workspace_id, agent
):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    other_agent = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=other_workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name="o")
        )
    )
    attempts = [
        pb.GetAgentScheduleRequest(
            workspace_id=other_workspace_id,
            agent_id=agent.metadata.id,
            schedule_id=created.metadata.id,
        ),
        pb.GetAgentScheduleRequest(
            workspace_id=other_workspace_id,
            agent_id=other_agent.metadata.id,
            schedule_id=created.metadata.id,
        ),
        pb.GetAgentScheduleRequest(
            workspace_id=workspace_id,
            agent_id="agent_01JUNKJUNKJUNKJUNKJUNKJUNK",
            schedule_id=created.metadata.id,
        ),
    ]
    for request in attempts:
        with pytest.raises(grpc.RpcError) as caught:
            schedules.GetAgentSchedule(request)
        assert failure_of(caught.value).code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(create_request(other_workspace_id, agent.metadata.id))
    assert failure_of(caught.value).code == grpc.StatusCode.NOT_FOUND
    listed = schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(workspace_id=other_workspace_id, agent_id="-")
    )
    assert list(listed.agent_schedules) == []


def test_workspace_wide_listing_covers_every_agent(agents, schedules, workspace_id, agent):
    second = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name="second")
        )
    )
    a = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id, "a"))
    b = schedules.CreateAgentSchedule(create_request(workspace_id, second.metadata.id, "b"))
    for agent_id in ("-", ""):
        listed = schedules.ListAgentSchedules(
            pb.ListAgentSchedulesRequest(workspace_id=workspace_id, agent_id=agent_id)
        )
        assert [s.metadata.id for s in listed.agent_schedules] == [a.metadata.id, b.metadata.id]
    only_b = schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(
            workspace_id=workspace_id, agent_id="-", filter=f'agent_id = "{second.metadata.id}"'
        )
    )
    assert [s.metadata.id for s in only_b.agent_schedules] == [b.metadata.id]
    assert hourly_rules() == a.spec.schedule
