"""A real HTTP receiver for webhook tests: `http.server` in a thread, on a free loopback port
(IPv4 or IPv6), recording every request and answering what the test told it per path."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What the receiver answers on a path: `hold` blocks the reply until it is set;
    `then`, if any, is what the path answers from the next request on."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    then: "Reply | None" = None


class Receiver:
    """The running receiver: `url(path)`, `reply(path, ...)`, `requests`, in-flight counts."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.port = 0  # set once the server is bound
        self.replies: dict[str, Reply] = {}
        self.requests: list[Received] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def url(self, path: str = "/", host: str | None = None) -> str:
        name = host or self.host
        return f"http://{f'[{name}]' if ':' in name else name}:{self.port}{path}"

    def reply(self, path: str, **fields: object) -> Reply:
        self.replies[path] = reply = Reply(**fields)  # type: ignore[arg-type]
        return reply


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(
                    Received(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                receiver.in_flight += 1
                receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                reply = receiver.replies.get(self.path, Reply())
                if reply.then is not None:
                    receiver.replies[self.path] = reply.then
            try:
                if reply.hold is not None:
                    reply.hold.wait(timeout=30)
                # A 204 or 304 has no body (RFC 9110): a client reads none, so bytes sent
                # anyway would be taken for the next response on the kept-alive connection.
                bodiless = reply.status in (204, 304)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if not bodiless:
                    self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                if not bodiless:
                    self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up (timeout, body cap): nothing to answer
            finally:
                with receiver.lock:
                    receiver.in_flight -= 1

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiving(host: str = "127.0.0.1") -> Iterator[Receiver]:
    """A receiver on a free port of `host` ("127.0.0.1" or "::1"), stopped at the end."""

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that hung up (timeout, body cap) is what those tests do

    receiver = Receiver(host)
    server = Server((host, 0), _handler(receiver))
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        for reply in receiver.replies.values():
            if reply.hold is not None:
                reply.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
