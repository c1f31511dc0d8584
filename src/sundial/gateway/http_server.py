"""The HTTP/1.1 listener: waitress (chosen by measurement, BENCHMARKS.md "HTTP server")
carrying the gateway's WSGI application, embedded in `sundial serve`.

Waitress reads every connection in one asynchronous loop and hands only complete requests
to a bounded pool of threads, so idle and slow connections hold no thread; its parser is
strict (digits-only Content-Length, hexadecimal-only chunk sizes, `chunked` the only
transfer coding, a body cap counted as it arrives). What it has no setting for is
added here, each in the one subclass that can do it:
- a header deadline (`_Server.maintenance`): waitress only closes connections *idle* for
  `channel_timeout`, and a client sending a byte a second is never idle;
- Content-Length together with Transfer-Encoding refused (`_Parser`): waitress lets the
  chunked coding win, as RFC 9112 allows, but a proxy in front may have read the length,
  and that difference is request smuggling; an unknown HTTP version is refused too;
- errors the server itself answers (malformed HTTP, 413) as a google.rpc.Status JSON body
  like every other error of the API (`_JsonErrorTask`; waitress writes plain text);
- a lingering close after a 413 (`_Channel`): waitress closes at once, and closing a socket
  with the client's body still unread sends a reset, which loses the answer on its way;
- `waitress.client_disconnected` asked of the socket (`_Channel.check_client_disconnected`):
  waitress's answer waits for its loop thread to read the client's FIN, and a request that
  reaches a free thread first would run for a client that has gone;
- a graceful stop (`HttpServer.stop`): waitress's own ends its loop at once.
"""

import logging
import math
import socket
import threading
import time
import typing
from dataclasses import dataclass
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import Error, RequestEntityTooLarge

from sundial.gateway.app import GatewayApp
from sundial.gateway.wsgi import MAX_BODY_BYTES, WsgiGateway, error_response

logger = logging.getLogger("sundial.gateway")
# waitress warns of its task queue's depth at every request queued behind busy threads: a
# burst would write a line per request. Its other warnings stay.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

# How often connections are checked against the deadlines: a deadline is kept to within this.
_CHECK_INTERVAL_SECONDS = 0.5
_SUPPORTED_VERSIONS = ("1.0", "1.1")
# After a 413 the rest of the body is read and dropped, up to this many times the body cap
# and for this long, before the connection closes.
_LINGER_BODIES = 4
_LINGER_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one client can hold of the listener (settings.Settings has the defaults)."""

    threads: int = 8
    max_connections: int = 1000
    header_timeout_seconds: float = 10.0
    idle_timeout_seconds: float = 60.0
    max_body_bytes: int = MAX_BODY_BYTES


def split_address(address: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT` into host and port."""
    host, separator, port = address.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"address {address!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class HttpServer:
    """Serves a GatewayApp on one address from a background thread."""

    def __init__(self, app: GatewayApp, address: str, limits: HttpLimits | None = None) -> None:
        limits = limits or HttpLimits()
        host, port = split_address(address)
        adjustments = Adjustments(
            listen=f"[{host}]:{port}" if ":" in host else f"{host or '0.0.0.0'}:{port}",
            threads=limits.threads,
            connection_limit=limits.max_connections,
            channel_timeout=limits.idle_timeout_seconds,
            cleanup_interval=_CHECK_INTERVAL_SECONDS,
            # waitress refuses a body of max_request_body_size bytes or more.
            max_request_body_size=limits.max_body_bytes + 1,
            # One request read ahead: that is how a client's disconnect is seen while its
            # request waits for a thread (WsgiGateway drops such a request).
            channel_request_lookahead=1,
            # poll(2), not select(2), which stops at file descriptor 1024.
            asyncore_use_poll=True,
            # X-Forwarded-* reach the gateway, which decides which peers to trust.
            clear_untrusted_proxy_headers=False,
            log_socket_errors=False,
            ident="sundial",
        )
        self._map: dict[int, Any] = {}
        self._server = _Server(
            WsgiGateway(app, max_body_bytes=limits.max_body_bytes),
            self._map,
            adj=adjustments,
            header_timeout=limits.header_timeout_seconds,
            max_body_bytes=limits.max_body_bytes,
        )
        self._draining = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._serve,
            name="http",
            daemon=True,  # a process that never calls stop() must still be able to exit
        )

    @property
    def port(self) -> int:
        return self._server.bound_port

    def start(self) -> int:
        """Starts accepting connections and returns the bound port."""
        self._thread.start()
        return self.port

    def stop(self, grace_seconds: float) -> None:
        """Stops accepting, closes idle connections, waits up to `grace_seconds` for
        requests in flight, then closes what is left."""
        if self._closing.is_set():
            return
        if not self._thread.is_alive():  # never started
            self._closing.set()
            wasyncore.close_all(self._map)
            return
        deadline = time.monotonic() + grace_seconds
        self._draining.set()
        self._server.pull_trigger()
        while self._server.channels() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._closing.set()
        self._server.pull_trigger()
        self._thread.join()
        # Closed here, once the loop has ended: closed by the loop itself, the trigger could
        # be gone (its descriptor perhaps reused) when the pull above wrote to it.
        wasyncore.close_all(self._map)
        self._server.task_dispatcher.shutdown(
            timeout=max(0, math.ceil(deadline - time.monotonic()))
        )

    def _serve(self) -> None:
        # waitress's loop, one poll at a time, so that every socket is opened and closed on
        # this thread until stop() (which only raises flags and wakes it) closes what is left.
        drained = False
        while not self._closing.is_set():
            if self._draining.is_set() and not drained:
                self._server.drain()
                drained = True
            if drained:
                self._server.close_idle()
            wasyncore.loop(timeout=_CHECK_INTERVAL_SECONDS, map=self._map, use_poll=True, count=1)


class _Parser(HTTPRequestParser):
    """waitress's parser, refusing what a proxy in front could read differently."""

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        # A parser is made at a request's first byte: its headers are due by started + the
        # header deadline.
        self.started = time.monotonic()

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("Content-Length and Transfer-Encoding cannot both be sent")
        if self.version not in _SUPPORTED_VERSIONS:
            self.error = _VersionNotSupportedError(f"HTTP/{self.version or '0.9'} is not served")
            self.body_rcv = None
            self.content_length = 0


class _VersionNotSupportedError(Error):
    code = 505
    reason = "HTTP Version Not Supported"


class _JsonErrorTask(ErrorTask):
    """The answer to a request waitress refused, as a google.rpc.Status."""

    def execute(self) -> None:
        error: Error = typing.cast(Any, self.request).error
        channel = typing.cast(_Channel, self.channel)
        if isinstance(error, RequestEntityTooLarge):
            message = f"the body is larger than {channel.server.max_body_bytes} bytes"
            channel.linger_on_close = True
        else:
            message = f"malformed HTTP request: {error.body}"
        response = error_response(error.code, message)
        self.status = f"{error.code} {error.reason}"
        self.response_headers = [*self.response_headers, ("Content-Type", response.content_type)]
        self.set_close_on_finish()
        self.content_length = len(response.body)
        self.write(response.body)


class _Channel(HTTPChannel):
    parser_class = _Parser
    error_task_class = _JsonErrorTask
    server: "_Server"
    linger_on_close = False
    lingering_since: float | None = None
    _dropped = 0

    def check_client_disconnected(self) -> bool:  # type: ignore[override]  # stubs say None
        """`waitress.client_disconnected`: waitress's own answer comes from its loop thread,
        which may not have read the client's FIN yet when a worker asks; the socket itself
        knows (a peek, consuming nothing). EOF counts as gone, as waitress counts it."""
        if not self.connected or self.socket is None:
            return True
        try:
            return self.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def handle_close(self) -> None:
        """After a 413: send the answer's end (FIN) and keep reading, so that the client,
        still sending its body, gets the answer instead of a reset."""
        if self.linger_on_close and self.lingering_since is None:
            try:
                assert self.socket is not None
                self.socket.shutdown(socket.SHUT_WR)
            except (OSError, AssertionError):
                pass  # gone already: close below
            else:
                self.lingering_since = time.monotonic()
                self.will_close = self.close_when_flushed = False
                return
        super().handle_close()

    def handle_read(self) -> None:
        if self.lingering_since is None:
            super().handle_read()
            return
        try:
            assert self.socket is not None
            dropped = len(self.socket.recv(self.adj.recv_bytes))
        except (OSError, AssertionError):
            dropped = 0
        self._dropped += dropped
        if not dropped or self._dropped > _LINGER_BODIES * self.server.max_body_bytes:
            super().handle_close()

    def linger_expired(self, now: float) -> bool:
        return self.lingering_since is not None and now - self.lingering_since > _LINGER_SECONDS


class _Server(TcpWSGIServer):
    channel_class = _Channel

    def __init__(
        self, app: WsgiGateway, map: dict[int, Any], *, header_timeout: float, **kwargs: Any
    ) -> None:
        self.max_body_bytes = kwargs.pop("max_body_bytes")
        self._header_timeout = header_timeout
        super().__init__(app, map, **kwargs)
        self.bound_port = int(typing.cast(Any, self).effective_port)

    def channels(self) -> list[_Channel]:
        return list(typing.cast(dict[int, _Channel], self.active_channels).values())

    def maintenance(self, now: float) -> None:
        """Closes idle connections (waitress) and those whose headers are late."""
        super().maintenance(now)  # type: ignore[arg-type]  # the stubs say int; it is time.time()
        monotonic = time.monotonic()
        cutoff = monotonic - self._header_timeout
        for channel in self.channels():
            request = typing.cast(_Parser | None, channel.request)
            if request is not None and not request.headers_finished and request.started < cutoff:
                logger.debug("http %s: headers not received in time", channel.addr)
                channel.will_close = True
            elif channel.linger_expired(monotonic):
                channel.will_close = True

    def drain(self) -> None:
        """Stops accepting; each connection closes once its requests are answered."""
        self.accepting = False
        wasyncore.dispatcher.close(self)  # the listening socket only, not the trigger
        for channel in self.channels():
            for request in channel.requests:
                # The answer says so, and the connection closes after it.
                typing.cast(dict[str, str], request.headers)["CONNECTION"] = "close"

    def close_idle(self) -> None:
        for channel in self.channels():
            if not channel.requests:
                channel.will_close = True
