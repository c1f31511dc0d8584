"""The gateway apart from sockets: built-in endpoints and failures inside the gateway."""

import json
import logging

import pytest

from sundial.gateway.app import GatewayApp
from sundial.gateway.calls import CallResult
from sundial.gateway.routes import routes_of
from tests.gateway.feature_service import message, service


class _Forwarder:
    def __init__(self, result=None, error=None):
        self.result, self.error = result, error

    def call(self, route, request, metadata, timeout):
        if self.error:
            raise self.error
        return self.result


def _app(forwarder=None, readiness=lambda: True):
    return GatewayApp(
        routes_of([service()]),
        forwarder or _Forwarder(),
        openapi_document=b'{"openapi": "3.0.3"}',
        readiness=readiness,
    )


def test_health_is_always_serving():
    reply = _app(readiness=lambda: False).handle("GET", "/healthz", [], b"")
    assert (reply.status, json.loads(reply.body)) == (200, {"status": "SERVING"})


def _raise():
    raise ConnectionError("database is down")


@pytest.mark.parametrize(
    ("readiness", "draining", "status"),
    [
        (lambda: True, False, 200),
        (lambda: False, False, 503),
        (_raise, False, 503),
        (lambda: True, True, 503),
    ],
    ids=["ready", "not-ready", "check-fails", "draining"],
)
def test_readiness(readiness, draining, status):
    app = _app(readiness=readiness)
    app.draining = draining
    reply = app.handle("GET", "/readyz", [], b"")
    assert reply.status == status
    assert json.loads(reply.body)["status"] == ("SERVING" if status == 200 else "NOT_SERVING")


def test_openapi_document_is_served_as_given():
    assert _app().handle("GET", "/openapi.json", [], b"").body == b'{"openapi": "3.0.3"}'


def test_builtin_paths_take_only_get_and_head():
    reply = _app().handle("POST", "/readyz", [], b"")
    assert reply.status == 405
    assert ("Allow", "GET, HEAD") in reply.headers


def test_query_and_fragment_are_split_off_the_path():
    thing = message("Thing", id="t", count=3)
    forwarder = _Forwarder(CallResult(thing.SerializeToString(), None, []))
    reply = _app(forwarder).handle("GET", "/v1/things/t?count=3#top", [], b"")
    assert json.loads(reply.body) == {"id": "t", "count": 3}


def test_a_failure_inside_the_gateway_is_500_with_a_request_id(caplog):
    app = _app(_Forwarder(error=RuntimeError("secret detail")))
    reply = app.handle("GET", "/v1/things/t", [], b"")
    body = json.loads(reply.body)
    assert reply.status == 500
    assert body["code"] == 13
    assert "req_" in body["message"]
    assert "secret detail" not in body["message"]
    assert "secret detail" in caplog.text


def test_every_answer_is_rendered_from_the_response_it_got():
    forwarder = _Forwarder(CallResult(message("Thing", id="a").SerializeToString(), None, []))
    app = _app(forwarder)
    assert json.loads(app.handle("GET", "/v1/things/a", [], b"").body)["id"] == "a"

    # The resource changed: the same request renders what the server answers now.
    forwarder.result = CallResult(message("Thing", id="b").SerializeToString(), None, [])
    assert json.loads(app.handle("GET", "/v1/things/a", [], b"").body)["id"] == "b"
    assert json.loads(app.handle("PATCH", "/v1/things/a", [], b"{}").body)["id"] == "b"


@pytest.mark.parametrize(
    ("access_log", "level"),
    [(False, logging.DEBUG), (True, logging.INFO)],
    ids=["default-debug", "access-log-info"],
)
def test_a_refused_request_is_logged_at_info_only_with_the_access_log(caplog, access_log, level):
    caplog.set_level(logging.DEBUG, logger="sundial.gateway")
    app = GatewayApp(
        routes_of([service()]),
        _Forwarder(),
        openapi_document=b"{}",
        readiness=lambda: True,
        access_log=access_log,
    )
    assert app.handle("GET", "/v1/nowhere", [], b"").status == 404
    [line] = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert line.levelno == level
