"""sundial.v1.AgentScheduleService."""

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import empty_pb2

from sundial.api.converters import from_proto, to_proto
from sundial.api.objectives import objective_to_proto
from sundial.api.principal import PrincipalResolver
from sundial.api.requests import optional_timestamp, page_request, update_mask_of
from sundial.domain.errors import FieldViolation, InvalidArgumentError
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import AgentSchedule, AgentScheduleSpec, OverlapPolicy, ScheduleRules
from sundial.service.schedule_batches import (
    ScheduleBatchService,
    ScheduleRequest,
    check_batch_size,
)
from sundial.service.schedules import ScheduleService
from sundial.service.triggers import TriggerService
from sundial.v1 import (
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    objective_pb2,
)

pb = agent_schedule_service_pb2


class AgentScheduleServicer(agent_schedule_service_pb2_grpc.AgentScheduleServiceServicer):
    def __init__(
        self,
        schedules: ScheduleService,
        batches: ScheduleBatchService,
        triggers: TriggerService,
        principal: PrincipalResolver,
    ) -> None:
        self._schedules = schedules
        self._batches = batches
        self._triggers = triggers
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

    def BatchCreateAgentSchedules(
        self, request: pb.BatchCreateAgentSchedulesRequest, context: grpc.ServicerContext
    ) -> pb.BatchCreateAgentSchedulesResponse:
        check_batch_size(len(request.requests))
        schedules = self._batches.create(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            _batch_requests(request.requests),
            request_id=request.request_id,
            validate_only=request.validate_only,
        )
        return pb.BatchCreateAgentSchedulesResponse(
            agent_schedules=[schedule_to_proto(s) for s in schedules]
        )

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

    def TriggerAgentSchedule(
        self, request: pb.TriggerAgentScheduleRequest, context: grpc.ServicerContext
    ) -> objective_pb2.Objective:
        objective = self._triggers.trigger(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            request_id=request.request_id,
            overlap_policy=from_proto(request, _OverlapOverride, "").overlap_policy,
        )
        return objective_to_proto(objective)

    def BackfillAgentSchedule(
        self, request: pb.BackfillAgentScheduleRequest, context: grpc.ServicerContext
    ) -> pb.BackfillAgentScheduleResponse:
        result = self._triggers.backfill(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            start_time=optional_timestamp(request, "start_time"),
            end_time=optional_timestamp(request, "end_time"),
            overlap_policy=from_proto(request, _OverlapOverride, "").overlap_policy,
        )
        return pb.BackfillAgentScheduleResponse(
            created_count=result.created_count,
            existing_count=result.existing_count,
            skipped_count=result.skipped_count,
            objectives=[objective_to_proto(o) for o in result.objectives],
        )

    def PreviewSchedule(
        self, request: pb.PreviewScheduleRequest, context: grpc.ServicerContext
    ) -> pb.PreviewScheduleResponse:
        rules = from_proto(request.schedule, ScheduleRules, "schedule")
        fires = self._schedules.preview(
            self._principal(context),
            rules,
            schedule_id=request.schedule_id,
            start_time=optional_timestamp(request, "start_time"),
            count=request.count,
        )
        response = pb.PreviewScheduleResponse(description=self._schedules.describe(rules))
        for fire in fires:
            response.fire_times.add().FromDatetime(fire.at)
            response.nominal_times.add().FromDatetime(fire.nominal)
        return response

    def ParseSchedule(
        self, request: pb.ParseScheduleRequest, context: grpc.ServicerContext
    ) -> pb.ParseScheduleResponse:
        parsed = self._schedules.parse(
            self._principal(context),
            request.text,
            timezone=request.timezone,
            reference_time=optional_timestamp(request, "reference_time"),
        )
        return to_proto(parsed, pb.ParseScheduleResponse())


@dataclass(frozen=True)
class _OverlapOverride:
    """The overlap_policy field of Trigger and Backfill requests (validated as an enum)."""

    overlap_policy: OverlapPolicy = OverlapPolicy.UNSPECIFIED


def _batch_requests(
    requests: Sequence[pb.CreateAgentScheduleRequest],
) -> list[ScheduleRequest]:
    """The requests of a batch; the bad values of every request at once, each under its
    index (`requests[3].spec.overlap_policy`)."""
    converted: list[ScheduleRequest] = []
    violations: list[FieldViolation] = []
    for index, request in enumerate(requests):
        path = f"requests[{index}]"
        try:
            metadata = from_proto(request.metadata, MetadataInput, f"{path}.metadata")
            spec = from_proto(request.spec, AgentScheduleSpec, f"{path}.spec")
        except InvalidArgumentError as error:
            violations.extend(error.violations)
            continue
        converted.append(
            ScheduleRequest(
                workspace_id=request.workspace_id,
                agent_id=request.agent_id,
                metadata=metadata,
                spec=spec,
                request_id=request.request_id,
                validate_only=request.validate_only,
            )
        )
    if violations:
        raise InvalidArgumentError(violations)
    return converted


def schedule_to_proto(schedule: AgentSchedule) -> agent_schedule_pb2.AgentSchedule:
    return to_proto(schedule, agent_schedule_pb2.AgentSchedule())
