"""InsightService over gRPC, on both databases, with the exact numbers of the scenario in
tests.support.insight_scenario (a fake clock)."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import duration_pb2, json_format

from sundial.api.call_guard import method_access
from sundial.api.client import authorized_channel
from sundial.api.grpc_server import SERVICES
from sundial.domain.clock import FakeClock
from sundial.domain.principals import Permission
from sundial.server import SundialServer
from sundial.v1 import (
    access_pb2,
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    insight_service_pb2,
    insight_service_pb2_grpc,
    metadata_pb2,
    objective_pb2,
)
from tests.support.insight_scenario import NOW, START, Actor, Scenario, build
from tests.support.rpc import failure_of

pb = insight_service_pb2
HOUR = duration_pb2.Duration(seconds=3600)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def insight(channel: grpc.Channel) -> insight_service_pb2_grpc.InsightServiceStub:
    return insight_service_pb2_grpc.InsightServiceStub(channel)


@pytest.fixture
def scenario(server: SundialServer, clock: FakeClock, channel: grpc.Channel) -> Scenario:
    return build(server, clock, channel)


def _seconds(duration: duration_pb2.Duration) -> float:
    return duration.seconds + duration.nanos / 1e9


def test_workspace_stats_count_schedules_and_the_objectives_of_today_and_the_window(
    insight, scenario
):
    stats = insight.GetWorkspaceStats(
        pb.GetWorkspaceStatsRequest(workspace_id=scenario.workspace_id, window=HOUR)
    )
    assert stats.schedules == pb.ScheduleCounts(active=2, paused=1, archived=0, total=3)
    today = stats.today
    assert today.start_time.ToDatetime(UTC) == datetime(2026, 3, 2, tzinfo=UTC)
    assert today.end_time.ToDatetime(UTC) == NOW
    assert today.counts == pb.ObjectiveCounts(pending=1, succeeded=1, failed=1, total=3)
    assert today.success_rate == 0.5
    assert _seconds(today.average_duration) == 60
    assert _seconds(today.p95_duration) == 90
    # The last hour holds the failed fire and the manual trigger only.
    window = stats.window
    assert window.start_time.ToDatetime(UTC) == NOW - timedelta(hours=1)
    assert window.counts == pb.ObjectiveCounts(pending=1, failed=1, total=2)
    assert window.HasField("success_rate")
    assert window.success_rate == 0.0
    assert _seconds(window.average_duration) == 90
    assert _seconds(window.p95_duration) == 90


def test_today_follows_the_time_zone(insight, scenario):
    # 14:01:40 UTC is 23:01:40 in Tokyo: its day began at 15:00 UTC the day before.
    stats = insight.GetWorkspaceStats(
        pb.GetWorkspaceStatsRequest(workspace_id=scenario.workspace_id, time_zone="Asia/Tokyo")
    )
    assert stats.today.start_time.ToDatetime(UTC) == datetime(2026, 3, 1, 15, tzinfo=UTC)
    assert stats.today.counts.total == 3


def test_stats_of_an_empty_window_have_no_rates(insight, scenario, clock):
    clock.advance(timedelta(days=2))
    stats = insight.GetWorkspaceStats(
        pb.GetWorkspaceStatsRequest(workspace_id=scenario.workspace_id, window=HOUR)
    )
    assert stats.window.counts.total == 0
    assert not stats.window.HasField("success_rate")
    assert not stats.window.HasField("average_duration")


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"window": duration_pb2.Duration(seconds=32 * 86400)}, "window"),
        ({"window": duration_pb2.Duration(seconds=-1)}, "window"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ],
    ids=["window-too-long", "window-negative", "unknown-zone"],
)
def test_bad_stats_requests_name_the_field(insight, scenario, request_fields, field):
    with pytest.raises(grpc.RpcError) as raised:
        insight.GetWorkspaceStats(
            pb.GetWorkspaceStatsRequest(workspace_id=scenario.workspace_id, **request_fields)
        )
    failure = failure_of(raised.value)
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert field in failure.violations


def test_schedule_stats_count_fires_by_origin(insight, scenario):
    stats = insight.GetScheduleStats(
        pb.GetScheduleStatsRequest(
            workspace_id=scenario.workspace_id, agent_id="-", schedule_id=scenario.hourly_id
        )
    )
    assert stats.schedule_id == scenario.hourly_id
    assert stats.window.counts == pb.ObjectiveCounts(pending=1, succeeded=1, failed=1, total=3)
    assert stats.window_fires == pb.FireCounts(scheduled=2, manual=1)
    assert (stats.lifetime_missed_fires, stats.lifetime_skipped_fires) == (0, 0)
    daily = insight.GetScheduleStats(
        pb.GetScheduleStatsRequest(
            workspace_id=scenario.workspace_id,
            agent_id=scenario.agent_id,
            schedule_id=scenario.daily_id,
        )
    )
    assert daily.window.counts.total == 0


def test_schedule_stats_of_an_unknown_schedule_are_not_found(insight, scenario):
    with pytest.raises(grpc.RpcError) as raised:
        insight.GetScheduleStats(
            pb.GetScheduleStatsRequest(
                workspace_id=scenario.workspace_id, agent_id="-", schedule_id="sched_nope"
            )
        )
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


def test_engine_status_reports_the_last_pass_and_the_recent_lag(insight, scenario, server):
    status = insight.GetEngineStatus(pb.GetEngineStatusRequest(workspace_id=scenario.workspace_id))
    assert status.running
    assert len(status.replicas) == 1
    replica = status.replicas[0]
    assert replica.started_at.ToDatetime(UTC) == START + timedelta(hours=1, seconds=5)
    assert replica.last_seen_at.ToDatetime(UTC) == NOW
    assert status.last_pass_at.ToDatetime(UTC) == NOW
    assert status.schedules_examined_last_pass == 0
    # Idle: the engine wakes 5 seconds after its pass (the next fire is at 15:00).
    assert status.next_wake_at.ToDatetime(UTC) == NOW + timedelta(seconds=5)
    # The fires of the last 15 minutes: the 14:00 fire, 10 seconds late.
    assert status.recent_fires == 1
    assert _seconds(status.recent_fire_lag_p99) == 10


def test_engine_status_counts_the_schedules_a_pass_examined(insight, scenario, server, clock):
    clock.advance(timedelta(minutes=58, seconds=20))  # 15:00:00: hourly is due
    server.engine.run_pass()
    status = insight.GetEngineStatus(pb.GetEngineStatusRequest(workspace_id=scenario.workspace_id))
    assert status.schedules_examined_last_pass == 1
    assert status.last_pass_at.ToDatetime(UTC) == datetime(2026, 3, 2, 15, tzinfo=UTC)
    assert status.recent_fires == 1  # the 14:00 fire left the 15 minutes; the 15:00 one is on time
    assert _seconds(status.recent_fire_lag_p99) == 0


def test_an_engine_not_seen_for_30_seconds_is_not_running(insight, scenario, clock):
    clock.advance(timedelta(seconds=31))
    status = insight.GetEngineStatus(pb.GetEngineStatusRequest(workspace_id=scenario.workspace_id))
    assert not status.running
    assert list(status.replicas) == []
    assert not status.HasField("next_wake_at")


def test_past_heatmap_counts_objectives_by_local_day_and_hour(insight, scenario):
    heatmap = insight.GetFireHeatmap(pb.GetFireHeatmapRequest(workspace_id=scenario.workspace_id))
    assert heatmap.source == pb.HEATMAP_SOURCE_PAST
    assert heatmap.time_zone == "UTC"
    assert heatmap.start_time.ToDatetime(UTC) == NOW - timedelta(days=7)
    assert heatmap.total == 3
    assert [day.day_of_week for day in heatmap.days] == list(range(7))
    monday = list(heatmap.days[1].hours)
    assert monday[13] == 1
    assert monday[14] == 2
    assert sum(monday) == 3
    tokyo = insight.GetFireHeatmap(
        pb.GetFireHeatmapRequest(workspace_id=scenario.workspace_id, time_zone="Asia/Tokyo")
    )
    assert tokyo.days[1].hours[22] == 1
    assert tokyo.days[1].hours[23] == 2


def test_future_heatmap_counts_the_active_schedules_fire_times(insight, scenario):
    heatmap = insight.GetFireHeatmap(
        pb.GetFireHeatmapRequest(
            workspace_id=scenario.workspace_id,
            source=pb.HEATMAP_SOURCE_FUTURE,
            window=duration_pb2.Duration(seconds=86400),
        )
    )
    # hourly: 15:00 Monday to 14:00 Tuesday (24); daily: Tuesday 09:00; paused: none.
    assert heatmap.total == 25
    monday, tuesday = list(heatmap.days[1].hours), list(heatmap.days[2].hours)
    assert monday == [0] * 15 + [1] * 9
    assert tuesday == [1] * 9 + [2] + [1] * 5 + [0] * 9


def test_calendar_fires_page_through_past_and_planned_fires(insight, scenario):
    def page(token: str = "") -> pb.ListCalendarFiresResponse:
        request = pb.ListCalendarFiresRequest(
            workspace_id=scenario.workspace_id, page_size=4, page_token=token
        )
        request.start_time.FromDatetime(START)
        request.end_time.FromDatetime(START + timedelta(hours=6))
        return insight.ListCalendarFires(request)

    first = page()
    assert [f.objective_id for f in first.fires] == [
        scenario.first_id,
        scenario.second_id,
        scenario.manual_id,
        "",
    ]
    assert [f.status for f in first.fires] == [
        objective_pb2.OBJECTIVE_STATUS_SUCCEEDED,
        objective_pb2.OBJECTIVE_STATUS_FAILED,
        objective_pb2.OBJECTIVE_STATUS_PENDING,
        objective_pb2.OBJECTIVE_STATUS_UNSPECIFIED,
    ]
    assert first.fires[2].trigger_kind == objective_pb2.TRIGGER_KIND_MANUAL
    assert first.fires[3].time.ToDatetime(UTC) == datetime(2026, 3, 2, 15, tzinfo=UTC)
    assert {f.schedule_name for f in first.fires} == {"hourly"}
    assert first.next_page_token
    second = page(first.next_page_token)
    assert [f.time.ToDatetime(UTC).hour for f in second.fires] == [16, 17]
    assert second.next_page_token == ""


def test_calendar_window_is_bounded(insight, scenario):
    request = pb.ListCalendarFiresRequest(workspace_id=scenario.workspace_id)
    request.start_time.FromDatetime(START)
    request.end_time.FromDatetime(START + timedelta(days=32))
    with pytest.raises(grpc.RpcError) as raised:
        insight.ListCalendarFires(request)
    assert "end_time" in failure_of(raised.value).violations


def test_suggestions_pick_the_least_loaded_hours(insight, scenario):
    reply = insight.SuggestScheduleTimes(
        pb.SuggestScheduleTimesRequest(
            workspace_id=scenario.workspace_id, cadence=pb.SUGGESTION_CADENCE_DAILY
        )
    )
    # Every hour holds 7 hourly fires over the next 7 days; 09:00 also 7 daily ones.
    assert [(s.hour, s.planned_fires, s.cron_expression) for s in reply.suggestions] == [
        (0, 7, "0 0 * * *"),
        (1, 7, "0 1 * * *"),
        (2, 7, "0 2 * * *"),
    ]
    assert reply.suggestions[0].reason == (
        "7 fires planned 00:00-00:59 daily over the next 7 days; the busiest slot has 14"
    )
    weekly = insight.SuggestScheduleTimes(
        pb.SuggestScheduleTimesRequest(
            workspace_id=scenario.workspace_id,
            cadence=pb.SUGGESTION_CADENCE_WEEKLY,
            max_suggestions=1,
        )
    )
    assert [(s.day_of_week, s.hour, s.cron_expression) for s in weekly.suggestions] == [
        (0, 0, "0 0 * * 0")
    ]


def test_compare_objectives_lines_up_status_duration_and_output(insight, scenario):
    reply = insight.CompareObjectives(
        pb.CompareObjectivesRequest(
            workspace_id=scenario.workspace_id,
            agent_id=scenario.agent_id,
            schedule_id=scenario.hourly_id,
            objective_ids=[scenario.first_id, scenario.second_id],
        )
    )
    assert [(o.objective_id, o.status, o.attempt) for o in reply.objectives] == [
        (scenario.first_id, objective_pb2.OBJECTIVE_STATUS_SUCCEEDED, 1),
        (scenario.second_id, objective_pb2.OBJECTIVE_STATUS_FAILED, 1),
    ]
    assert [_seconds(o.duration) for o in reply.objectives] == [30, 90]
    assert [d.path for d in reply.differences] == ["output"]
    values = reply.differences[0].values
    assert values[0].present
    assert not values[1].present
    assert json_format.MessageToDict(values[0].value) == {"score": 1, "tags": ["a"]}


def test_compare_objectives_diffs_by_path(insight, scenario, server, clock, channel):
    actor = Actor(server, clock, channel)
    actor.agent_id = scenario.agent_id
    other = actor.trigger(scenario.hourly_id)
    actor.claim(scenario.manual_id)
    actor.complete(scenario.manual_id, {"score": 2, "tags": ["a", "b"], "extra": None})
    actor.claim(other)
    actor.complete(other, {"score": 1.0, "tags": ["a"]})
    reply = insight.CompareObjectives(
        pb.CompareObjectivesRequest(
            workspace_id=scenario.workspace_id,
            agent_id="-",
            schedule_id=scenario.hourly_id,
            objective_ids=[scenario.first_id, scenario.manual_id, other],
        )
    )
    found = {
        d.path: [json_format.MessageToDict(v.value) if v.present else "absent" for v in d.values]
        for d in reply.differences
    }
    assert found == {
        "output.extra": ["absent", None, "absent"],
        "output.score": [1, 2, 1],
        "output.tags[1]": ["absent", "b", "absent"],
    }


@pytest.mark.parametrize(
    ("ids", "code", "field"),
    [
        (lambda s: [s.first_id], grpc.StatusCode.INVALID_ARGUMENT, "objective_ids"),
        (lambda s: [s.first_id, s.first_id], grpc.StatusCode.INVALID_ARGUMENT, "objective_ids[1]"),
        (lambda s: [s.first_id, "obj_nope"], grpc.StatusCode.NOT_FOUND, None),
    ],
    ids=["one", "twice", "unknown"],
)
def test_compare_objectives_refuses_bad_lists(insight, scenario, ids, code, field):
    with pytest.raises(grpc.RpcError) as raised:
        insight.CompareObjectives(
            pb.CompareObjectivesRequest(
                workspace_id=scenario.workspace_id,
                agent_id="-",
                schedule_id=scenario.hourly_id,
                objective_ids=ids(scenario),
            )
        )
    failure = failure_of(raised.value)
    assert failure.code is code
    if field is not None:
        assert field in failure.violations


def test_compare_refuses_an_objective_of_another_schedule(
    insight, scenario, server, clock, channel
):
    actor = Actor(server, clock, channel)
    actor.agent_id = scenario.agent_id
    elsewhere = actor.trigger(scenario.daily_id)
    with pytest.raises(grpc.RpcError) as raised:
        insight.CompareObjectives(
            pb.CompareObjectivesRequest(
                workspace_id=scenario.workspace_id,
                agent_id="-",
                schedule_id=scenario.hourly_id,
                objective_ids=[scenario.first_id, elsewhere],
            )
        )
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


def test_schedule_info_counts_manual_fires_and_follows_the_newest_objective(scenario, schedules):
    info = schedules.GetAgentSchedule(
        agent_schedule_service_pb2.GetAgentScheduleRequest(
            workspace_id=scenario.workspace_id, agent_id="-", schedule_id=scenario.hourly_id
        )
    ).info
    assert (info.total_fires, info.manual_fires, info.backfill_fires, info.retry_attempts) == (
        2,
        1,
        0,
        0,
    )
    assert info.last_objective_id == scenario.manual_id
    assert info.last_objective_status == objective_pb2.OBJECTIVE_STATUS_PENDING


def test_retries_and_backfills_are_counted_and_shown_as_the_last_objective(
    server, clock, channel, schedules
):
    actor = Actor(server, clock, channel)
    retried = actor.create(
        "retried",
        "0 9 * * *",
        retry_policy=agent_schedule_pb2.RetryPolicy(max_attempts=2),
    )
    triggered = actor.trigger(retried)
    actor.claim(triggered)
    actor.fail(triggered, retryable=True)
    retry = actor.newest_objective(retried)
    backfill = agent_schedule_service_pb2.BackfillAgentScheduleRequest(
        workspace_id=actor.workspace_id, agent_id=actor.agent_id, schedule_id=retried
    )
    backfill.start_time.FromDatetime(START - timedelta(days=2))
    backfill.end_time.FromDatetime(START)
    assert schedules.BackfillAgentSchedule(backfill).created_count == 2
    info = schedules.GetAgentSchedule(
        agent_schedule_service_pb2.GetAgentScheduleRequest(
            workspace_id=actor.workspace_id, agent_id="-", schedule_id=retried
        )
    ).info
    assert (info.total_fires, info.manual_fires, info.backfill_fires, info.retry_attempts) == (
        0,
        1,
        2,
        1,
    )
    assert retry != triggered
    newest = actor.newest_objective(retried)
    assert info.last_objective_id == newest


def _key(channel, server, role, workspace_ids):
    keys = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
    return keys.CreateApiKey(
        api_key_service_pb2.CreateApiKeyRequest(
            account_id=server.bootstrap.default_workspace.account_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="viewer"),
            spec=api_key_pb2.ApiKeySpec(role=role, workspace_ids=workspace_ids),
        )
    ).info.secret


@pytest.mark.parametrize(
    ("role", "own_workspace", "code"),
    [
        (access_pb2.ROLE_VIEWER, True, None),
        (access_pb2.ROLE_VIEWER, False, grpc.StatusCode.PERMISSION_DENIED),
        (access_pb2.ROLE_WORKER, True, grpc.StatusCode.PERMISSION_DENIED),
    ],
    ids=["viewer", "viewer-of-another-workspace", "worker"],
)
def test_insight_needs_read_permission_on_the_workspace(
    server, channel, scenario, other_workspace_id, role, own_workspace, code
):
    secret = _key(
        channel, server, role, [scenario.workspace_id if own_workspace else other_workspace_id]
    )
    with authorized_channel(f"127.0.0.1:{server.port}", secret) as keyed:
        stub = insight_service_pb2_grpc.InsightServiceStub(keyed)
        calls = [
            lambda: stub.GetWorkspaceStats(
                pb.GetWorkspaceStatsRequest(workspace_id=scenario.workspace_id)
            ),
            lambda: stub.GetEngineStatus(
                pb.GetEngineStatusRequest(workspace_id=scenario.workspace_id)
            ),
            lambda: stub.GetFireHeatmap(
                pb.GetFireHeatmapRequest(workspace_id=scenario.workspace_id)
            ),
        ]
        for call in calls:
            if code is None:
                call()
                continue
            with pytest.raises(grpc.RpcError) as raised:
                call()
            assert raised.value.code() is code


def test_every_insight_method_has_a_permission_rule():
    rules = method_access(SERVICES)
    service = insight_service_pb2.DESCRIPTOR.services_by_name["InsightService"]
    for method in service.methods:
        rule = rules[f"/{service.full_name}/{method.name}"]
        assert rule.permission is Permission.READ, method.name
        assert rule.workspace_field, method.name


def test_views_refuse_a_window_with_more_fires_than_the_cap(insight, scenario, monkeypatch):
    monkeypatch.setattr("sundial.service.fire_views.MAX_FIRES", 2)
    request = pb.ListCalendarFiresRequest(workspace_id=scenario.workspace_id)
    request.start_time.FromDatetime(START)
    request.end_time.FromDatetime(START + timedelta(hours=6))
    with pytest.raises(grpc.RpcError) as raised:
        insight.ListCalendarFires(request)
    assert "end_time" in failure_of(raised.value).violations
    with pytest.raises(grpc.RpcError) as raised:
        insight.GetFireHeatmap(pb.GetFireHeatmapRequest(workspace_id=scenario.workspace_id))
    assert "window" in failure_of(raised.value).violations


def test_schedule_stats_count_missed_and_skipped_fires_over_the_window(
    insight, server, clock, channel
):
    actor = Actor(server, clock, channel)
    skipper = actor.create(
        "skipper",
        "0 * * * *",
        overlap_policy=agent_schedule_pb2.OVERLAP_POLICY_SKIP,
        catchup_window=duration_pb2.Duration(seconds=600),
    )
    actor.fire(START + timedelta(hours=1, seconds=5))  # 13:00 fires and stays PENDING
    actor.fire(START + timedelta(hours=2, seconds=10))  # 14:00 is skipped
    actor.fire(START + timedelta(hours=3, minutes=30))  # 15:00 is 30 minutes late: missed

    def stats(window: int) -> pb.ScheduleStats:
        return insight.GetScheduleStats(
            pb.GetScheduleStatsRequest(
                workspace_id=actor.workspace_id,
                agent_id="-",
                schedule_id=skipper,
                window=duration_pb2.Duration(seconds=window),
            )
        )

    day = stats(86400)
    assert (day.window_missed_fires, day.window_skipped_fires) == (1, 1)
    assert (day.lifetime_missed_fires, day.lifetime_skipped_fires) == (1, 1)
    assert day.window_fires == pb.FireCounts(scheduled=1)
    # From 14:30: the skip (14:00:10) is outside, the miss (15:30) inside.
    last_hour = stats(3600)
    assert (last_hour.window_missed_fires, last_hour.window_skipped_fires) == (1, 0)
    assert last_hour.window_fires == pb.FireCounts()
