"""/metrics on the REST port and on a listener of its own, and REST requests counted by
method and route template."""

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sundial.gateway import MetricsListener
from sundial.gateway.app import GatewayApp
from sundial.gateway.calls import CallResult
from sundial.gateway.routes import routes_of
from sundial.metrics import Metrics
from tests.gateway.client import call
from tests.gateway.feature_service import message, service

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


class _Forwarder:
    def call(self, route, request, metadata, timeout):
        return CallResult(message("Thing", id="t").SerializeToString(), None, [])


def _app(metrics, **options):
    return GatewayApp(
        routes_of([service()]),
        _Forwarder(),
        openapi_document=b"{}",
        readiness=lambda: True,
        metrics=metrics,
        **options,
    )


def _requests(metrics, method, route, status):
    labels = {"method": method, "route": route, "status": str(status)}
    return metrics.registry.get_sample_value("sundial_http_requests_total", labels) or 0


def test_metrics_are_served_in_the_prometheus_text_format():
    metrics = Metrics()
    metrics.fired("created", 3)
    reply = _app(metrics).handle("GET", "/metrics", [], b"")
    assert (reply.status, reply.content_type) == (200, TEXT_FORMAT)
    families = {f.name: f for f in text_string_to_metric_families(reply.body.decode())}
    [created] = [s for s in families["sundial_fires"].samples if s.labels == {"outcome": "created"}]
    assert created.value == 3


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it():
    reply = _app(Metrics()).handle(
        "GET", "/metrics", [("Accept", "application/openmetrics-text; version=1.0.0")], b""
    )
    assert reply.content_type.startswith("application/openmetrics-text")
    assert reply.body.endswith(b"# EOF\n")


def test_requests_are_counted_by_route_template_never_by_path():
    metrics = Metrics()
    app = _app(metrics)
    for thing in ("a", "b", "c"):
        assert app.handle("GET", f"/v1/things/{thing}", [], b"").status == 200
    assert app.handle("GET", "/v1/nowhere/x", [], b"").status == 404
    assert app.handle("DELETE", "/v1/things/a", [], b"").status == 405
    app.handle("BREW", "/v1/things/a", [], b"")
    app.handle("GET", "/healthz", [], b"")
    assert _requests(metrics, "GET", "/v1/things/{id}", 200) == 3
    assert _requests(metrics, "GET", "(unmatched)", 404) == 1
    assert _requests(metrics, "DELETE", "(unmatched)", 405) == 1
    assert _requests(metrics, "other", "(unmatched)", 405) == 1  # methods are bounded too
    assert _requests(metrics, "GET", "/healthz", 200) == 1
    routes = {
        s.labels["route"]
        for f in metrics.registry.collect()
        if f.name == "sundial_http_requests"
        for s in f.samples
    }
    assert not any("/a" in route or "/b" in route for route in routes)
    count = metrics.registry.get_sample_value(
        "sundial_http_request_duration_seconds_count", {"method": "GET", "route": "/v1/things/{id}"}
    )
    assert count == 3


def test_with_an_address_of_their_own_metrics_are_not_on_the_rest_port():
    reply = _app(Metrics(), serve_metrics=False).handle("GET", "/metrics", [], b"")
    assert reply.status == 404
    assert json.loads(reply.body)["details"][0]["reason"] == "ROUTE_NOT_FOUND"


@pytest.fixture
def listener():
    metrics = Metrics()
    metrics.fired("missed", 2)
    served = MetricsListener(metrics, "127.0.0.1:0")
    port = served.start()
    yield port
    served.stop(1.0)


def test_the_metrics_listener_serves_metrics_over_http(listener):
    reply = call(listener, "GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"] == TEXT_FORMAT
    assert 'sundial_fires_total{outcome="missed"} 2.0' in reply.body.decode()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/healthz", 404), ("GET", "/v1/agents", 404), ("POST", "/metrics", 405)],
    ids=["other-path", "api-path", "post"],
)
def test_the_metrics_listener_serves_nothing_else(listener, method, path, status):
    reply = call(listener, method, path)
    assert reply.status == status
    assert "message" in reply.json()
