"""The gRPC server: servicers, health, reflection and interceptors in one place."""

from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sundial.api.agents import AgentServicer
from sundial.api.interceptors import server_interceptors
from sundial.api.objectives import ObjectiveServicer
from sundial.api.principal import PrincipalResolver
from sundial.api.schedules import AgentScheduleServicer
from sundial.service.agents import AgentService
from sundial.service.objectives import ObjectiveService
from sundial.service.schedules import ScheduleService
from sundial.service.triggers import TriggerService
from sundial.v1 import (
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    objective_service_pb2,
    objective_service_pb2_grpc,
)

SERVICE_NAMES = (
    agent_service_pb2.DESCRIPTOR.services_by_name["AgentService"].full_name,
    agent_schedule_service_pb2.DESCRIPTOR.services_by_name["AgentScheduleService"].full_name,
    objective_service_pb2.DESCRIPTOR.services_by_name["ObjectiveService"].full_name,
)


class GrpcServer:
    """Sundial's services on one grpcio server, with health checking and reflection."""

    def __init__(
        self,
        *,
        agents: AgentService,
        schedules: ScheduleService,
        triggers: TriggerService,
        objectives: ObjectiveService,
        principal: PrincipalResolver,
        max_workers: int,
    ) -> None:
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
            interceptors=server_interceptors(),
            options=[("grpc.so_reuseport", 0)],
        )
        agent_service_pb2_grpc.add_AgentServiceServicer_to_server(
            AgentServicer(agents, principal), self._server
        )
        agent_schedule_service_pb2_grpc.add_AgentScheduleServiceServicer_to_server(
            AgentScheduleServicer(schedules, triggers, principal), self._server
        )
        objective_service_pb2_grpc.add_ObjectiveServiceServicer_to_server(
            ObjectiveServicer(objectives, principal), self._server
        )
        self._health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )

    def start(self, address: str) -> int:
        """Listens on `address` (port 0 picks a free port) and returns the bound port."""
        port = self._server.add_insecure_port(address)
        if port == 0:
            raise OSError(f"cannot listen on {address}")
        self._server.start()
        return port

    def set_serving(self) -> None:
        for name in ("", *SERVICE_NAMES):
            self._health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def enter_graceful_shutdown(self) -> None:
        """Health answers NOT_SERVING from now on, so load balancers stop sending calls."""
        self._health.enter_graceful_shutdown()

    def stop(self, grace_seconds: float) -> None:
        """Stops accepting calls and waits up to `grace_seconds` for those in flight."""
        self._server.stop(grace_seconds).wait()
