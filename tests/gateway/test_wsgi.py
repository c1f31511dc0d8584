"""The gateway as a WSGI application: what the adapter passes to GatewayApp, and the same
application served by a second WSGI server (the standard library's wsgiref)."""

import io
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from sundial.domain.clock import FakeClock
from sundial.gateway.app import GatewayApp, HttpResponse
from sundial.gateway.wsgi import WsgiGateway, create_app, headers_of, raw_target
from tests.gateway import feature_service
from tests.gateway.client import call
from tests.gateway.conftest import START
from tests.support.servers import running, server_settings


class Recorder:
    """Stands in for GatewayApp: records what it was asked, answers 200."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[tuple[str, str]], bytes, str]] = []

    def handle(self, method, target, headers, body, client=""):
        self.calls.append((method, target, headers, body, client))
        return HttpResponse(200, b'{"ok":true}', [("X-Request-Id", "req_1")])


def _environ(**overrides) -> dict:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/things/a/b",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(b'{"count": 1}'),
        "CONTENT_LENGTH": "12",
        "CONTENT_TYPE": "application/json",
        "REMOTE_ADDR": "192.0.2.7",
        "HTTP_X_REQUEST_ID": "abc",
    }
    environ.update(overrides)
    return environ


def _serve(environ: dict) -> tuple[Recorder, str, list[tuple[str, str]], bytes]:
    recorder = Recorder()
    started = {}

    def start_response(status, headers):
        started.update(status=status, headers=headers)

    body = b"".join(WsgiGateway(recorder)(environ, start_response))  # type: ignore[arg-type]
    return recorder, started["status"], started["headers"], body


def test_the_adapter_passes_the_raw_target_headers_body_and_peer():
    recorder, status, headers, body = _serve(
        _environ(REQUEST_URI="/v1/things/a%2Fb?x=%3A1", PATH_INFO="/v1/things/a/b")
    )
    method, target, sent_headers, sent_body, client = recorder.calls[0]
    assert (method, target, sent_body, client) == (
        "POST",
        "/v1/things/a%2Fb?x=%3A1",  # as sent: PATH_INFO has the %2F decoded
        b'{"count": 1}',
        "192.0.2.7",
    )
    assert ("X-Request-Id", "abc") in sent_headers
    assert ("Content-Type", "application/json") in sent_headers
    assert status == "200 OK"
    assert ("Content-Length", "11") in headers
    assert ("X-Request-Id", "req_1") in headers
    assert body == b'{"ok":true}'


@pytest.mark.parametrize(
    ("environ", "target"),
    [
        ({"REQUEST_URI": "/v1/x%3Apause?a=1"}, "/v1/x%3Apause?a=1"),
        ({"RAW_URI": "/v1/x%2Fy"}, "/v1/x%2Fy"),
        ({"PATH_INFO": "/v1/a b:pause", "QUERY_STRING": "q=1"}, "/v1/a%20b:pause?q=1"),
    ],
    ids=["waitress-cheroot", "gunicorn", "pep-3333-only"],
)
def test_raw_target(environ, target):
    assert raw_target(environ) == target


def test_two_authorization_headers_joined_by_the_server_are_passed_as_two():
    headers = headers_of({"HTTP_AUTHORIZATION": "Bearer a, Bearer b", "HTTP_ACCEPT": "a, b"})
    assert headers == [
        ("Authorization", "Bearer a"),
        ("Authorization", "Bearer b"),
        ("Accept", "a, b"),
    ]


def test_a_body_over_the_limit_is_a_413_and_never_reaches_the_app():
    recorder, status, _, body = _serve(_environ(CONTENT_LENGTH=str(4 * 1024 * 1024 + 1)))
    assert status.startswith("413 ")
    assert recorder.calls == []
    assert b'"code":3' in body


def test_a_request_whose_client_left_is_not_handled():
    recorder, status, _, _ = _serve(_environ(**{"waitress.client_disconnected": lambda: True}))
    assert recorder.calls == []
    assert status.startswith("499 ")


def test_head_answers_headers_only():
    _, status, headers, body = _serve(_environ(REQUEST_METHOD="HEAD", CONTENT_LENGTH=""))
    assert status == "200 OK"
    assert ("Content-Length", "11") in headers
    assert body == b""


def test_create_app_needs_the_grpc_target(monkeypatch):
    monkeypatch.delenv("SUNDIAL_GRPC_TARGET", raising=False)
    with pytest.raises(RuntimeError, match="SUNDIAL_GRPC_TARGET"):
        create_app()


def test_the_factory_app_serves_the_console(monkeypatch):
    # No call reaches the target: the channel connects lazily and the console is no RPC.
    monkeypatch.setenv("SUNDIAL_GRPC_TARGET", "127.0.0.1:1")
    reply = create_app().app.handle("GET", "/console/", [], b"")
    assert (reply.status, reply.content_type) == (200, "text/html; charset=utf-8")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def wsgiref_port(monkeypatch) -> Iterator[int]:
    """The feature gateway's app under wsgiref instead of waitress."""
    with feature_service.feature_gateway() as stack:
        app = stack.gateway._app
        assert isinstance(app, GatewayApp)
        server = make_server("127.0.0.1", 0, WsgiGateway(app), handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_port
        finally:
            server.shutdown()
            server.server_close()


def test_the_same_app_runs_under_another_wsgi_server(wsgiref_port):
    reply = call(wsgiref_port, "PATCH", "/v1/things/t1", {"count": 3})
    assert reply.status == 200
    assert reply.json() == {"id": "t1", "count": 3, "output": "UpdateThing"}
    assert call(wsgiref_port, "GET", "/healthz").status == 200


def test_a_content_length_that_is_no_number_is_a_400_under_any_server():
    recorder, status, _, body = _serve(_environ(CONTENT_LENGTH="²"))
    assert status.startswith("400 ")
    assert recorder.calls == []
    assert b"Content-Length" in body


SHARED_TOKEN = "shared-by-the-api-and-its-fronts-0123456789"


@pytest.mark.parametrize(
    ("front_token", "other_client_status"),
    [(SHARED_TOKEN, 401), ("", 429)],
    ids=["shared-token", "no-token"],
)
def test_the_factory_app_sends_its_clients_address_with_the_shared_token(
    monkeypatch, database_url, front_token, other_client_status
):
    settings = server_settings(
        database_url, gateway_token=SHARED_TOKEN, auth_failure_burst=2,
        auth_failure_per_minute=0.001,
    )  # fmt: skip
    with running(settings, FakeClock(START)) as server:
        monkeypatch.setenv("SUNDIAL_GRPC_TARGET", f"127.0.0.1:{server.port}")
        monkeypatch.setenv("SUNDIAL_GATEWAY_TOKEN", front_token)
        app = create_app().app
        path = f"/v1/workspaces/{server.bootstrap.default_workspace.id}/agents"
        wrong = [("Authorization", "Bearer wrong-secret-0123456789")]

        def fail(client: str) -> int:
            return app.handle("GET", path, wrong, b"", client).status

        assert [fail("203.0.113.5") for _ in range(3)] == [401, 401, 429]
        # Without the token the api sees the front's own address, which is now limited.
        assert fail("198.51.100.7") == other_client_status
