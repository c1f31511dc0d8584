"""schedule_to_proto's reuse of the last message of each schedule."""

from dataclasses import replace
from datetime import UTC, datetime

from sundial.api.converters import to_proto
from sundial.api.schedules import schedule_to_proto
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.schedules import AgentSchedule, AgentScheduleInfo, AgentScheduleSpec
from sundial.v1 import agent_schedule_pb2

NOW = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)


def _schedule(name: str) -> AgentSchedule:
    return AgentSchedule(
        metadata=ResourceMetadata(id="sched_1", name=name, created_at=NOW, updated_at=NOW),
        spec=AgentScheduleSpec(initial_message="hello"),
        info=AgentScheduleInfo(agent_id="agent_1", next_fire_at=NOW, total_fires=3),
    )


def test_the_message_is_the_converters_and_a_copy_of_its_own():
    schedule = _schedule("a")
    message = schedule_to_proto(schedule)
    assert message == to_proto(schedule, agent_schedule_pb2.AgentSchedule())

    message.metadata.name = "changed by the caller"
    assert schedule_to_proto(schedule).metadata.name == "a"


def test_another_schedule_object_is_converted_again_even_with_the_same_id():
    schedule_to_proto(_schedule("a"))
    renamed = replace(_schedule("a"), metadata=replace(_schedule("a").metadata, name="b"))
    assert schedule_to_proto(renamed).metadata.name == "b"
