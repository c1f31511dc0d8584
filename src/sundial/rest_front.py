"""Wiring and lifecycle of a REST front apart, `sundial serve --roles rest`: the gateway's
hardened listener, forwarding every request to the gRPC server at `grpc_target`, with no
database, migrations or engine of its own.

Embedded in `sundial serve`, the gateway shares one interpreter lock with the gRPC server,
and every REST request is handed between waitress's, the gRPC client's and the gRPC
server's threads inside it. A front in a process of its own has an interpreter of its own,
and fronts scale apart from the API they call (as grpc-gateway is deployed)."""

import logging
import threading
from collections.abc import Callable, Sequence

from sundial.gateway import Gateway, HttpLimits, MetricsListener, WebOptions
from sundial.gateway.routes import discover_services
from sundial.metrics import Metrics
from sundial.settings import Settings

logger = logging.getLogger("sundial.server")


def gateway_of(
    settings: Settings,
    *,
    services: Sequence[str],
    readiness: Callable[[], bool] | None,
    client_token: str,
    metrics: Metrics,
) -> tuple[Gateway, MetricsListener | None]:
    """The REST gateway the settings describe (embedded or apart), and the /metrics
    listener of its own when `metrics_address` is set (then /metrics is not on the REST
    port). `readiness` None: the upstream's gRPC health."""
    gateway = Gateway(
        services=services,
        readiness=readiness,
        client_token=client_token,
        web=WebOptions(
            cors_origins=settings.cors_origins, trusted_proxies=settings.trusted_proxies
        ),
        limits=HttpLimits(
            threads=settings.http_threads,
            max_connections=settings.http_max_connections,
            header_timeout_seconds=settings.http_header_timeout.total_seconds(),
            idle_timeout_seconds=settings.http_idle_timeout.total_seconds(),
        ),
        metrics=metrics,
        serve_metrics=settings.metrics_address is None,
        access_log=settings.access_log,
    )
    listener = None
    if settings.metrics_address is not None:
        listener = MetricsListener(metrics, settings.metrics_address)
    return gateway, listener


class RestFront:
    """One `sundial serve --roles rest` process."""

    def __init__(self, settings: Settings) -> None:
        if settings.grpc_target is None or settings.http_address is None:
            raise ValueError("a REST front needs a gRPC target and an HTTP address")
        self.settings = settings
        self._address, self._target = settings.http_address, settings.grpc_target
        self.http_port = 0
        self.metrics_port = 0
        self._stopped = threading.Event()
        # The front's own counts: its HTTP requests (the api process counts the RPCs).
        self.metrics = Metrics()
        self._gateway, self._metrics_listener = gateway_of(
            settings,
            services=[service.full_name for service in discover_services()],
            readiness=None,  # the upstream's gRPC health
            client_token=settings.gateway_token,
            metrics=self.metrics,
        )

    def start(self) -> None:
        """Listens and serves. Raises OSError when an address cannot be listened on. The
        upstream need not be up yet: /readyz says 503 until it serves."""
        self.http_port = self._gateway.start(self._address, grpc_target=self._target)
        if self._metrics_listener is not None:
            try:
                self.metrics_port = self._metrics_listener.start()
            except OSError:
                self._gateway.stop(0)
                raise
        if not self.settings.gateway_token:
            logger.info(
                "no gateway token: the api sees this front's address, not its clients' "
                "(set SUNDIAL_GATEWAY_TOKEN on both)"
            )
        logger.info("serving REST on port %d, forwarding to %s", self.http_port, self._target)

    def stop(self) -> None:
        """Graceful shutdown: /readyz answers 503 for the drain delay, then the listener
        stops accepting and requests in flight finish (up to the grace)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._gateway.enter_graceful_shutdown()
        # A real wait, as the api's: load balancers polling /readyz move traffic away first.
        threading.Event().wait(self.settings.drain_delay.total_seconds())
        self._gateway.stop(self.settings.shutdown_grace.total_seconds())
        if self._metrics_listener is not None:
            self._metrics_listener.stop(0)
        logger.info("stopped")
