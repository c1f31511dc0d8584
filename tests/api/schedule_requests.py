"""Builders for schedule requests used across the API tests."""

from google.protobuf import duration_pb2

from sundial.v1 import agent_schedule_pb2, agent_schedule_service_pb2, metadata_pb2

pb = agent_schedule_service_pb2
sp = agent_schedule_pb2


def hourly_rules(**kwargs: object) -> sp.AgentScheduleSpecSchedule:
    return sp.AgentScheduleSpecSchedule(
        intervals=[sp.ScheduleInterval(every=duration_pb2.Duration(seconds=3600))], **kwargs
    )


def schedule_spec(**kwargs: object) -> sp.AgentScheduleSpec:
    kwargs.setdefault("initial_message", "summarize the day")
    kwargs.setdefault("schedule", hourly_rules())
    return sp.AgentScheduleSpec(**kwargs)


def create_request(
    workspace_id: str, agent_id: str, name: str = "hourly", **kwargs: object
) -> pb.CreateAgentScheduleRequest:
    labels = kwargs.pop("labels", {})
    spec = kwargs.pop("spec", None) or schedule_spec()
    return pb.CreateAgentScheduleRequest(
        workspace_id=workspace_id,
        agent_id=agent_id,
        metadata=metadata_pb2.CreateResourceMetadata(name=name, labels=labels),
        spec=spec,
        **kwargs,
    )
