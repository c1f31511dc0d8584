"""The HTTP/1.1 listener: the standard library's threading server (one thread per
connection, keep-alive), a JSON error for every malformed request, and a graceful stop
that lets requests in flight finish while idle keep-alive connections are closed."""

import contextlib
import logging
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any

from google.rpc import code_pb2, status_pb2

from sundial.gateway.app import GatewayApp, HttpResponse
from sundial.gateway.rendering import encode_json, status_json

logger = logging.getLogger("sundial.gateway")

# gRPC's default largest message; a bigger JSON body could not be forwarded anyway.
MAX_BODY_BYTES = 4 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 60.0
# After a 413 the rest of the body is read and dropped (up to this much, this long): closing
# a socket with unread input sends a reset, and the client would lose the answer.
_DISCARD_BYTES = 64 * 1024 * 1024
_DISCARD_SECONDS = 5.0


def split_address(address: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT` into host and port."""
    host, separator, port = address.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"address {address!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class HttpServer:
    """Serves a GatewayApp on one address from a background thread."""

    def __init__(self, app: GatewayApp, address: str) -> None:
        self._server = _Server(split_address(address), app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="http",
            daemon=True,  # a process that never calls stop() must still be able to exit
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> int:
        """Starts accepting connections and returns the bound port."""
        self._thread.start()
        return self.port

    def stop(self, grace_seconds: float) -> None:
        """Stops accepting, closes idle connections, waits up to `grace_seconds` for
        requests in flight, then closes what is left."""
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self._server.drain(grace_seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: GatewayApp) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.closing = False
        self._lock = threading.Condition()
        self._connections: dict[_Handler, bool] = {}  # handler -> busy with a request
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def track(self, handler: "_Handler", *, busy: bool | None) -> None:
        """Records a connection as idle or busy; None forgets it."""
        with self._lock:
            if busy is None:
                self._connections.pop(handler, None)
            else:
                self._connections[handler] = busy
            self._lock.notify_all()

    def drain(self, grace_seconds: float) -> None:
        deadline = time.monotonic() + grace_seconds
        with self._lock:
            self.closing = True
            for handler, busy in list(self._connections.items()):
                if not busy:
                    handler.shut()
            while any(self._connections.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            for handler in list(self._connections):
                handler.shut()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sundial"
    timeout = IDLE_TIMEOUT_SECONDS
    disable_nagle_algorithm = True
    server: _Server

    def handle(self) -> None:
        self.server.track(self, busy=False)
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            pass  # the client went away, or we shut the connection while stopping
        finally:
            self.server.track(self, busy=None)

    def shut(self) -> None:
        with contextlib.suppress(OSError):  # already closed by the client
            self.connection.shutdown(socket.SHUT_RDWR)

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler calls do_<METHOD>; every method goes to the app, which
        # answers 404 or 405 itself.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        self.server.track(self, busy=True)
        try:
            body = self._read_body()
            if body is None:
                return
            headers = list(self.headers.items())
            client = str(self.client_address[0]) if self.client_address else ""
            response = self.server.app.handle(self.command, self.path, headers, body, client)
            self._write(response)
        finally:
            self.server.track(self, busy=False)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        if not length_text.strip().isdigit():
            self.send_error(400, f"Content-Length {length_text!r} is not a number")
            return None
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            self._refuse_large_body(length)
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self.send_error(400, "malformed chunked body")
                return None
            total += size
            if total > MAX_BODY_BYTES:
                self._refuse_large_body(_DISCARD_BYTES)
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers, ignored
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _refuse_large_body(self, unread: int) -> None:
        self.send_error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(_DISCARD_SECONDS)
            left = min(unread, _DISCARD_BYTES)
            while left > 0:
                dropped = self.rfile.read1(min(left, 65536))
                if not dropped:
                    break
                left -= len(dropped)

    def _write(self, response: HttpResponse) -> None:
        if self.server.closing:
            self.close_connection = True
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Client Closed Request" if response.status == 499 else ""
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
        ]
        lines.extend(
            f"{name}: {value}"
            for name, value in response.headers
            if "\r" not in value and "\n" not in value
        )
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        # A response to HEAD has the headers of the GET response and no body.
        self.wfile.write(head if getattr(self, "command", None) == "HEAD" else head + response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, huge headers, bad length) as a JSON Status."""
        self.close_connection = True
        grpc_code = code_pb2.INVALID_ARGUMENT if 400 <= code < 500 else code_pb2.UNKNOWN
        status = status_pb2.Status(code=grpc_code, message=message or HTTPStatus(code).phrase)
        self._write(HttpResponse(code, encode_json(status_json(status))))

    def log_message(self, format: str, *args: Any) -> None:
        # Calls are logged once, by the gRPC logging interceptor; only transport noise here.
        logger.debug("http %s: " + format, self.address_string(), *args)
