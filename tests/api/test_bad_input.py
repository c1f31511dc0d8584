"""Bad input answers INVALID_ARGUMENT naming the field, over gRPC, on both databases:
specs too costly to evaluate, specs past their caps, out-of-range Durations and
Timestamps, NUL characters, JSON nested too deep, forged page tokens, unknown zones."""

import base64
import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from sundial.domain.schedules import (
    MAX_AT_TIMES,
    MAX_CRON_EXPRESSIONS,
    MAX_CRON_LENGTH,
    MAX_DATA_DEPTH,
    MAX_EXCLUDE_CALENDARS,
    MAX_RANGES_PER_FIELD,
)
from sundial.service.validation import MAX_DESCRIPTION_LENGTH
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from tests.api.schedule_requests import create_request, hourly_rules, schedule_spec
from tests.support.rpc import failure_of

R = sp.ScheduleRange
DAY = 86400


def _seconds(value: int, nanos: int = 0) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=value, nanos=nanos)


def _stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _invalid(call, request) -> dict[str, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, failure
    return failure.violations


def _nested(depth: int) -> struct_pb2.Value:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value}
    data = struct_pb2.Value()
    data.struct_value.update(value)  # type: ignore[arg-type]
    return data


COSTLY = sp.AgentScheduleSpecSchedule(
    intervals=[sp.ScheduleInterval(every=_seconds(1))],
    exclude_calendars=[
        sp.ScheduleCalendar(hour=[R(start=0, end=11)]),
        sp.ScheduleCalendar(hour=[R(start=12, end=23)]),
    ],
    timezone="America/New_York",
)


def test_a_spec_too_costly_to_evaluate_is_refused(schedules, workspace_id, agent):
    violations = _invalid(
        schedules.CreateAgentSchedule,
        create_request(workspace_id, agent.metadata.id, spec=schedule_spec(schedule=COSTLY)),
    )
    assert "too costly to evaluate" in violations["spec.schedule"]
    violations = _invalid(schedules.PreviewSchedule, pb.PreviewScheduleRequest(schedule=COSTLY))
    assert "too costly to evaluate" in violations["schedule"]


def _rules(**fields: object) -> dict[str, object]:
    return {"schedule": sp.AgentScheduleSpecSchedule(**fields)}


CAPS = [
    pytest.param(
        _rules(cron_expressions=["0 * * * *"] * (MAX_CRON_EXPRESSIONS + 1)),
        "spec.schedule.cron_expressions",
        id="cron-strings",
    ),
    pytest.param(
        _rules(cron_expressions=["0 * * * *" + " " * MAX_CRON_LENGTH]),
        "spec.schedule.cron_expressions[0]",
        id="cron-length",
    ),
    pytest.param(
        _rules(at=[_stamp(datetime(2030, 1, 1, tzinfo=UTC)) for _ in range(MAX_AT_TIMES + 1)]),
        "spec.schedule.at",
        id="at-times",
    ),
    pytest.param(
        _rules(
            cron_expressions=["0 * * * *"],
            exclude_calendars=[sp.ScheduleCalendar(hour=[R(start=3)])]
            * (MAX_EXCLUDE_CALENDARS + 1),
        ),
        "spec.schedule.exclude_calendars",
        id="exclude-calendars",
    ),
    pytest.param(
        _rules(calendars=[sp.ScheduleCalendar(minute=[R(start=1)] * (MAX_RANGES_PER_FIELD + 1))]),
        "spec.schedule.calendars[0].minute",
        id="ranges-per-field",
    ),
    pytest.param(
        _rules(intervals=[sp.ScheduleInterval(every=_seconds(401 * 366 * DAY))]),
        "spec.schedule.intervals[0].every",
        id="every",
    ),
    pytest.param(
        {"schedule": hourly_rules(jitter=_seconds(3654 * DAY))},
        "spec.schedule.jitter",
        id="jitter",
    ),
    pytest.param(
        {"execution_timeout": _seconds(315_576_000_000)},
        "spec.execution_timeout",
        id="execution-timeout",
    ),
    pytest.param(
        {"catchup_window": _seconds(367 * DAY)}, "spec.catchup_window", id="catchup-window"
    ),
    pytest.param(
        {"retry_policy": sp.RetryPolicy(initial_backoff=_seconds(367 * DAY))},
        "spec.retry_policy.initial_backoff",
        id="initial-backoff",
    ),
    pytest.param(
        {"retry_policy": sp.RetryPolicy(max_backoff=_seconds(367 * DAY))},
        "spec.retry_policy.max_backoff",
        id="max-backoff",
    ),
    # Outside what google.protobuf.Duration and Timestamp allow at all.
    pytest.param(
        {"execution_timeout": _seconds(10**12)}, "spec.execution_timeout", id="seconds-1e12"
    ),
    pytest.param(
        {"catchup_window": _seconds(1, 2_000_000_000)}, "spec.catchup_window", id="nanos-2e9"
    ),
    pytest.param(
        {"schedule": hourly_rules(start_time=timestamp_pb2.Timestamp(seconds=-62_135_596_801))},
        "spec.schedule.start_time",
        id="timestamp-before-year-1",
    ),
    pytest.param(
        {"schedule": hourly_rules(end_time=timestamp_pb2.Timestamp(seconds=253_402_300_800))},
        "spec.schedule.end_time",
        id="timestamp-after-9999",
    ),
    pytest.param(
        {"schedule": hourly_rules(end_time=timestamp_pb2.Timestamp(seconds=0, nanos=-1))},
        "spec.schedule.end_time",
        id="timestamp-negative-nanos",
    ),
    pytest.param({"data": _nested(MAX_DATA_DEPTH + 1)}, "spec.data", id="data-too-deep"),
]


@pytest.mark.parametrize(("spec_fields", "field"), CAPS)
def test_a_spec_past_its_caps_is_refused(schedules, workspace_id, agent, spec_fields, field):
    request = create_request(workspace_id, agent.metadata.id, spec=schedule_spec(**spec_fields))
    assert field in _invalid(schedules.CreateAgentSchedule, request)


def test_data_at_the_depth_limit_is_kept(schedules, workspace_id, agent):
    data = _nested(MAX_DATA_DEPTH)
    request = create_request(workspace_id, agent.metadata.id, spec=schedule_spec(data=data))
    assert schedules.CreateAgentSchedule(request).spec.data == data


NUL = "a\x00b"


def _data_with_nul() -> struct_pb2.Value:
    data = struct_pb2.Value()
    data.struct_value.update({"note": {"deep": [NUL]}})
    return data


@pytest.mark.parametrize(
    ("method", "make_request", "field"),
    [
        pytest.param(
            "CreateAgentSchedule",
            lambda ws, agent: create_request(ws, agent, request_id=NUL),
            "request_id",
            id="request-id",
        ),
        pytest.param(
            "CreateAgentSchedule",
            lambda ws, agent: create_request(ws, agent, spec=schedule_spec(data=_data_with_nul())),
            "spec.data",
            id="data",
        ),
        pytest.param(
            "GetAgentSchedule",
            lambda ws, agent: pb.GetAgentScheduleRequest(
                workspace_id=ws, agent_id=agent, schedule_id=NUL
            ),
            "schedule_id",
            id="path-id",
        ),
        pytest.param(
            "ListAgentSchedules",
            lambda ws, agent: pb.ListAgentSchedulesRequest(
                workspace_id=ws, agent_id=agent, filter=f'metadata.name = "{NUL}"'
            ),
            "filter",
            id="filter",
        ),
        pytest.param(
            "ListAgentSchedules",
            lambda ws, agent: pb.ListAgentSchedulesRequest(
                workspace_id=ws, agent_id=agent, page_token=NUL
            ),
            "page_token",
            id="page-token",
        ),
        pytest.param(
            "PauseAgentSchedule",
            lambda ws, agent: pb.PauseAgentScheduleRequest(
                workspace_id=ws, agent_id=agent, schedule_id="sch_x", reason=NUL
            ),
            "reason",
            id="pause-reason",
        ),
    ],
)
def test_a_nul_character_is_refused_naming_the_field(
    schedules, workspace_id, agent, method, make_request, field
):
    request = make_request(workspace_id, agent.metadata.id)
    violations = _invalid(getattr(schedules, method), request)
    assert "NUL" in violations[field]


def _token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        _token(b"[" * 100_000 + b"]" * 100_000),
        _token(json.dumps({"v": 1, "after": "\udc00", "q": "x"}).encode()),
        _token(json.dumps({"v": 1, "after": "sch_\u0000", "q": "x"}).encode()),
        _token(b"[1, 2]"),
    ],
    ids=["deep-list", "lone-surrogate", "nul", "not-an-object"],
)
def test_a_forged_page_token_is_refused(schedules, workspace_id, agent, token):
    request = pb.ListAgentSchedulesRequest(
        workspace_id=workspace_id, agent_id=agent.metadata.id, page_token=token
    )
    assert "page_token" in _invalid(schedules.ListAgentSchedules, request)


@pytest.mark.parametrize("zone", ["posixrules", "Factory", "localtime", "right/UTC", "posix/UTC"])
def test_files_of_the_zoneinfo_directory_are_not_zones(schedules, zone):
    request = pb.PreviewScheduleRequest(
        schedule=sp.AgentScheduleSpecSchedule(cron_expressions=["0 9 * * *"], timezone=zone)
    )
    assert "schedule.timezone" in _invalid(schedules.PreviewSchedule, request)


@pytest.mark.parametrize("zone", ["America/New_York", "US/Eastern", "Etc/GMT+5", "UTC", "GMT"])
def test_canonical_zones_and_their_aliases_are_accepted(schedules, zone):
    request = pb.PreviewScheduleRequest(
        schedule=sp.AgentScheduleSpecSchedule(cron_expressions=["0 9 * * *"], timezone=zone),
        count=1,
    )
    assert len(schedules.PreviewSchedule(request).fire_times) == 1


def test_preview_from_year_one_returns_the_first_representable_fires(schedules):
    at = _stamp(datetime(2030, 1, 1, tzinfo=UTC))
    request = pb.PreviewScheduleRequest(
        schedule=sp.AgentScheduleSpecSchedule(
            cron_expressions=["0 9 * * *"], at=[at], timezone="America/New_York"
        ),
        start_time=timestamp_pb2.Timestamp(seconds=-62_135_596_800),  # 0001-01-01T00:00Z
        count=3,
    )
    fires = [t.ToDatetime(tzinfo=UTC) for t in schedules.PreviewSchedule(request).nominal_times]
    # 09:00 in New York's local mean time (UTC-4:56:02), from the first day the engine walks.
    first = datetime(2, 1, 1, 13, 56, 2, tzinfo=UTC)
    assert fires == [first, first + timedelta(days=1), first + timedelta(days=2)]


def test_a_pause_reason_is_held_to_the_length_of_notes(schedules, workspace_id, agent):
    created = schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id))
    request = pb.PauseAgentScheduleRequest(
        workspace_id=workspace_id,
        agent_id=agent.metadata.id,
        schedule_id=created.metadata.id,
        reason="r" * (MAX_DESCRIPTION_LENGTH + 1),
    )
    assert "reason" in _invalid(schedules.PauseAgentSchedule, request)
    request.reason = "r" * MAX_DESCRIPTION_LENGTH
    assert schedules.PauseAgentSchedule(request).spec.notes == request.reason
