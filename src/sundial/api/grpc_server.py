"""The gRPC server: servicers, health, reflection and interceptors in one place."""

import shutil
import tempfile
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from sundial.api.admin import (
    AccountServicer,
    ApiKeyServicer,
    ProfileServicer,
    WorkspaceServicer,
)
from sundial.api.agents import AgentServicer
from sundial.api.call_guard import CallGuard, method_access
from sundial.api.chains import ChainServicer
from sundial.api.insight import InsightServicer
from sundial.api.interceptors import CallInterceptor
from sundial.api.objectives import ObjectiveServicer
from sundial.api.principal import call_principal
from sundial.api.reflection import SERVICE_NAME_V1, SERVICE_NAME_V1ALPHA, enable_reflection
from sundial.api.schedules import AgentScheduleServicer
from sundial.api.webhooks import WebhookServicer
from sundial.metrics import Metrics
from sundial.service.agents import AgentService
from sundial.service.api_keys import ApiKeyService
from sundial.service.authentication import Authenticator
from sundial.service.authorization import Authorizer
from sundial.service.chains import ChainRuns, ChainService
from sundial.service.failure_limiter import FailureLimiter
from sundial.service.fire_views import FireViewService
from sundial.service.insight_stats import StatsService
from sundial.service.objective_comparison import ComparisonService
from sundial.service.objectives import ObjectiveService
from sundial.service.profiles import ProfileService
from sundial.service.schedule_batches import ScheduleBatchService
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import TenancyService
from sundial.service.triggers import TriggerService
from sundial.service.webhook_resources import WebhookResourceService
from sundial.tracing import Tracing
from sundial.v1 import (
    account_service_pb2,
    account_service_pb2_grpc,
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    chain_service_pb2,
    chain_service_pb2_grpc,
    insight_service_pb2,
    insight_service_pb2_grpc,
    objective_service_pb2,
    objective_service_pb2_grpc,
    profile_service_pb2,
    profile_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
    workspace_service_pb2,
    workspace_service_pb2_grpc,
)

SERVICES = (
    agent_service_pb2.DESCRIPTOR.services_by_name["AgentService"],
    agent_schedule_service_pb2.DESCRIPTOR.services_by_name["AgentScheduleService"],
    objective_service_pb2.DESCRIPTOR.services_by_name["ObjectiveService"],
    account_service_pb2.DESCRIPTOR.services_by_name["AccountService"],
    workspace_service_pb2.DESCRIPTOR.services_by_name["WorkspaceService"],
    profile_service_pb2.DESCRIPTOR.services_by_name["ProfileService"],
    api_key_service_pb2.DESCRIPTOR.services_by_name["ApiKeyService"],
    insight_service_pb2.DESCRIPTOR.services_by_name["InsightService"],
    webhook_service_pb2.DESCRIPTOR.services_by_name["WebhookService"],
    chain_service_pb2.DESCRIPTOR.services_by_name["ChainService"],
)
SERVICE_NAMES = tuple(service.full_name for service in SERVICES)
# Open to everyone: health checking and reflection.
OPEN_PREFIXES = (
    f"/{health.SERVICE_NAME}/",
    f"/{SERVICE_NAME_V1ALPHA}/",
    f"/{SERVICE_NAME_V1}/",
)


@dataclass(frozen=True, slots=True)
class Services:
    """The use cases the servicers call."""

    agents: AgentService
    schedules: ScheduleService
    schedule_batches: ScheduleBatchService
    triggers: TriggerService
    objectives: ObjectiveService
    tenancy: TenancyService
    profiles: ProfileService
    api_keys: ApiKeyService
    stats: StatsService
    fire_views: FireViewService
    comparisons: ComparisonService
    webhooks: WebhookResourceService
    chains: ChainService
    chain_runs: ChainRuns


@dataclass(frozen=True, slots=True)
class Security:
    """Who may call what: the parts of the CallGuard."""

    authenticator: Authenticator
    authorizer: Authorizer
    limiter: FailureLimiter
    # Vouches for the client address the REST gateway forwards.
    gateway_token: str


@dataclass(frozen=True, slots=True)
class CallLimits:
    """How many calls the server takes on at once. Each call has a thread of grpcio's pool
    while it runs, and the pool has a thread for every call that may run and every claim
    that may wait: so long-polling claims never keep other calls from running."""

    # Calls that run at once: few, since Python runs one thread at a time.
    running: int
    # Long-polling claims that may wait at once besides (api.objectives); past them a
    # claim answers at once.
    waiting: int
    # Calls that may wait in grpcio's queue for a thread when all are busy; past them
    # grpcio answers RESOURCE_EXHAUSTED, so a flood cannot queue without bound.
    queued: int


class GrpcServer:
    """Sundial's services on one grpcio server, with health checking and reflection."""

    def __init__(
        self,
        *,
        services: Services,
        security: Security,
        limits: CallLimits,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        access_log: bool = False,
    ) -> None:
        guard = CallGuard(
            method_access(SERVICES),
            open_prefixes=OPEN_PREFIXES,
            authenticator=security.authenticator,
            authorizer=security.authorizer,
            limiter=security.limiter,
            gateway_token=security.gateway_token,
        )
        self._interceptor = CallInterceptor(
            guard, metrics=metrics, tracing=tracing, access_log=access_log
        )
        threads = limits.running + limits.waiting
        self._executor = futures.ThreadPoolExecutor(threads, thread_name_prefix="rpc")
        self._server = grpc.server(
            self._executor,
            interceptors=[self._interceptor],
            options=[("grpc.so_reuseport", 0)],
            maximum_concurrent_rpcs=threads + limits.queued,
        )
        self._socket_directory: Path | None = None
        # Where the REST gateway beside this server calls it, once it has started.
        self.local_target = ""
        principal = call_principal
        server = self._server
        agent_service_pb2_grpc.add_AgentServiceServicer_to_server(
            AgentServicer(services.agents, principal), server
        )
        agent_schedule_service_pb2_grpc.add_AgentScheduleServiceServicer_to_server(
            AgentScheduleServicer(
                services.schedules, services.schedule_batches, services.triggers, principal
            ),
            server,
        )
        objective_service_pb2_grpc.add_ObjectiveServiceServicer_to_server(
            ObjectiveServicer(services.objectives, principal, max_waiting_calls=limits.waiting),
            server,
        )
        account_service_pb2_grpc.add_AccountServiceServicer_to_server(
            AccountServicer(services.tenancy, principal), server
        )
        workspace_service_pb2_grpc.add_WorkspaceServiceServicer_to_server(
            WorkspaceServicer(services.tenancy, principal), server
        )
        profile_service_pb2_grpc.add_ProfileServiceServicer_to_server(
            ProfileServicer(services.profiles, principal), server
        )
        api_key_service_pb2_grpc.add_ApiKeyServiceServicer_to_server(
            ApiKeyServicer(services.api_keys, principal), server
        )
        insight_service_pb2_grpc.add_InsightServiceServicer_to_server(
            InsightServicer(services.stats, services.fire_views, services.comparisons, principal),
            server,
        )
        webhook_service_pb2_grpc.add_WebhookServiceServicer_to_server(
            WebhookServicer(services.webhooks, principal), server
        )
        chain_service_pb2_grpc.add_ChainServiceServicer_to_server(
            ChainServicer(services.chains, services.chain_runs, principal), server
        )
        self._health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        enable_reflection((*SERVICE_NAMES, health.SERVICE_NAME), self._server)

    def start(self, address: str) -> int:
        """Listens on `address` (port 0 picks a free port) and on `local_target`, and returns
        the bound port."""
        try:
            port = self._server.add_insecure_port(address)
        except RuntimeError as error:  # what grpcio raises when the address is taken
            raise OSError(f"cannot listen on {address}: {error}") from error
        if port == 0:
            raise OSError(f"cannot listen on {address}")
        # A Unix socket in a directory only this user may open.
        self._socket_directory = Path(tempfile.mkdtemp(prefix="sundial-grpc-"))
        self.local_target = f"unix:{self._socket_directory / 'grpc.sock'}"
        if self._server.add_insecure_port(self.local_target) == 0:
            raise OSError(f"cannot listen on {self.local_target}")
        self._server.start()
        return port

    def set_serving(self, serving: bool = True) -> None:
        """Health answers SERVING, or NOT_SERVING (while the database is unavailable), for
        the server and every service; after graceful shutdown began, NOT_SERVING stays."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            self._health.set(name, status)

    def enter_graceful_shutdown(self) -> None:
        """Health answers NOT_SERVING from now on, so load balancers stop sending calls."""
        self._health.enter_graceful_shutdown()

    def stop(self, grace_seconds: float) -> None:
        """Stops accepting calls and waits up to `grace_seconds` for those in flight."""
        self._server.stop(grace_seconds).wait()
        # Its threads end once the work queued before this is done; none is waited for.
        self._executor.shutdown(wait=False)
        if self._socket_directory is not None:
            shutil.rmtree(self._socket_directory, ignore_errors=True)
