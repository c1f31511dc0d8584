"""`sundial serve --metrics-address`: /metrics on a listener of its own (an address only
Prometheus reaches), served by the same HTTP server as the REST gateway."""

from typing import cast

from google.rpc import code_pb2, status_pb2

from sundial.gateway.app import METRICS_PATH, GatewayApp, HttpResponse, metrics_response
from sundial.gateway.http_server import HttpServer
from sundial.gateway.rendering import encode_json, status_json
from sundial.metrics import Metrics


class MetricsApp:
    """Answers GET and HEAD /metrics, and 404 or 405 with a JSON Status to the rest: the
    `handle` of GatewayApp, which is all the HTTP server calls."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def handle(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        client: str = "",
    ) -> HttpResponse:
        path = target.partition("?")[0]
        if path != METRICS_PATH:
            return _error(404, code_pb2.NOT_FOUND, f"no route for {path}; this is {METRICS_PATH}")
        if method not in ("GET", "HEAD"):
            response = _error(
                405,
                code_pb2.UNIMPLEMENTED,
                f"{method} is not allowed on {path}; allowed: GET, HEAD",
            )
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        return metrics_response(self._metrics, headers)


class MetricsListener:
    """Serves MetricsApp on `address` (port 0 picks one) until stopped."""

    def __init__(self, metrics: Metrics, address: str) -> None:
        # HttpServer is typed for GatewayApp but calls nothing of it except handle().
        self._http = HttpServer(cast(GatewayApp, MetricsApp(metrics)), address)

    def start(self) -> int:
        """Starts accepting; returns the bound port."""
        return self._http.start()

    def stop(self, grace_seconds: float) -> None:
        self._http.stop(grace_seconds)


def _error(http_status: int, code: int, message: str) -> HttpResponse:
    return HttpResponse(
        http_status, encode_json(status_json(status_pb2.Status(code=code, message=message)))
    )
