"""CORS over real HTTP: preflights answered for allowed origins with the path's own methods,
actual responses readable by the page (origin, exposed headers), nothing for other origins
or when no origin is configured."""

import pytest

from sundial.gateway.cors import CorsPolicy
from tests.gateway.conftest import CORS_ORIGIN

OTHER_ORIGIN = "https://evil.example.net"


def _preflight(rest, path, origin=CORS_ORIGIN, method="POST", headers=""):
    return rest(
        "OPTIONS",
        path,
        authorization="",
        origin=origin,
        access_control_request_method=method,
        access_control_request_headers=headers,
    )


def test_a_preflight_names_the_methods_the_path_has(web_rest):
    reply = _preflight(web_rest, web_rest.agents(), headers="authorization, content-type")
    assert reply.status == 204, reply.body
    assert reply.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert reply.headers["access-control-allow-methods"] == "GET, POST"
    allowed = reply.headers["access-control-allow-headers"].split(", ")
    assert {"Authorization", "Content-Type", "Content-Encoding", "If-Match"} <= set(allowed)
    assert {"X-Request-Id", "Grpc-Timeout"} <= set(allowed)
    assert reply.headers["access-control-max-age"] == "7200"
    assert reply.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in reply.headers
    # No content, so no Content-Length nor Content-Type (RFC 9110 section 8.6).
    assert "content-length" not in reply.headers
    assert "content-type" not in reply.headers
    assert reply.body == b""


def test_a_preflight_of_one_resource_and_of_a_custom_method(web_rest):
    agent = f"{web_rest.agents()}/agent_x"
    assert _preflight(web_rest, agent).headers["access-control-allow-methods"] == (
        "DELETE, GET, PATCH"
    )
    pause = f"{web_rest.schedules('agent_x')}/sched_x:pause"
    assert _preflight(web_rest, pause).headers["access-control-allow-methods"] == "POST"
    assert _preflight(web_rest, "/openapi.json", method="GET").headers[
        "access-control-allow-methods"
    ] == ("GET, HEAD")


def test_a_preflight_allows_the_grpc_metadata_headers_it_asks_for(web_rest):
    reply = _preflight(web_rest, web_rest.agents(), headers="Grpc-Metadata-Trace, If-Match")
    assert "Grpc-Metadata-Trace" in reply.headers["access-control-allow-headers"].split(", ")


def test_a_preflight_of_an_unknown_path_is_404(web_rest):
    reply = _preflight(web_rest, "/v1/nowhere")
    assert reply.status == 404
    assert reply.headers["access-control-allow-origin"] == CORS_ORIGIN


def test_an_actual_response_is_readable_by_the_allowed_origin(web_rest):
    reply = web_rest("GET", web_rest.agents(), origin=CORS_ORIGIN)
    assert reply.status == 200, reply.body
    assert reply.headers["access-control-allow-origin"] == CORS_ORIGIN
    exposed = reply.headers["access-control-expose-headers"].split(", ")
    assert {"X-Request-Id", "ETag", "Retry-After", "WWW-Authenticate"} <= set(exposed)
    assert reply.headers["vary"] == "Origin"


def test_errors_are_readable_by_the_allowed_origin_too(web_rest):
    reply = web_rest("GET", web_rest.agents(), origin=CORS_ORIGIN, authorization="")
    assert reply.status == 401
    assert reply.headers["access-control-allow-origin"] == CORS_ORIGIN


def test_another_origin_gets_no_cors_headers(web_rest):
    reply = web_rest("GET", web_rest.agents(), origin=OTHER_ORIGIN)
    assert reply.status == 200
    assert not [name for name in reply.headers if name.startswith("access-control-")]
    preflight = _preflight(web_rest, web_rest.agents(), origin=OTHER_ORIGIN)
    assert preflight.status == 405  # an OPTIONS like any other: no route takes it
    assert not [name for name in preflight.headers if name.startswith("access-control-")]


def test_without_cors_origins_there_are_no_cors_headers(rest):
    reply = rest("GET", rest.agents(), origin=CORS_ORIGIN)
    assert reply.status == 200
    assert not [name for name in reply.headers if name.startswith("access-control-")]
    assert "vary" not in reply.headers
    assert _preflight(rest, rest.agents()).status == 405


def test_an_options_request_that_is_no_preflight_is_routed(web_rest):
    reply = web_rest("OPTIONS", web_rest.agents(), origin=CORS_ORIGIN)
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("origins", "origin", "allow_origin", "vary"),
    [
        (["https://a.example"], "https://a.example", "https://a.example", "Origin"),
        (["https://a.example"], "https://b.example", None, "Origin"),
        (["https://a.example"], "", None, "Origin"),
        (["*"], "https://b.example", "*", None),
        ([], "https://b.example", None, None),
    ],
    ids=["listed", "not-listed", "no-origin", "any", "off"],
)
def test_response_headers(origins, origin, allow_origin, vary):
    headers = dict(CorsPolicy(origins).response_headers(origin))
    assert headers.get("Access-Control-Allow-Origin") == allow_origin
    assert headers.get("Vary") == vary
