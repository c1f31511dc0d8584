"""sundial.v1.InsightService."""

from typing import TypeVar

import grpc

from sundial.api.converters import to_proto
from sundial.api.principal import PrincipalResolver
from sundial.api.requests import optional_duration, optional_timestamp, page_request_of
from sundial.domain.errors import InvalidArgumentError
from sundial.domain.insight import HeatmapSource, SuggestionCadence
from sundial.service.fire_views import FireViewService
from sundial.service.insight_stats import StatsService
from sundial.service.objective_comparison import ComparisonService
from sundial.v1 import insight_service_pb2, insight_service_pb2_grpc

pb = insight_service_pb2
E = TypeVar("E", HeatmapSource, SuggestionCadence)


class InsightServicer(insight_service_pb2_grpc.InsightServiceServicer):
    """Stats, engine status, heatmaps, calendar fires, suggestions and comparisons."""

    def __init__(
        self,
        stats: StatsService,
        views: FireViewService,
        comparisons: ComparisonService,
        principal: PrincipalResolver,
    ) -> None:
        self._stats = stats
        self._views = views
        self._comparisons = comparisons
        self._principal = principal

    def GetWorkspaceStats(
        self, request: pb.GetWorkspaceStatsRequest, context: grpc.ServicerContext
    ) -> pb.WorkspaceStats:
        stats = self._stats.workspace_stats(
            self._principal(context),
            request.workspace_id,
            window=optional_duration(request, "window"),
            time_zone=request.time_zone,
        )
        return to_proto(stats, pb.WorkspaceStats())

    def GetScheduleStats(
        self, request: pb.GetScheduleStatsRequest, context: grpc.ServicerContext
    ) -> pb.ScheduleStats:
        stats = self._stats.schedule_stats(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            window=optional_duration(request, "window"),
            time_zone=request.time_zone,
        )
        return to_proto(stats, pb.ScheduleStats())

    def GetEngineStatus(
        self, request: pb.GetEngineStatusRequest, context: grpc.ServicerContext
    ) -> pb.EngineStatus:
        status = self._stats.engine_status(self._principal(context), request.workspace_id)
        return to_proto(status, pb.EngineStatus())

    def CompareObjectives(
        self, request: pb.CompareObjectivesRequest, context: grpc.ServicerContext
    ) -> pb.CompareObjectivesResponse:
        comparison = self._comparisons.compare(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            request.schedule_id,
            list(request.objective_ids),
        )
        return to_proto(comparison, pb.CompareObjectivesResponse())

    def GetFireHeatmap(
        self, request: pb.GetFireHeatmapRequest, context: grpc.ServicerContext
    ) -> pb.FireHeatmap:
        heatmap = self._views.heatmap(
            self._principal(context),
            request.workspace_id,
            time_zone=request.time_zone,
            source=_enum(HeatmapSource, request.source, "source"),
            window=optional_duration(request, "window"),
        )
        return to_proto(heatmap, pb.FireHeatmap())

    def ListCalendarFires(
        self, request: pb.ListCalendarFiresRequest, context: grpc.ServicerContext
    ) -> pb.ListCalendarFiresResponse:
        page = self._views.calendar(
            self._principal(context),
            request.workspace_id,
            start_time=optional_timestamp(request, "start_time"),
            end_time=optional_timestamp(request, "end_time"),
            page=page_request_of(request.page_size, request.page_token, ""),
        )
        response = pb.ListCalendarFiresResponse(next_page_token=page.next_page_token)
        for fire in page.items:
            to_proto(fire, response.fires.add())
        return response

    def SuggestScheduleTimes(
        self, request: pb.SuggestScheduleTimesRequest, context: grpc.ServicerContext
    ) -> pb.SuggestScheduleTimesResponse:
        suggestions = self._views.suggest(
            self._principal(context),
            request.workspace_id,
            cadence=_enum(SuggestionCadence, request.cadence, "cadence"),
            time_zone=request.time_zone,
            max_suggestions=request.max_suggestions,
        )
        return to_proto(suggestions, pb.SuggestScheduleTimesResponse())


def _enum(cls: type[E], number: int, field: str) -> E:
    """The domain enum of a request's enum number; INVALID_ARGUMENT naming `field` for a
    number the proto does not define (proto3 keeps unknown numbers)."""
    try:
        return cls(number)
    except ValueError:
        raise InvalidArgumentError.single(field, f"{field} {number} is not a known value") from None
