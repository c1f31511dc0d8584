from datetime import UTC, datetime, timedelta

import pytest

from sundial.api.converters import from_proto, to_proto
from sundial.domain.agents import (
    Agent,
    AgentInfo,
    AgentMode,
    AgentSpec,
    AgentVariation,
    PushTarget,
    VariationSelectionMode,
)
from sundial.domain.errors import InvalidArgumentError
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.schedules import (
    AgentSchedule,
    AgentScheduleInfo,
    AgentScheduleSpec,
    OverlapPolicy,
    RetryPolicy,
    ScheduleCalendar,
    ScheduleRange,
    ScheduleRules,
)
from sundial.v1 import agent_pb2, agent_schedule_pb2


def test_schedule_round_trips_through_proto():
    schedule = AgentSchedule(
        metadata=ResourceMetadata(
            id="sched_1", name="n", labels={"a": "b"}, created_at=datetime(2026, 1, 1, tzinfo=UTC)
        ),
        spec=AgentScheduleSpec(
            initial_message="m",
            schedule=ScheduleRules(
                calendars=(ScheduleCalendar(hour=(ScheduleRange(start=9),)),),
                cron_expressions=("0 * * * *",),
                at=(datetime(2027, 1, 1, tzinfo=UTC),),
                jitter=timedelta(seconds=30),
            ),
            data={"k": [1.0, "x", None]},
            overlap_policy=OverlapPolicy.BUFFER_ALL,
            retry_policy=RetryPolicy(max_attempts=3, initial_backoff=timedelta(seconds=10)),
        ),
        info=AgentScheduleInfo(agent_id="agent_1", total_fires=4, remaining_fires=0),
    )
    message = to_proto(schedule, agent_schedule_pb2.AgentSchedule())
    assert message.info.HasField("remaining_fires")
    assert not message.spec.HasField("catchup_window")
    assert from_proto(message, AgentSchedule) == schedule


def test_unset_optional_fields_become_none():
    spec = from_proto(agent_schedule_pb2.AgentScheduleSpec(), AgentScheduleSpec)
    assert spec.retry_policy is None
    assert spec.catchup_window is None
    assert spec.data is None


def test_bad_enum_and_timestamp_name_the_field():
    message = agent_schedule_pb2.AgentScheduleSpec(overlap_policy=77)
    with pytest.raises(InvalidArgumentError) as caught:
        from_proto(message, AgentScheduleSpec, "spec")
    assert caught.value.violations[0].field == "spec.overlap_policy"
    message = agent_schedule_pb2.AgentScheduleSpec()
    message.schedule.at.add(seconds=10**13)
    with pytest.raises(InvalidArgumentError) as caught:
        from_proto(message, AgentScheduleSpec, "spec")
    assert caught.value.violations[0].field == "spec.schedule.at[0]"


def test_an_agent_with_every_push_field_round_trips_through_proto():
    agent = Agent(
        metadata=ResourceMetadata(id="agent_1", name="pushed"),
        spec=AgentSpec(
            description="d",
            variations=(AgentVariation(id="fast", weight=2, config={"model": "m"}),),
            variation_selection_mode=VariationSelectionMode.ROUND_ROBIN,
            mode=AgentMode.PUSH,
            push=PushTarget(
                url="https://agent.example/run",
                timeout=timedelta(seconds=45),
                headers={"x-team": "cx"},
                secret="whsec_abc",
            ),
        ),
        info=AgentInfo(schedule_count=1, push_secret="whsec_made", push_secret_hint="made"),
    )
    message = to_proto(agent, agent_pb2.Agent())
    # Every field of the push target and the mode crosses (the schema and the result
    # deliveries have tests of their own).
    assert _unset(message.spec) == ["input_data_schema", "deliveries"]
    assert _unset(message.spec.push) == []
    assert _unset(message.info) == ["created_by"]
    assert from_proto(message, Agent) == agent


def _unset(message) -> list[str]:
    return [f.name for f in message.DESCRIPTOR.fields if not _is_set(message, f.name)]


def _is_set(message, name: str) -> bool:
    field = message.DESCRIPTOR.fields_by_name[name]
    if field.is_repeated:
        return len(getattr(message, name)) > 0
    if field.message_type is not None:
        return message.HasField(name)
    return bool(getattr(message, name))
