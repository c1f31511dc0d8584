"""Every validation rule gives INVALID_ARGUMENT with a field violation naming its path."""

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2

from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import metadata_pb2
from tests.api.schedule_requests import create_request, schedule_spec
from tests.support.rpc import failure_of


def _calendar(**fields):
    return sp.AgentScheduleSpecSchedule(calendars=[sp.ScheduleCalendar(**fields)])


def _interval(every, offset=0):
    return sp.AgentScheduleSpecSchedule(
        intervals=[
            sp.ScheduleInterval(
                every=duration_pb2.Duration(seconds=every),
                offset=duration_pb2.Duration(seconds=offset),
            )
        ]
    )


R = sp.ScheduleRange
CASES = [
    (
        "hour-24",
        {"schedule": _calendar(hour=[R(start=24)])},
        None,
        "spec.schedule.calendars[0].hour[0].start",
    ),
    (
        "hour-end-24",
        {"schedule": _calendar(hour=[R(start=1, end=24)])},
        None,
        "spec.schedule.calendars[0].hour[0].end",
    ),
    (
        "month-13",
        {"schedule": _calendar(month=[R(start=13)])},
        None,
        "spec.schedule.calendars[0].month[0].start",
    ),
    (
        "dow-8",
        {"schedule": _calendar(day_of_week=[R(start=8)])},
        None,
        "spec.schedule.calendars[0].day_of_week[0].start",
    ),
    (
        "negative-step",
        {"schedule": _calendar(minute=[R(start=0, end=59, step=-5)])},
        None,
        "spec.schedule.calendars[0].minute[0].step",
    ),
    ("every-zero", {"schedule": _interval(0)}, None, "spec.schedule.intervals[0].every"),
    ("every-negative", {"schedule": _interval(-60)}, None, "spec.schedule.intervals[0].every"),
    (
        "offset-not-below-every",
        {"schedule": _interval(60, 60)},
        None,
        "spec.schedule.intervals[0].offset",
    ),
    (
        "unknown-timezone",
        {
            "schedule": sp.AgentScheduleSpecSchedule(
                timezone="Mars/Olympus_Mons", cron_expressions=["0 * * * *"]
            )
        },
        None,
        "spec.schedule.timezone",
    ),
    (
        "bad-cron",
        {"schedule": sp.AgentScheduleSpecSchedule(cron_expressions=["0 * * *"])},
        None,
        "spec.schedule.cron_expressions[0]",
    ),
    ("no-rule", {"schedule": sp.AgentScheduleSpecSchedule(timezone="UTC")}, None, "spec.schedule"),
    (
        "feb-30-only",
        {"schedule": _calendar(month=[R(start=2)], day_of_month=[R(start=30)])},
        None,
        "spec.schedule.calendars[0]",
    ),
    ("empty-initial-message", {"initial_message": " "}, None, "spec.initial_message"),
    ("oversized-data", {"data": struct_pb2.Value(string_value="x" * 70_000)}, None, "spec.data"),
    ("negative-max-fires", {"max_fires": -1}, None, "spec.max_fires"),
    (
        "zero-execution-timeout",
        {"execution_timeout": duration_pb2.Duration(seconds=0)},
        None,
        "spec.execution_timeout",
    ),
    ("unknown-variation", {"variation_id": "nope"}, None, "spec.variation_id"),
    (
        "retry-attempts",
        {"retry_policy": sp.RetryPolicy(max_attempts=1000)},
        None,
        "spec.retry_policy.max_attempts",
    ),
    (
        "retry-multiplier",
        {"retry_policy": sp.RetryPolicy(backoff_multiplier=0.5)},
        None,
        "spec.retry_policy.backoff_multiplier",
    ),
    ("empty-name", {}, metadata_pb2.CreateResourceMetadata(name=""), "metadata.name"),
    ("oversized-name", {}, metadata_pb2.CreateResourceMetadata(name="n" * 300), "metadata.name"),
    (
        "bad-label-key",
        {},
        metadata_pb2.CreateResourceMetadata(name="n", labels={"Team Name": "x"}),
        "metadata.labels[Team Name]",
    ),
    (
        "too-many-labels",
        {},
        metadata_pb2.CreateResourceMetadata(name="n", labels={f"l{i}": "x" for i in range(65)}),
        "metadata.labels",
    ),
    (
        "oversized-label-value",
        {},
        metadata_pb2.CreateResourceMetadata(name="n", labels={"k": "v" * 300}),
        "metadata.labels[k]",
    ),
]


@pytest.mark.parametrize(
    ("spec_fields", "metadata", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_field_is_named(schedules, workspace_id, agent, spec_fields, metadata, field):
    request = create_request(workspace_id, agent.metadata.id, spec=schedule_spec(**spec_fields))
    if metadata is not None:
        request.metadata.CopyFrom(metadata)
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(request)
    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in failure.violations, failure.violations
    assert failure.reason == "INVALID_ARGUMENT"
    assert failure.domain == "sundial.dev"


def test_every_violation_is_reported_at_once(schedules, workspace_id, agent):
    spec = schedule_spec(
        initial_message="", schedule=_calendar(hour=[R(start=25)], month=[R(start=0)])
    )
    request = create_request(workspace_id, agent.metadata.id, spec=spec)
    request.metadata.name = ""
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(request)
    assert {
        "metadata.name",
        "spec.initial_message",
        "spec.schedule.calendars[0].hour[0].start",
        "spec.schedule.calendars[0].month[0].start",
    } <= set(failure_of(caught.value).violations)


def test_data_must_satisfy_the_agents_input_schema(agents, schedules, workspace_id):
    from sundial.v1 import agent_pb2, agent_service_pb2

    schema = struct_pb2.Struct()
    schema.update(
        {"type": "object", "required": ["customer"], "properties": {"customer": {"type": "string"}}}
    )
    agent = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="typed"),
            spec=agent_pb2.AgentSpec(input_data_schema=schema),
        )
    )
    data = struct_pb2.Value()
    data.struct_value.update({"customer": 7})
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(
            create_request(workspace_id, agent.metadata.id, spec=schedule_spec(data=data))
        )
    assert "spec.data.customer" in failure_of(caught.value).violations
    data.struct_value.update({"customer": "acme"})
    created = schedules.CreateAgentSchedule(
        create_request(workspace_id, agent.metadata.id, spec=schedule_spec(data=data))
    )
    assert created.spec.data.struct_value["customer"] == "acme"


def test_sub_microsecond_durations_are_rejected_not_rounded(schedules, workspace_id, agent):
    spec = schedule_spec(execution_timeout=duration_pb2.Duration(seconds=1, nanos=1))
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id, spec=spec))
    assert "spec.execution_timeout" in failure_of(caught.value).violations


def test_violations_come_in_spec_order_and_a_missing_agent_comes_first(
    schedules, workspace_id, agent
):
    """Create checks the rules before its transaction and the rest of the spec in it; the
    answer is as if in one pass: NOT_FOUND for a missing agent over any violation, and the
    spec's violations before its rules'."""
    spec = schedule_spec(initial_message="", schedule=_calendar(hour=[R(start=25)]))
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(create_request(workspace_id, "agent_missing", spec=spec))
    assert failure_of(caught.value).code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id, spec=spec))
    assert list(failure_of(caught.value).violations) == [
        "spec.initial_message",
        "spec.schedule.calendars[0].hour[0].start",
    ]
