"""sundial.v1.AgentScheduleService."""

import grpc
from google.protobuf import empty_pb2
from sundial.v1 import (
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
)

from sundial.api.converters import from_proto, timestamp_from_proto, to_proto
from sundial.api.principal import PrincipalResolver
from sundial.api.requests import page_request, update_mask_of
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import AgentSchedule, AgentScheduleSpec, ScheduleRules
from sundial.service.schedules import ScheduleService

pb = agent_schedule_service_pb2


class AgentScheduleServicer(agent_schedule_service_pb2_grpc.AgentScheduleServiceServicer):
    def __init__(self, schedules: ScheduleService, principal: PrincipalResolver) -> None:
        self._schedules = schedules
        self._principal = principal

    def CreateAgentSchedule(
        self, request: pb.CreateAgentScheduleRequest, context: grpc.ServicerContext
    ) -> agent_schedule_pb2.AgentSchedule:
        schedule = self._schedules.create(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, AgentScheduleSpec, "spec"),
            request_id=request.request_id,
            validate_only=request.validate_only,
        )
        return schedule_to_proto(schedule)

    def GetAgentSchedule(
        self, request: pb.GetAgentScheduleRequest, context: grpc.ServicerContext
    ) -> agent_schedule_pb2.AgentSchedule:
        schedule = self._schedules.get(
            self._principal(context), request.workspace_id, request.agent_id, request.schedule_id
        )
        return schedule_to_proto(schedule)

    def ListAgentSchedules(
        self, request: pb.ListAgentSchedulesRequest, context: grpc.ServicerContext
    ) -> pb.ListAgentSchedulesResponse:
        page = self._schedules.list_schedules(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            page_request(request),
            show_archived=request.show_archived,
        )
        return pb.ListAgentSchedulesResponse(
            agent_schedules=[schedule_to_proto(s) for s in page.items],
            next_page_token=page.next_page_token,
        )

    def UpdateAgentSchedule(
        self, request: pb.UpdateAgentScheduleRequest, context: grpc.ServicerContext
    ) -> agent_schedule_pb2.AgentSchedule:
        schedule = self._schedules.update(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, AgentScheduleSpec, "spec"),
            update_mask=update_mask_of(request.update_mask),
            etag=request.etag,
        )
        return schedule_to_proto(schedule)

    def DeleteAgentSchedule(
        self, request: pb.DeleteAgentScheduleRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        self._schedules.delete(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            etag=request.etag,
        )
        return empty_pb2.Empty()

    def PauseAgentSchedule(
        self, request: pb.PauseAgentScheduleRequest, context: grpc.ServicerContext
    ) -> agent_schedule_pb2.AgentSchedule:
        schedule = self._schedules.pause(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            reason=request.reason,
            etag=request.etag,
        )
        return schedule_to_proto(schedule)

    def ResumeAgentSchedule(
        self, request: pb.ResumeAgentScheduleRequest, context: grpc.ServicerContext
    ) -> agent_schedule_pb2.AgentSchedule:
        schedule = self._schedules.resume(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            etag=request.etag,
        )
        return schedule_to_proto(schedule)

    def ArchiveAgentSchedule(
        self, request: pb.ArchiveAgentScheduleRequest, context: grpc.ServicerContext
    ) -> agent_schedule_pb2.AgentSchedule:
        schedule = self._schedules.archive(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            etag=request.etag,
        )
        return schedule_to_proto(schedule)

    def PreviewSchedule(
        self, request: pb.PreviewScheduleRequest, context: grpc.ServicerContext
    ) -> pb.PreviewScheduleResponse:
        fires = self._schedules.preview(
            self._principal(context),
            from_proto(request.schedule, ScheduleRules, "schedule"),
            schedule_id=request.schedule_id,
            start_time=timestamp_from_proto(request.start_time, "start_time")
            if request.HasField("start_time")
            else None,
            count=request.count,
        )
        response = pb.PreviewScheduleResponse()
        for fire in fires:
            response.fire_times.add().FromDatetime(fire.at)
            response.nominal_times.add().FromDatetime(fire.nominal)
        return response


def schedule_to_proto(schedule: AgentSchedule) -> agent_schedule_pb2.AgentSchedule:
    return to_proto(schedule, agent_schedule_pb2.AgentSchedule())
