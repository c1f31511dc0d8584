"""REST/JSON gateway: every RPC of the given services served over HTTP by its
google.api.http annotation, made as a call over a gRPC channel to the server beside it."""

from collections.abc import Callable, Sequence

import grpc

from sundial.gateway.app import GatewayApp, WebOptions
from sundial.gateway.calls import GrpcForwarder
from sundial.gateway.console_assets import ConsoleAssets
from sundial.gateway.http_server import HttpLimits, HttpServer
from sundial.gateway.metrics_listener import MetricsListener
from sundial.gateway.openapi import encode_document, openapi_document
from sundial.gateway.routes import Route, find_services, routes_of
from sundial.gateway.upstream import UpstreamHealth
from sundial.metrics import Metrics

__all__ = ["Gateway", "HttpLimits", "MetricsListener", "WebOptions"]


class Gateway:
    """The REST listener of one `sundial serve`: start it once gRPC serves, stop it first
    (or, in a front apart, the whole process)."""

    def __init__(
        self,
        *,
        services: Sequence[str],
        readiness: Callable[[], bool] | None,
        client_token: str = "",
        web: WebOptions | None = None,
        limits: HttpLimits | None = None,
        metrics: Metrics | None = None,
        serve_metrics: bool = True,
        access_log: bool = False,
    ) -> None:
        """`readiness`: for /readyz; None asks the upstream's gRPC health (a front apart).
        `client_token`: sent with each client's address (none: no address is sent);
        `serve_metrics`: /metrics on this listener (off when it has its own);
        `access_log`: refused requests logged at INFO (else DEBUG)."""
        self.routes: list[Route] = routes_of(find_services(services))
        self.openapi = encode_document(openapi_document(self.routes))
        self.console = ConsoleAssets()
        self._readiness = readiness
        self._client_token = client_token
        self._web = web
        self._limits = limits
        self._metrics = metrics
        self._serve_metrics = serve_metrics
        self._access_log = access_log
        self._channel: grpc.Channel | None = None
        self._app: GatewayApp | None = None
        self._http: HttpServer | None = None

    def start(self, address: str, *, grpc_target: str) -> int:
        """Listens on `address` (port 0 picks one) and returns the bound port. Calls go to
        the gRPC server at `grpc_target` (in `sundial serve`, its Unix socket)."""
        self._channel = grpc.insecure_channel(grpc_target)
        self._app = GatewayApp(
            self.routes,
            GrpcForwarder(self._channel, self.routes),
            openapi_document=self.openapi,
            readiness=self._readiness or UpstreamHealth(self._channel),
            client_token=self._client_token,
            web=self._web,
            metrics=self._metrics,
            serve_metrics=self._serve_metrics,
            access_log=self._access_log,
            console=self.console if self.console.available else None,
        )
        self._http = HttpServer(self._app, address, self._limits)
        return self._http.start()

    def enter_graceful_shutdown(self) -> None:
        """/readyz answers 503 from now on, so load balancers stop sending requests."""
        if self._app is not None:
            self._app.draining = True

    def stop(self, grace_seconds: float) -> None:
        """Stops accepting and lets requests in flight finish (up to `grace_seconds`)."""
        if self._http is not None:
            self._http.stop(grace_seconds)
        if self._channel is not None:
            self._channel.close()
