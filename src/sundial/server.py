"""Wiring and lifecycle: database, migrations, services and the gRPC server."""

import logging
import threading

from sundial.api.grpc_server import GrpcServer
from sundial.api.principal import BootstrapPrincipal
from sundial.domain.clock import Clock, SystemClock
from sundial.service.agents import AgentService
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import Bootstrap, TenancyService
from sundial.settings import Settings
from sundial.store import migrate
from sundial.store.database import Database

logger = logging.getLogger("sundial.server")


class SundialServer:
    """One `sundial serve` process."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.port = 0
        self._stopped = threading.Event()
        if settings.migrate:
            migrate.upgrade(settings.database_url)
        self.database = Database(settings.database_url)
        self.tenancy = TenancyService(self.database, self.clock)
        self.bootstrap: Bootstrap = self.tenancy.bootstrap()
        self.agents = AgentService(self.database, self.clock)
        self.schedules = ScheduleService(
            self.database, self.clock, min_fire_interval=settings.min_fire_interval
        )
        self._grpc = GrpcServer(
            agents=self.agents,
            schedules=self.schedules,
            principal=BootstrapPrincipal(self.bootstrap.principal),
            max_workers=settings.max_workers,
        )

    def start(self) -> None:
        self.port = self._grpc.start(self.settings.grpc_address)
        if not migrate.is_up_to_date(self.database):
            raise RuntimeError("the database schema is not up to date: run `sundial migrate`")
        self._grpc.set_serving()
        logger.info("serving gRPC on port %d", self.port)

    def stop(self) -> None:
        """Graceful shutdown: NOT_SERVING, drain delay, stop accepting, let calls finish."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._grpc.enter_graceful_shutdown()
        # Only the drain delay waits on a real clock: it gives load balancers polling health
        # time to notice NOT_SERVING before connections are refused.
        threading.Event().wait(self.settings.drain_delay.total_seconds())
        self._grpc.stop(self.settings.shutdown_grace.total_seconds())
        self.database.dispose()
        logger.info("stopped")
