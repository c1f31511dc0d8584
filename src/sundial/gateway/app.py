"""The gateway as a function from an HTTP request to an HTTP response, apart from any
socket: route, build the RPC request, forward it, render ProtoJSON. Also /healthz,
/readyz, /openapi.json and /metrics, and the web's conventions around them: CORS, gzip both
ways, ETag and If-Match, the client's address behind trusted proxies. Every request is
counted by method and route template (never by its path: clients choose paths)."""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

from sundial.api.headers import CLIENT_KEY, GATEWAY_TOKEN_KEY
from sundial.domain.ids import IdPrefix, new_id
from sundial.gateway import preconditions
from sundial.gateway.calls import Forwarder, metadata_from_headers
from sundial.gateway.console_assets import (
    CONSOLE_PREFIX,
    SECURITY_HEADERS,
    ConsoleAssets,
    is_console_path,
    not_modified,
)
from sundial.gateway.cors import CorsPolicy
from sundial.gateway.encoding import (
    MIN_COMPRESSED_BYTES,
    accepts_gzip,
    decoded_body,
    gzipped,
)
from sundial.gateway.forwarded import TrustedProxies
from sundial.gateway.http_errors import GatewayError, http_status_of, retry_after_of
from sundial.gateway.rendering import encode_json, response_json, status_json, with_json_names
from sundial.gateway.requests import build_request
from sundial.gateway.routes import Route, Router
from sundial.metrics import Metrics

logger = logging.getLogger("sundial.gateway")

JSON = "application/json"
HEALTH_PATH, READY_PATH, OPENAPI_PATH = "/healthz", "/readyz", "/openapi.json"
METRICS_PATH = "/metrics"
# The route label of a request that matched no route (404, 405) and of a CORS preflight.
UNMATCHED_ROUTE, PREFLIGHT_ROUTE = "(unmatched)", "(preflight)"


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = JSON


@dataclass(frozen=True, slots=True)
class WebOptions:
    """What `sundial serve --cors-origin/--trusted-proxy` set (settings.py validates them)."""

    cors_origins: Sequence[str] = ()
    trusted_proxies: Sequence[str] = ()


class GatewayApp:
    """Answers one HTTP request. Thread-safe: it keeps no per-request state."""

    def __init__(
        self,
        routes: Sequence[Route],
        forwarder: Forwarder,
        *,
        openapi_document: bytes,
        readiness: Callable[[], bool],
        client_token: str = "",
        web: WebOptions | None = None,
        metrics: Metrics | None = None,
        serve_metrics: bool = True,
        access_log: bool = False,
        console: ConsoleAssets | None = None,
    ) -> None:
        """`serve_metrics`: answer /metrics (off when the metrics have their own address);
        `access_log`: requests refused before any RPC are logged at INFO, else at DEBUG (the
        RPCs have their own access line); `console`: the web console's files for /console/
        (none: that path is not found)."""
        web = web or WebOptions()
        self._router = Router(routes)
        self._cors = CorsPolicy(web.cors_origins)
        self._proxies = TrustedProxies(web.trusted_proxies)
        # Sent with the client's address, so that the server's per-client limits see the
        # REST client and not the gateway.
        self._client_token = client_token
        self._forwarder = forwarder
        self._openapi = openapi_document
        self._readiness = readiness
        self._metrics = metrics or Metrics()
        self._access_level = logging.INFO if access_log else logging.DEBUG
        self._console = console
        self._builtin_paths = {HEALTH_PATH, READY_PATH, OPENAPI_PATH}
        if serve_metrics:
            self._builtin_paths.add(METRICS_PATH)
        # Set when shutdown begins: /readyz fails first, so load balancers drain the process.
        self.draining = False

    def handle(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        client: str = "",
    ) -> HttpResponse:
        """`client` is the peer's address; behind a trusted proxy, X-Forwarded-For's."""
        started = time.perf_counter()
        route_label = UNMATCHED_ROUTE
        path, _, query = target.partition("?")
        query = query.partition("#")[0]
        client = self._proxies.client_of(client, headers)
        origin = _header(headers, "origin") if self._cors.enabled else ""
        try:
            if (
                method == "OPTIONS"
                and _header(headers, "access-control-request-method")
                and self._cors.allows(origin)
            ):
                route_label = PREFLIGHT_ROUTE
                response = self._preflight(path, origin, headers)
                self._count(method, route_label, response, started)
                return response
            if path in self._builtin_paths:
                route_label = path
                response = self._builtin(method, path, headers)
            elif self._console is not None and is_console_path(path):
                route_label = CONSOLE_PREFIX + "/"
                response = self._console_file(method, path, query, headers)
            else:
                route, path_values = self._router.find(method, path)
                route_label = route.template.text
                response = self._call(route, path_values, query, headers, body, client)
        except GatewayError as error:
            logger.log(
                self._access_level,
                "http %s %s from %s rejected: %s",
                method,
                path,
                client or "-",
                error.message,
            )
            response = _error_response(error.http_status, error.status())
            response.headers.extend(error.headers.items())
        except Exception:
            request_id = new_id(IdPrefix.REQUEST)
            logger.exception(
                "gateway failure on %s %s from %s (request id %s)",
                method,
                path,
                client or "-",
                request_id,
            )
            status = status_pb2.Status(
                code=code_pb2.INTERNAL,
                message=f"internal error; quote request id {request_id} when reporting it",
            )
            response = _error_response(500, status)
        response.headers.extend(self._cors.response_headers(origin))
        self._count(method, route_label, response, started)
        return _encoded(response, headers)

    def _count(self, method: str, route: str, response: HttpResponse, started: float) -> None:
        self._metrics.http_request(method, route, response.status, time.perf_counter() - started)

    def _preflight(self, path: str, origin: str, headers: list[tuple[str, str]]) -> HttpResponse:
        """A CORS preflight: which methods and headers a page from `origin` may use."""
        builtin = path in self._builtin_paths
        methods = ["GET", "HEAD"] if builtin else self._router.methods(path)
        if not methods:
            raise GatewayError(code_pb2.NOT_FOUND, "ROUTE_NOT_FOUND", f"no route for {path}")
        requested = ", ".join(
            value for name, value in headers if name.lower() == "access-control-request-headers"
        )
        return HttpResponse(204, b"", self._cors.preflight_headers(origin, methods, requested))

    def _call(
        self,
        route: Route,
        path_values: dict[str, str],
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        client: str,
    ) -> HttpResponse:
        metadata, timeout = metadata_from_headers(headers)
        if client and self._client_token:
            metadata += [(CLIENT_KEY, client), (GATEWAY_TOKEN_KEY, self._client_token)]
        request = build_request(route, path_values, query, decoded_body(headers, body))
        condition = preconditions.if_match(headers)
        expected_etag = preconditions.apply(condition, route, request)
        result = self._forwarder.call(route, request.SerializeToString(), metadata, timeout)
        if result.status is not None:
            status = with_json_names(result.status, route.method.input_type)
            http_status = http_status_of(status.code)
            if preconditions.failed(condition, status):
                http_status = 412
            response = _error_response(http_status, status)
            response.headers.extend(result.headers)
            retry_after = retry_after_of(status)
            if retry_after is not None:
                response.headers.append(("Retry-After", retry_after))
            if response.status == 401:
                response.headers.append(("WWW-Authenticate", _challenge(metadata)))
            return response
        assert result.response is not None
        message = route.response_class.FromString(result.response)
        etag = preconditions.etag_of(message)
        if expected_etag is not None:
            preconditions.check_answer(expected_etag, etag)
        response = HttpResponse(200, self._render(route, message), list(result.headers))
        etag_value = preconditions.etag_header(etag)
        if etag_value is not None:
            response.headers.append(("ETag", etag_value))
        return response

    def _render(self, route: Route, response: Message) -> bytes:
        """The ProtoJSON body of a response."""
        return encode_json(response_json(route, response))

    def _builtin(self, method: str, path: str, headers: list[tuple[str, str]]) -> HttpResponse:
        # HEAD too: load balancers often probe health with it (the transport drops the body).
        _allow_only_reads(method, path)
        if path == OPENAPI_PATH:
            return HttpResponse(200, self._openapi)
        if path == METRICS_PATH:
            return metrics_response(self._metrics, headers)
        if path == HEALTH_PATH:
            return HttpResponse(200, encode_json({"status": "SERVING"}))
        ready = not self.draining and self._is_ready()
        return HttpResponse(
            200 if ready else 503, encode_json({"status": "SERVING" if ready else "NOT_SERVING"})
        )

    def _console_file(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]]
    ) -> HttpResponse:
        """A file of the web console, with the headers that keep it same-origin only."""
        assert self._console is not None
        _allow_only_reads(method, path)
        if path == CONSOLE_PREFIX:
            # Relative asset paths in the index resolve against /console/, not /.
            location = CONSOLE_PREFIX + "/" + (f"?{query}" if query else "")
            return HttpResponse(308, b"", [("Location", location)], content_type="text/plain")
        file = self._console.find(path)
        if file is None:
            raise GatewayError(code_pb2.NOT_FOUND, "NOT_FOUND", f"no console file at {path}")
        response_headers = [
            ("Cache-Control", file.cache_control),
            ("ETag", file.etag),
            *SECURITY_HEADERS,
        ]
        if not_modified(file, _header(headers, "if-none-match")):
            return HttpResponse(304, b"", response_headers, content_type=file.content_type)
        return HttpResponse(200, file.body, response_headers, content_type=file.content_type)

    def _is_ready(self) -> bool:
        try:
            return self._readiness()
        except Exception:
            logger.exception("readiness check failed")
            return False


def metrics_response(metrics: Metrics, headers: list[tuple[str, str]]) -> HttpResponse:
    """The metrics in the exposition format the scraper's Accept asks for."""
    body, content_type = metrics.exposition(_header(headers, "accept"))
    return HttpResponse(200, body, content_type=content_type)


def _challenge(metadata: list[tuple[str, str | bytes]]) -> str:
    """The `WWW-Authenticate` challenge of a 401 (RFC 6750 section 3): with no credential
    sent, only the scheme and realm; with one that was refused, `error="invalid_token"`."""
    sent = any(key == "authorization" for key, _ in metadata)
    return 'Bearer realm="sundial", error="invalid_token"' if sent else 'Bearer realm="sundial"'


def _header(headers: list[tuple[str, str]], name: str) -> str:
    """The first value of header `name` (lower case), or ""."""
    return next((value for key, value in headers if key.lower() == name), "")


def _encoded(response: HttpResponse, headers: list[tuple[str, str]]) -> HttpResponse:
    """The response gzipped when the client takes gzip and the body is worth it, with the
    Vary headers merged into one."""
    vary = [value for name, value in response.headers if name == "Vary"]
    if len(response.body) >= MIN_COMPRESSED_BYTES:
        vary.append("Accept-Encoding")
        if accepts_gzip(headers):
            response.body = gzipped(response.body)
            response.headers.append(("Content-Encoding", "gzip"))
    if vary:
        response.headers = [(n, v) for n, v in response.headers if n != "Vary"]
        response.headers.append(("Vary", ", ".join(vary)))
    return response


def _error_response(http_status: int, status: status_pb2.Status) -> HttpResponse:
    return HttpResponse(http_status, encode_json(status_json(status)))


def _allow_only_reads(method: str, path: str) -> None:
    """405 with `Allow` for anything but GET and HEAD (built-in paths and console files)."""
    if method not in ("GET", "HEAD"):
        raise GatewayError(
            code_pb2.UNIMPLEMENTED,
            "METHOD_NOT_ALLOWED",
            f"{method} is not allowed on {path}; allowed: GET, HEAD",
            http_status=405,
            headers={"Allow": "GET, HEAD"},
        )
