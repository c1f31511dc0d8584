"""Wiring and lifecycle: database, migrations, services, the gRPC server and the REST
gateway in front of it."""

import logging
import os
import secrets
import threading

from sundial.api.grpc_server import SERVICE_NAMES, CallLimits, GrpcServer, Security, Services
from sundial.domain.clock import Clock, SystemClock
from sundial.engine.loop import FiringLoop
from sundial.gateway.bodies import objective_json
from sundial.metrics import Metrics
from sundial.rest_front import gateway_of
from sundial.service.agents import AgentService
from sundial.service.api_keys import ApiKeyService
from sundial.service.authentication import Authenticator
from sundial.service.authorization import Authorizer, WorkspaceDirectory
from sundial.service.chain_runs import ChainRunService
from sundial.service.chain_steps import ChainSteps
from sundial.service.chains import ChainService
from sundial.service.database_health import DatabaseWatcher
from sundial.service.dispatcher import DeliveryDispatcher
from sundial.service.engine_reports import EngineReporter, new_replica_id
from sundial.service.failure_limiter import FailureLimiter
from sundial.service.fire_views import FireViewService
from sundial.service.firing import FiringService
from sundial.service.housekeeping import Housekeeping
from sundial.service.insight_stats import StatsService
from sundial.service.notifier import (
    CREDENTIALS,
    DELIVERIES,
    OBJECTIVES,
    SCHEDULES,
    Notifier,
    due_at_of,
    objectives_of,
)
from sundial.service.objective_comparison import ComparisonService
from sundial.service.objectives import MAX_OUTPUT_BYTES, ObjectiveService
from sundial.service.outbox import Outbox
from sundial.service.profiles import ProfileService
from sundial.service.pusher import Pusher
from sundial.service.schedule_batches import ScheduleBatchService
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import Bootstrap, TenancyService
from sundial.service.tokens import JwtVerifier
from sundial.service.triggers import TriggerService
from sundial.service.webhook_resources import WebhookResourceService
from sundial.service.webhooks import WebhookSender
from sundial.settings import Settings
from sundial.store import migrate
from sundial.store.database import Database
from sundial.store.errors import DatabaseUnavailableError
from sundial.store.notifications import (
    CREDENTIALS_CHANNEL,
    DELIVERIES_CHANNEL,
    OBJECTIVES_CHANNEL,
    SCHEDULES_CHANNEL,
    PostgresNotifications,
)
from sundial.tracing import Tracing

logger = logging.getLogger("sundial.server")
_CHANNELS = {
    SCHEDULES: SCHEDULES_CHANNEL,
    OBJECTIVES: OBJECTIVES_CHANNEL,
    CREDENTIALS: CREDENTIALS_CHANNEL,
    DELIVERIES: DELIVERIES_CHANNEL,
}


class SundialServer:
    """One `sundial serve` process."""

    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, tracing: Tracing | None = None
    ) -> None:
        """`tracing`: for tests (an in-memory exporter); by default what the settings and
        the OTEL_* environment variables configure (Tracing.configured)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.port = 0
        self.http_port = 0
        self.metrics_port = 0
        self._stopped = threading.Event()
        if settings.migrate:
            migrate.upgrade(settings.database_url)
        self.database = Database(settings.database_url)
        self.metrics = Metrics(pending_by_agent=settings.metrics_per_agent)
        self.database.add_error_listener(self.metrics.database_error)
        self.tracing = tracing or Tracing.configured(settings.otlp_endpoint, os.environ)
        self.database_watcher = DatabaseWatcher(self.database)
        self.tenancy = TenancyService(self.database, self.clock)
        # Made by start(), once every listener is bound: a start that fails to listen must
        # not create the admin key whose secret only that start would have printed.
        self.bootstrap: Bootstrap | None = None
        self._serving = False
        self.authenticator = Authenticator(
            self.database,
            self.clock,
            jwt=None if settings.jwt is None else JwtVerifier(settings.jwt, self.clock),
            cache_ttl=settings.auth_cache_ttl,
        )
        self.notifier = Notifier()
        self.notifier.on_credentials_changed(self.authenticator.forget)
        self.profiles = ProfileService(
            self.database, self.clock, on_changed=self.notifier.credentials_changed
        )
        self.api_keys = ApiKeyService(
            self.database, self.clock, on_revoked=self.notifier.credentials_changed
        )
        self.agents = AgentService(
            self.database,
            self.clock,
            allow_private_push_targets=settings.allow_private_webhook_targets,
        )
        # One flag for both: a target the dispatcher would refuse cannot be written either.
        self.webhooks = WebhookResourceService(
            self.database,
            self.clock,
            allow_http=settings.allow_private_webhook_targets,
            allow_private=settings.allow_private_webhook_targets,
            notifier=self.notifier,
        )
        self.schedules = ScheduleService(
            self.database,
            self.clock,
            min_fire_interval=settings.min_fire_interval,
            notifier=self.notifier,
        )
        # The outbox renders objectives as the API shows them (the service layer cannot).
        self.outbox = Outbox(
            render_objective=objective_json, on_written=self.notifier.deliveries_written
        )
        self.objectives = ObjectiveService(
            self.database,
            self.clock,
            self.notifier,
            metrics=self.metrics,
            tracing=self.tracing,
            outbox=self.outbox,
        )
        self.metrics.watch_pending(self.objectives.pending_by_agent)
        self.schedule_batches = ScheduleBatchService(
            self.database, self.clock, self.schedules, self.notifier
        )
        self.triggers = TriggerService(
            self.database,
            self.clock,
            self.schedules,
            self.notifier,
            tracing=self.tracing,
            outbox=self.outbox,
            metrics=self.metrics,
        )
        self.firing = FiringService(
            self.database,
            self.clock,
            batch_size=settings.engine_batch_size,
            # One clock for every replica: PostgreSQL's, unless a test drives a fake one.
            use_database_clock=clock is None and self.database.dialect == "postgresql",
            on_created=self.notifier.objectives_available,
            metrics=self.metrics,
            tracing=self.tracing,
            outbox=self.outbox,
        )
        replica_id = new_replica_id()
        self._engine_reporter = EngineReporter(self.database, self.clock, replica_id)
        self._push_sender, self.pusher = self._make_pusher(replica_id)
        self.engine = FiringLoop(
            fire_batch=lambda: self.firing.fire_due().schedules,
            earliest_due=self.firing.earliest_due,
            after_pass=Housekeeping(self.database, self.clock, self.objectives),
            clock=self.clock,
            batch_size=settings.engine_batch_size,
            on_pass=self._on_pass,
            around_pass=self.tracing.firing_pass,
        )
        self.notifier.on_schedules_changed(self.engine.wake)
        self._webhook_sender, self.dispatcher = self._make_dispatcher(settings)
        self._notifications: PostgresNotifications | None = None
        if self.database.dialect == "postgresql":
            self._notifications = PostgresNotifications(self.database)
            self.notifier.add_publisher(self._publish)
        self.chains, self.chain_runs = self._chain_services()
        # Shared with fronts apart when set; else known to the embedded gateway only.
        gateway_token = settings.gateway_token or secrets.token_urlsafe(32)
        self._grpc = GrpcServer(
            services=Services(
                agents=self.agents,
                schedules=self.schedules,
                schedule_batches=self.schedule_batches,
                triggers=self.triggers,
                objectives=self.objectives,
                tenancy=self.tenancy,
                profiles=self.profiles,
                api_keys=self.api_keys,
                stats=StatsService(self.database, self.clock),
                fire_views=FireViewService(self.database, self.clock, self.schedules),
                comparisons=ComparisonService(self.database),
                webhooks=self.webhooks,
                chains=self.chains,
                chain_runs=self.chain_runs,
            ),
            security=Security(
                authenticator=self.authenticator,
                authorizer=Authorizer(WorkspaceDirectory(self.database)),
                limiter=FailureLimiter(
                    self.clock,
                    burst=settings.auth_failure_burst,
                    per_minute=settings.auth_failure_per_minute,
                ),
                gateway_token=gateway_token,
            ),
            limits=CallLimits(
                running=settings.max_workers,
                waiting=settings.max_waiting_calls,
                queued=settings.max_queued_calls,
            ),
            metrics=self.metrics,
            tracing=self.tracing,
            access_log=settings.access_log,
        )
        self._gateway, self._metrics_listener = gateway_of(
            settings,
            services=SERVICE_NAMES,
            readiness=self._is_ready,
            client_token=gateway_token,
            metrics=self.metrics,
        )

    def _make_dispatcher(self, settings: Settings) -> tuple[WebhookSender, DeliveryDispatcher]:
        """The outbox's sender, woken by every write of deliveries."""
        sender = WebhookSender(
            self.clock, allow_private_targets=settings.allow_private_webhook_targets
        )
        dispatcher = DeliveryDispatcher(
            self.database, self.clock, sender, metrics=self.metrics, outbox=self.outbox
        )
        self.notifier.on_deliveries_written(dispatcher.wake)
        self.metrics.watch_delivery_backlog(dispatcher.count_due)
        return sender, dispatcher

    def _chain_services(self) -> tuple[ChainService, ChainRunService]:
        runs = ChainRunService(
            self.database,
            self.clock,
            self.notifier,
            steps=ChainSteps(self.outbox),
            metrics=self.metrics,
        )
        return ChainService(self.database, self.clock), runs

    def _make_pusher(self, replica_id: str) -> tuple[WebhookSender, Pusher]:
        """The pusher of PUSH agents' objectives (engine role), on a sender of its own (its
        bodies may be as large as an objective's output), woken by new objectives."""
        sender = WebhookSender(
            self.clock,
            allow_private_targets=self.settings.allow_private_webhook_targets,
            max_concurrency=self.settings.push_concurrency,
            body_cap=MAX_OUTPUT_BYTES,
        )
        pusher = Pusher(
            self.database,
            self.clock,
            self.objectives,
            sender,
            objective_json,
            replica_id=replica_id,
            concurrency=self.settings.push_concurrency,
            metrics=self.metrics,
            tracing=self.tracing,
        )
        self.notifier.on_objectives_available(pusher.wake)
        return sender, pusher

    def start(self) -> None:
        """Listens, bootstraps an empty database, starts the engine, then serves. Raises
        OSError, with nothing created, when an address cannot be listened on."""
        if "api" in self.settings.roles:
            self._listen()
        self._listen_for_metrics()
        # On an empty database: the first account, workspace and admin key (whose secret
        # the caller prints once: `sundial serve` does).
        self.bootstrap = self.tenancy.bootstrap(self.settings.bootstrap_api_key)
        if self._notifications is not None:
            self._notifications.listen(self._on_notification)
        self.database_watcher.on_change(self._on_database_availability)
        self.database_watcher.start()
        if "engine" in self.settings.roles:
            self.engine.start()
            self.dispatcher.start()
            self.pusher.start()
        if "api" in self.settings.roles:
            self._serving = True
            self._grpc.set_serving(self.database_watcher.available)

    def _listen(self) -> None:
        if not migrate.is_up_to_date(self.database):
            raise RuntimeError("the database schema is not up to date: run `sundial migrate`")
        try:
            self.port = self._grpc.start(self.settings.grpc_address)
        except OSError:
            self.database.dispose()
            raise
        logger.info("serving gRPC on port %d", self.port)
        if self.settings.http_address is None:
            return
        try:
            self.http_port = self._gateway.start(
                self.settings.http_address, grpc_target=self._grpc.local_target
            )
        except OSError:
            self._grpc.stop(0)
            self.database.dispose()
            raise
        logger.info("serving REST on port %d", self.http_port)

    def _listen_for_metrics(self) -> None:
        if self._metrics_listener is None:
            return
        try:
            self.metrics_port = self._metrics_listener.start()
        except OSError:
            if "api" in self.settings.roles:
                self._gateway.stop(0)
                self._grpc.stop(0)
            self.database.dispose()
            raise
        logger.info("serving metrics on port %d", self.metrics_port)

    def _on_pass(self, schedules: int, seconds: float) -> None:
        self.metrics.firing_pass(schedules, seconds, self.clock.now().timestamp())
        self._engine_reporter(schedules)

    def _on_database_availability(self, available: bool) -> None:
        if self._serving and not self._stopped.is_set():
            self._grpc.set_serving(available)
        if available:
            self.engine.wake()
            self.dispatcher.wake()
            self.pusher.wake()

    def stop(self) -> None:
        """Graceful shutdown: NOT_SERVING, drain delay, waiting claims answer, stop
        accepting, let calls finish."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if "api" not in self.settings.roles:
            self.engine.stop()
            self.dispatcher.stop()
            self.pusher.stop(self.settings.shutdown_grace)
            self._close()
            return
        self._grpc.enter_graceful_shutdown()
        self._gateway.enter_graceful_shutdown()
        # Only the drain delay waits on a real clock: it gives load balancers polling health
        # time to notice NOT_SERVING before connections are refused.
        threading.Event().wait(self.settings.drain_delay.total_seconds())
        # Long-polling claims answer now (with what is pending, or nothing) and new ones do
        # not wait: else each would hold the shutdown for up to its wait (60 s at most).
        # Not before the drain delay: a worker given an empty answer calls again at once,
        # and would call this server in a loop while it still accepts.
        self.objectives.stop_waiting()
        # REST requests are calls of the gRPC server: finish them before it stops.
        self._gateway.stop(self.settings.shutdown_grace.total_seconds())
        self._grpc.stop(self.settings.shutdown_grace.total_seconds())
        # The engine finishes its batch (one transaction) and stops; the dispatcher records
        # the attempts in flight (each bounded by its timeout) and stops; pushes in flight end
        # their attempts, or, still waiting after the grace, are left to their leases.
        self.engine.stop()
        self.dispatcher.stop()
        self.pusher.stop(self.settings.shutdown_grace)
        self._close()
        logger.info("stopped")

    def _close(self) -> None:
        # Last: the final counts stay scrapeable while the rest drains.
        if self._metrics_listener is not None:
            self._metrics_listener.stop(0)
        self.database_watcher.stop()
        self._webhook_sender.close()
        self._push_sender.close()
        if self._notifications is not None:
            self._notifications.close()
        self.database.dispose()
        self.tracing.shutdown()  # exports the spans still buffered

    def _publish(self, topic: str, payload: str) -> None:
        assert self._notifications is not None
        channel = _CHANNELS[topic]
        try:
            self._notifications.publish(channel, payload)
        except DatabaseUnavailableError:
            # The outage is warned of once (DatabaseWatcher), not at every notification.
            logger.debug("could not publish %s notification: the database is unavailable", topic)
        except Exception:
            # A lost wake-up only delays: loops and claimers also poll on their own.
            logger.warning("could not publish %s notification", topic, exc_info=True)

    def _on_notification(self, channel: str, payload: str) -> None:
        if channel == SCHEDULES_CHANNEL:
            self.notifier.local_schedules_changed(due_at_of(payload))
        elif channel == CREDENTIALS_CHANNEL:
            self.notifier.local_credentials_changed(payload)
        elif channel == DELIVERIES_CHANNEL:
            self.notifier.local_deliveries_written()
        elif payload:
            self.notifier.local_objectives_available(*objectives_of(payload))

    def _is_ready(self) -> bool:
        """For /readyz: serving, the database answers and every migration has been applied."""
        if not (self._serving and self.database_watcher.available):
            return False
        try:
            return migrate.is_up_to_date(self.database)
        except DatabaseUnavailableError:
            return False
