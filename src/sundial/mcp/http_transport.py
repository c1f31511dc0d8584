"""`sundial mcp --http`: the tools over MCP's streamable HTTP, on their own address.

Not on the REST port: the gateway is a WSGI application under waitress, while the SDK's
streamable HTTP transport is an ASGI (Starlette) application that holds response streams
open on an event loop; uvicorn, which the SDK runs it on, hosts it as intended.

Stateless mode: every POST stands alone (no session to pin to one process), which is what
lets each request carry its own key and lets several `sundial mcp --http` sit behind one
load balancer. A request without `Authorization: Bearer <key>`, or with a key Sundial does
not accept, is refused at the door with 401, before any MCP message is read: a client learns
at connect that its key is wrong, not at its first tool call. The verdict on a key comes
from one call to the API and is cached (by the key's hash) for KEY_VERDICT_TTL, so a
request does not cost a call; a key revoked meanwhile is still refused by the API itself."""

import hashlib
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import anyio.to_thread
import uvicorn
from cachetools import TTLCache
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sundial.mcp.tool_server import build_server
from sundial.mcp.upstream import Upstream, bearer_key

PATH = "/mcp"
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds the open response streams get to finish on SIGTERM.
_GRACEFUL_SHUTDOWN = 5
# How long a key's verdict (accepted or refused) is trusted; keys kept at most.
KEY_VERDICT_TTL = 30.0
_KEY_VERDICTS = 4096


class BearerRequired:
    """ASGI middleware: HTTP requests need an `Authorization: Bearer` header with a key
    that Sundial accepts (`accepts(key)`: True, False, or None when it cannot tell)."""

    def __init__(
        self,
        app: ASGIApp,
        accepts: Callable[[str], bool | None],
        *,
        timer: Callable[[], float] | None = None,
    ) -> None:
        self._app = app
        self._accepts = accepts
        # Touched on the event loop only; the API call itself runs on a worker thread.
        self._verdicts: TTLCache[bytes, bool] = (
            TTLCache(_KEY_VERDICTS, KEY_VERDICT_TTL)
            if timer is None
            else TTLCache(_KEY_VERDICTS, KEY_VERDICT_TTL, timer=timer)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            key = bearer_key(Headers(scope=scope))
            if not key:
                await _refuse("send the Sundial API key as `Authorization: Bearer <key>`")(
                    scope, receive, send
                )
                return
            if not await self._accepted(key):
                await _refuse("Sundial does not accept this API key")(scope, receive, send)
                return
        await self._app(scope, receive, send)

    async def _accepted(self, key: str) -> bool:
        digest = hashlib.sha256(key.encode()).digest()
        verdict = self._verdicts.get(digest)
        if verdict is None:
            found = await anyio.to_thread.run_sync(self._accepts, key)
            if found is None:
                return True  # the tool call reports why Sundial cannot be asked
            verdict = self._verdicts[digest] = found
        return verdict


def _refuse(why: str) -> JSONResponse:
    return JSONResponse(
        {"error": why}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="sundial"'}
    )


def http_app(upstream: Upstream, host: str) -> ASGIApp:
    """The ASGI application; `host` is what it listens on, for the SDK's DNS rebinding
    protection (on for loopback addresses)."""
    app = build_server(upstream).streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, json_response=True, host=host
    )
    return BearerRequired(app, upstream.accepts)


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
