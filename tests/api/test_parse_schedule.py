"""ParseSchedule over gRPC (schedule text to rules, with a description and a confidence),
and the description every schedule read and PreviewSchedule carry."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2

from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from tests.api.schedule_requests import create_request, schedule_spec
from tests.support.rpc import failure_of

FRIDAY_BEFORE_DST = datetime(2026, 3, 6, 20, tzinfo=UTC)  # noon in Los Angeles


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def test_parse_gives_rules_that_preview_accepts(schedules):
    parsed = schedules.ParseSchedule(
        pb.ParseScheduleRequest(
            text="every weekday at 9am Pacific", reference_time=_timestamp(FRIDAY_BEFORE_DST)
        )
    )
    assert parsed.method == pb.PARSE_METHOD_GRAMMAR
    assert parsed.confidence == 1.0
    assert parsed.schedule.timezone == "America/Los_Angeles"
    assert parsed.description == "at 09:00 on Monday through Friday, in America/Los_Angeles"
    preview = schedules.PreviewSchedule(
        pb.PreviewScheduleRequest(
            schedule=parsed.schedule, start_time=_timestamp(FRIDAY_BEFORE_DST), count=2
        )
    )
    assert [t.ToDatetime(tzinfo=UTC) for t in preview.fire_times] == [
        datetime(2026, 3, 9, 16, tzinfo=UTC),  # Monday 09:00 PDT: DST began on Sunday
        datetime(2026, 3, 10, 16, tzinfo=UTC),
    ]
    assert preview.description == parsed.description


def test_parse_counts_relative_words_from_now_by_default(schedules, clock):
    parsed = schedules.ParseSchedule(pb.ParseScheduleRequest(text="in 2 hours"))
    assert [t.ToDatetime(tzinfo=UTC) for t in parsed.schedule.at] == [
        clock.now() + timedelta(hours=2)
    ]


def test_parse_uses_the_default_zone_when_the_text_names_none(schedules):
    parsed = schedules.ParseSchedule(
        pb.ParseScheduleRequest(text="every day at 9", timezone="Europe/Berlin")
    )
    assert parsed.schedule.timezone == "Europe/Berlin"


def test_parse_passes_cron_strings_through(schedules):
    parsed = schedules.ParseSchedule(pb.ParseScheduleRequest(text="*/15 9-17 * * 1-5"))
    assert parsed.method == pb.PARSE_METHOD_CRON
    assert list(parsed.schedule.cron_expressions) == ["*/15 9-17 * * 1-5"]
    assert parsed.description == (
        "every 15 minutes during hour 9 through 17 on Monday through Friday, in UTC"
    )


def test_parse_confidence_is_lower_when_a_time_was_assumed(schedules):
    parsed = schedules.ParseSchedule(pb.ParseScheduleRequest(text="every monday"))
    assert 0 < parsed.confidence < 1


@pytest.mark.parametrize(
    ("request_fields", "field", "words"),
    [
        ({"text": "every weekday at 9 except blursdays"}, "text", '"blursdays" at character 27'),
        ({"text": ""}, "text", "required"),
        ({"text": "every day at 9", "timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
    ],
    ids=["unknown-words", "empty", "bad-zone"],
)
def test_parse_names_the_bad_field(schedules, request_fields, field, words):
    with pytest.raises(grpc.RpcError) as caught:
        schedules.ParseSchedule(pb.ParseScheduleRequest(**request_fields))
    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert words in failure.violations[field]


def test_every_schedule_read_carries_its_description(schedules, workspace_id, agent):
    rules = sp.AgentScheduleSpecSchedule(
        cron_expressions=["0 9 * * 1-5"], timezone="America/New_York"
    )
    request = create_request(workspace_id, agent.metadata.id, spec=schedule_spec(schedule=rules))
    created = schedules.CreateAgentSchedule(request)
    expected = "at 09:00 on Monday through Friday, in America/New_York"
    assert created.info.description == expected
    ids = {
        "workspace_id": workspace_id,
        "agent_id": agent.metadata.id,
        "schedule_id": created.metadata.id,
    }
    got = schedules.GetAgentSchedule(pb.GetAgentScheduleRequest(**ids))
    assert got.info.description == expected
    listed = schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(workspace_id=workspace_id, agent_id=agent.metadata.id)
    )
    assert [s.info.description for s in listed.agent_schedules] == [expected]
    paused = schedules.PauseAgentSchedule(pb.PauseAgentScheduleRequest(**ids))
    assert paused.info.description == expected
