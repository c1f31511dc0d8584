"""`sundial mcp --http`: the tools over MCP's streamable HTTP, on their own address.

Not on the REST port: the gateway is a WSGI application under waitress, while the SDK's
streamable HTTP transport is an ASGI (Starlette) application that holds response streams
open on an event loop; uvicorn, which the SDK runs it on, hosts it as intended.

Stateless mode: every POST stands alone (no session to pin to one process), which is what
lets each request carry its own key and lets several `sundial mcp --http` sit behind one
load balancer. A request without `Authorization: Bearer <key>` is refused at the door with
401, before any MCP message is read; a key that Sundial refuses fails the tool call with
UNAUTHENTICATED, like every other client of the API."""

import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sundial.mcp.tool_server import build_server
from sundial.mcp.upstream import Upstream, bearer_key

PATH = "/mcp"
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds the open response streams get to finish on SIGTERM.
_GRACEFUL_SHUTDOWN = 5


class BearerRequired:
    """ASGI middleware: HTTP requests need an `Authorization: Bearer` header."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not bearer_key(Headers(scope=scope)):
            refusal = JSONResponse(
                {"error": "send the Sundial API key as `Authorization: Bearer <key>`"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="sundial"'},
            )
            await refusal(scope, receive, send)
            return
        await self._app(scope, receive, send)


def http_app(upstream: Upstream, host: str) -> ASGIApp:
    """The ASGI application; `host` is what it listens on, for the SDK's DNS rebinding
    protection (on for loopback addresses)."""
    app = build_server(upstream).streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, json_response=True, host=host
    )
    return BearerRequired(app)


def serve_http(
    upstream: Upstream, host: str, port: int, on_listening: Callable[[str], None]
) -> None:
    """Serves until SIGTERM or SIGINT; `on_listening` gets the URL once the port is bound
    (port 0 picks a free one)."""
    listener = socket.create_server((host, port), family=_family(host))
    bound_port = listener.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    server = uvicorn.Server(
        uvicorn.Config(
            http_app(upstream, host),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        )
    )
    with _stop_signals_exit_cleanly():
        on_listening(f"http://{shown_host}:{bound_port}{PATH}")
        server.run(sockets=[listener])


@contextmanager
def _stop_signals_exit_cleanly() -> Iterator[None]:
    """uvicorn shuts down gracefully on SIGTERM or SIGINT, then raises the signal again for
    the handler that was there before it (its documented way to hand the signal on). With
    the default handler that killed the process after its clean shutdown; this one exits
    with 0, as `sundial serve` does, also for a signal that comes before uvicorn starts."""

    def exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = {number: signal.signal(number, exit_cleanly) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
