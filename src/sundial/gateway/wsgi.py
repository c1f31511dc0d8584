"""The gateway as a WSGI application (PEP 3333), so that any WSGI server can carry it:
`sundial serve` embeds waitress (gateway.http_server), and `create_app` is the factory for
running the gateway apart, e.g. `gunicorn 'sundial.gateway.wsgi:create_app()'` with
SUNDIAL_GRPC_TARGET naming the gRPC server.

The adapter only translates: the request line's raw target (WSGI's PATH_INFO is
percent-decoded, which would turn `%2F` into a path separator), the headers, the body and
the peer address go to `GatewayApp.handle` as they came."""

import logging
import os
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import grpc
from google.rpc import code_pb2, status_pb2

from sundial.gateway.app import GatewayApp, HttpResponse
from sundial.gateway.calls import GrpcForwarder
from sundial.gateway.console_assets import ConsoleAssets
from sundial.gateway.openapi import encode_document, openapi_document
from sundial.gateway.rendering import encode_json, status_json
from sundial.gateway.routes import discover_services, routes_of
from sundial.gateway.upstream import UpstreamHealth

logger = logging.getLogger("sundial.gateway")

# gRPC's default largest message; a bigger JSON body could not be forwarded anyway.
MAX_BODY_BYTES = 4 * 1024 * 1024
GRPC_TARGET_VARIABLE = "SUNDIAL_GRPC_TARGET"
# The secret shared with the api (`sundial serve --gateway-token`); never logged.
GATEWAY_TOKEN_VARIABLE = "SUNDIAL_GATEWAY_TOKEN"
# Answered to a client that has gone (nobody reads it): nginx's "client closed request".
CLIENT_CLOSED = 499

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
# WSGI servers name the request line's target differently; each is the raw target.
_RAW_TARGET_KEYS = ("REQUEST_URI", "RAW_URI")
# Headers WSGI keeps outside HTTP_*.
_UNPREFIXED = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


class WsgiGateway:
    """A WSGI application answering each request with `GatewayApp.handle`."""

    def __init__(self, app: GatewayApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self._max_body_bytes = max_body_bytes

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ["REQUEST_METHOD"])
        try:
            body = _read_body(environ, self._max_body_bytes)
        except _BodyError as error:
            response = error_response(error.http_status, str(error))
        else:
            response = self._answer(environ, method, body)
        start_response(_status_line(response.status), _headers(response))
        # A response to HEAD has the headers of the GET response and no body.
        return [] if method == "HEAD" else [response.body]

    def _answer(self, environ: Environ, method: str, body: bytes) -> HttpResponse:
        client_gone: Callable[[], bool] | None = environ.get("waitress.client_disconnected")
        if client_gone is not None and client_gone():
            # Queued behind other work while its client went away: running it now would
            # spend a worker (and a gRPC call) on an answer nobody reads.
            logger.debug("http %s dropped: the client disconnected", method)
            return HttpResponse(CLIENT_CLOSED, b"")
        return self.app.handle(
            method,
            raw_target(environ),
            headers_of(environ),
            body,
            str(environ.get("REMOTE_ADDR") or ""),
        )


def raw_target(environ: Environ) -> str:
    """The request line's target with its query, as the client sent it."""
    for key in _RAW_TARGET_KEYS:
        if target := environ.get(key):
            return str(target)
    # PEP 3333 only promises decoded parts (as latin-1 text): re-encode them. `%2F` in a
    # segment comes back as `/` here, which only servers without a raw target do.
    path = quote(
        environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;="
    )
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


def headers_of(environ: Environ) -> list[tuple[str, str]]:
    """The request headers, named as HTTP spells them (`HTTP_X_REQUEST_ID` is
    `X-Request-Id`). A server joins repeated headers with commas (RFC 9110 section 5.3);
    Authorization is no list, so a comma in it means several were sent, and they are
    passed on as several so that the call is refused rather than one of them guessed."""
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key in _UNPREFIXED:
            if value:
                headers.append((_UNPREFIXED[key], str(value)))
        elif key.startswith("HTTP_"):
            name = "-".join(part.capitalize() for part in key[5:].split("_"))
            if name == "Authorization" and "," in value:
                headers.extend((name, part.strip()) for part in str(value).split(","))
            else:
                headers.append((name, str(value)))
    return headers


def error_response(http_status: int, message: str) -> HttpResponse:
    """A google.rpc.Status body for an error of the transport itself."""
    code = code_pb2.INVALID_ARGUMENT if 400 <= http_status < 500 else code_pb2.UNKNOWN
    status = status_pb2.Status(code=code, message=message)
    return HttpResponse(http_status, encode_json(status_json(status)))


class _BodyError(Exception):
    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status


def _read_body(environ: Environ, limit: int) -> bytes:
    """The whole body; _BodyError when it is larger than `limit` or its length is no number
    (waitress refuses that itself; a WSGI server that does not gets the same 400)."""
    stream = environ["wsgi.input"]
    too_large = _BodyError(413, f"the body is larger than {limit} bytes")
    length_text = str(environ.get("CONTENT_LENGTH") or "")
    if length_text:
        if not (length_text.isascii() and length_text.isdigit()):
            raise _BodyError(400, f"Content-Length {length_text!r} is not a number of bytes")
        length = int(length_text)
        if length > limit:
            raise too_large
        return bytes(stream.read(length))
    if environ.get("wsgi.input_terminated"):
        body = bytes(stream.read(limit + 1))
        if len(body) > limit:
            raise too_large
        return body
    return b""


_NO_CONTENT = frozenset({204, 304})


def _status_line(status: int) -> str:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Client Closed Request" if status == CLIENT_CLOSED else "Unknown"
    return f"{status} {reason}"


def _headers(response: HttpResponse) -> list[tuple[str, str]]:
    # A 204 or 304 has no content, so neither header (RFC 9110 sections 8.6 and 15.3.5);
    # waitress then closes the connection after it, which only CORS preflights meet, and
    # browsers cache those (Access-Control-Max-Age).
    headers = (
        []
        if response.status in _NO_CONTENT
        else [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
        ]
    )
    # A value with a line break would end the header early: such a value is dropped.
    headers.extend(
        (name, value) for name, value in response.headers if "\r" not in value and "\n" not in value
    )
    return headers


def create_app() -> WsgiGateway:
    """The WSGI application for a server of its own, calling the gRPC server at
    $SUNDIAL_GRPC_TARGET (e.g. `127.0.0.1:50051`); /readyz asks that server's health. With
    $SUNDIAL_GATEWAY_TOKEN (the api's own), the client's address goes along with each call,
    as the WSGI server reports it in REMOTE_ADDR."""
    target = os.environ.get(GRPC_TARGET_VARIABLE, "")
    if not target:
        raise RuntimeError(f"set {GRPC_TARGET_VARIABLE} to the gRPC server's HOST:PORT")
    channel = grpc.insecure_channel(target)
    routes = routes_of(discover_services())
    console = ConsoleAssets()
    app = GatewayApp(
        routes,
        GrpcForwarder(channel, routes),
        openapi_document=encode_document(openapi_document(routes)),
        readiness=UpstreamHealth(channel),
        client_token=os.environ.get(GATEWAY_TOKEN_VARIABLE, ""),
        console=console if console.available else None,
    )
    return WsgiGateway(app)
