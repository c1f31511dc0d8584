"""PreviewSchedule: validate rules and return their next fire times, storing nothing."""

from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import timestamp_pb2

from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from tests.support.rpc import failure_of


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def test_preview_weekdays_at_nine_in_new_york(schedules):
    response = schedules.PreviewSchedule(
        pb.PreviewScheduleRequest(
            schedule=sp.AgentScheduleSpecSchedule(
                cron_expressions=["0 9 * * 1-5"], timezone="America/New_York"
            ),
            start_time=_timestamp(
                datetime(2026, 3, 6, 12, tzinfo=UTC)
            ),  # a Friday, before DST starts
            count=3,
        )
    )
    fires = [t.ToDatetime(tzinfo=UTC) for t in response.fire_times]
    assert fires == [
        datetime(2026, 3, 6, 14, tzinfo=UTC),  # Friday 09:00 EST
        datetime(2026, 3, 9, 13, tzinfo=UTC),  # Monday 09:00 EDT: DST began on Sunday
        datetime(2026, 3, 10, 13, tzinfo=UTC),
    ]
    assert list(response.nominal_times) == list(response.fire_times)


def test_preview_defaults_to_ten_fires_from_now(schedules, clock):
    response = schedules.PreviewSchedule(
        pb.PreviewScheduleRequest(
            schedule=sp.AgentScheduleSpecSchedule(cron_expressions=["*/5 * * * *"])
        )
    )
    assert len(response.fire_times) == 10
    assert response.fire_times[0].ToDatetime(tzinfo=UTC) > clock.now()


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        (
            {"schedule": sp.AgentScheduleSpecSchedule(cron_expressions=["61 * * * *"])},
            "schedule.cron_expressions[0]",
        ),
        ({"schedule": sp.AgentScheduleSpecSchedule()}, "schedule"),
        (
            {
                "schedule": sp.AgentScheduleSpecSchedule(cron_expressions=["* * * * *"]),
                "count": 1001,
            },
            "count",
        ),
    ],
    ids=["bad-cron", "no-rule", "count-too-large"],
)
def test_preview_names_bad_fields(schedules, request_fields, field):
    with pytest.raises(grpc.RpcError) as caught:
        schedules.PreviewSchedule(pb.PreviewScheduleRequest(**request_fields))
    assert field in failure_of(caught.value).violations
