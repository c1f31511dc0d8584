"""The gateway as a function from an HTTP request to an HTTP response, apart from any
socket: route, build the RPC request, forward it, render ProtoJSON. Also /healthz,
/readyz and /openapi.json."""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from google.rpc import code_pb2, status_pb2

from sundial.api.headers import CLIENT_KEY, GATEWAY_TOKEN_KEY
from sundial.domain.ids import IdPrefix, new_id
from sundial.gateway.calls import Forwarder, metadata_from_headers
from sundial.gateway.http_errors import GatewayError, http_status_of, retry_after_of
from sundial.gateway.rendering import encode_json, response_json, status_json
from sundial.gateway.requests import build_request
from sundial.gateway.routes import Route, Router

logger = logging.getLogger("sundial.gateway")

JSON = "application/json"
HEALTH_PATH, READY_PATH, OPENAPI_PATH = "/healthz", "/readyz", "/openapi.json"


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = JSON


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
    ) -> None:
        self._router = Router(routes)
        # Sent with the client's address, so that the server's per-client limits see the
        # REST client and not the gateway.
        self._client_token = client_token
        self._forwarder = forwarder
        self._openapi = openapi_document
        self._readiness = readiness
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
        path, _, query = target.partition("?")
        query = query.partition("#")[0]
        try:
            if path in (HEALTH_PATH, READY_PATH, OPENAPI_PATH):
                return self._builtin(method, path)
            return self._call(method, path, query, headers, body, client)
        except GatewayError as error:
            logger.info("http %s %s rejected: %s", method, path, error.message)
            response = _error_response(error.http_status, error.status())
            response.headers.extend(error.headers.items())
            return response
        except Exception:
            request_id = new_id(IdPrefix.REQUEST)
            logger.exception("gateway failure on %s %s (request id %s)", method, path, request_id)
            status = status_pb2.Status(
                code=code_pb2.INTERNAL,
                message=f"internal error; quote request id {request_id} when reporting it",
            )
            return _error_response(500, status)

    def _call(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        client: str,
    ) -> HttpResponse:
        route, path_values = self._router.find(method, path)
        metadata, timeout = metadata_from_headers(headers)
        if client and self._client_token:
            metadata += [(CLIENT_KEY, client), (GATEWAY_TOKEN_KEY, self._client_token)]
        request = build_request(route, path_values, query, body)
        result = self._forwarder.call(route, request.SerializeToString(), metadata, timeout)
        if result.status is not None:
            response = _error_response(http_status_of(result.status.code), result.status)
            response.headers.extend(result.headers)
            retry_after = retry_after_of(result.status)
            if retry_after is not None:
                response.headers.append(("Retry-After", retry_after))
            if response.status == 401:
                response.headers.append(("WWW-Authenticate", _challenge(metadata)))
            return response
        assert result.response is not None
        return HttpResponse(200, self._render(route, result.response), result.headers)

    def _render(self, route: Route, response: bytes) -> bytes:
        """The ProtoJSON body of an encoded response."""
        return encode_json(response_json(route, route.response_class.FromString(response)))

    def _builtin(self, method: str, path: str) -> HttpResponse:
        # HEAD too: load balancers often probe health with it (the transport drops the body).
        if method not in ("GET", "HEAD"):
            raise GatewayError(
                code_pb2.UNIMPLEMENTED,
                "METHOD_NOT_ALLOWED",
                f"{method} is not allowed on {path}; allowed: GET, HEAD",
                http_status=405,
                headers={"Allow": "GET, HEAD"},
            )
        if path == OPENAPI_PATH:
            return HttpResponse(200, self._openapi)
        if path == HEALTH_PATH:
            return HttpResponse(200, encode_json({"status": "SERVING"}))
        ready = not self.draining and self._is_ready()
        return HttpResponse(
            200 if ready else 503, encode_json({"status": "SERVING" if ready else "NOT_SERVING"})
        )

    def _is_ready(self) -> bool:
        try:
            return self._readiness()
        except Exception:
            logger.exception("readiness check failed")
            return False


def _challenge(metadata: list[tuple[str, str | bytes]]) -> str:
    """The `WWW-Authenticate` challenge of a 401 (RFC 6750 section 3): with no credential
    sent, only the scheme and realm; with one that was refused, `error="invalid_token"`."""
    sent = any(key == "authorization" for key, _ in metadata)
    return 'Bearer realm="sundial", error="invalid_token"' if sent else 'Bearer realm="sundial"'


def _error_response(http_status: int, status: status_pb2.Status) -> HttpResponse:
    return HttpResponse(http_status, encode_json(status_json(status)))
