"""sundial.v1.ObjectiveService."""

import threading
from datetime import timedelta

import grpc

from sundial.api.converters import json_from_proto, to_proto
from sundial.api.principal import PrincipalResolver
from sundial.api.requests import optional_duration, page_request_of
from sundial.domain.objectives import Objective
from sundial.service.objectives import MAX_WAIT, ObjectiveService
from sundial.v1 import objective_pb2, objective_service_pb2, objective_service_pb2_grpc

pb = objective_service_pb2


class ObjectiveServicer(objective_service_pb2_grpc.ObjectiveServiceServicer):
    """The objective RPCs. A long-polling claim keeps one of the server's threads while it
    waits, so at most `max_waiting_calls` may wait at once (the server has that many threads
    besides those for running calls): past that, a claim answers at once with what is
    pending, and waiting claims never starve other calls."""

    def __init__(
        self, objectives: ObjectiveService, principal: PrincipalResolver, *, max_waiting_calls: int
    ) -> None:
        self._objectives = objectives
        self._principal = principal
        self._waiting = threading.BoundedSemaphore(max_waiting_calls)

    def ListObjectives(
        self, request: pb.ListObjectivesRequest, context: grpc.ServicerContext
    ) -> pb.ListObjectivesResponse:
        page = self._objectives.list_objectives(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            page_request_of(request.page_size, request.page_token, request.filter),
        )
        return pb.ListObjectivesResponse(
            objectives=[objective_to_proto(o) for o in page.items],
            next_page_token=page.next_page_token,
        )

    def GetObjective(
        self, request: pb.GetObjectiveRequest, context: grpc.ServicerContext
    ) -> objective_pb2.Objective:
        return objective_to_proto(
            self._objectives.get(
                self._principal(context),
                request.workspace_id,
                request.agent_id,
                request.objective_id,
            )
        )

    def CancelObjective(
        self, request: pb.CancelObjectiveRequest, context: grpc.ServicerContext
    ) -> objective_pb2.Objective:
        return objective_to_proto(
            self._objectives.cancel(
                self._principal(context),
                request.workspace_id,
                request.agent_id,
                request.objective_id,
                request.reason,
            )
        )

    def ClaimObjectives(
        self, request: pb.ClaimObjectivesRequest, context: grpc.ServicerContext
    ) -> pb.ClaimObjectivesResponse:
        wait = optional_duration(request, "wait")
        if wait is None or not timedelta(0) < wait <= MAX_WAIT:
            return self._claim(request, context, wait)  # no long-poll (or one refused)
        if not self._waiting.acquire(blocking=False):
            # As many claims wait as the server keeps threads for: answer with what is pending.
            return self._claim(request, context, timedelta(0))
        try:
            return self._claim(request, context, wait)
        finally:
            self._waiting.release()

    def _claim(
        self,
        request: pb.ClaimObjectivesRequest,
        context: grpc.ServicerContext,
        wait: timedelta | None,
    ) -> pb.ClaimObjectivesResponse:
        claimed = self._objectives.claim(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            worker_id=request.worker_id,
            max_objectives=request.max_objectives,
            wait=wait,
            lease=optional_duration(request, "lease_duration"),
        )
        return pb.ClaimObjectivesResponse(objectives=[objective_to_proto(o) for o in claimed])

    def HeartbeatObjective(
        self, request: pb.HeartbeatObjectiveRequest, context: grpc.ServicerContext
    ) -> objective_pb2.Objective:
        return objective_to_proto(
            self._objectives.heartbeat(
                self._principal(context),
                request.workspace_id,
                request.agent_id,
                request.objective_id,
                worker_id=request.worker_id,
                lease=optional_duration(request, "lease_duration"),
            )
        )

    def CompleteObjective(
        self, request: pb.CompleteObjectiveRequest, context: grpc.ServicerContext
    ) -> objective_pb2.Objective:
        output = json_from_proto(request.output) if request.HasField("output") else None
        return objective_to_proto(
            self._objectives.complete(
                self._principal(context),
                request.workspace_id,
                request.agent_id,
                request.objective_id,
                worker_id=request.worker_id,
                output=output,
            )
        )

    def FailObjective(
        self, request: pb.FailObjectiveRequest, context: grpc.ServicerContext
    ) -> objective_pb2.Objective:
        return objective_to_proto(
            self._objectives.fail(
                self._principal(context),
                request.workspace_id,
                request.agent_id,
                request.objective_id,
                worker_id=request.worker_id,
                error=request.error,
                retryable=request.retryable,
            )
        )

    def ReleaseObjective(
        self, request: pb.ReleaseObjectiveRequest, context: grpc.ServicerContext
    ) -> objective_pb2.Objective:
        return objective_to_proto(
            self._objectives.release(
                self._principal(context),
                request.workspace_id,
                request.agent_id,
                request.objective_id,
                worker_id=request.worker_id,
            )
        )


def objective_to_proto(objective: Objective) -> objective_pb2.Objective:
    return to_proto(objective, objective_pb2.Objective())
