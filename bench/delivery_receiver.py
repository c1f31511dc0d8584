"""The receiver of bench/delivery.py, in a process of its own so that it takes no interpreter
time from the sender measured: `http.server` with keep-alive, answering 204 to every POST
and noting when each `webhook-id` (or `x-bench-id`) arrived (wall clock, comparable across
the processes of one machine). GET /arrivals answers them as JSON and forgets them."""

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    arrivals: dict[str, float] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        arrived = time.time()
        key = self.headers.get("webhook-id") or self.headers.get("x-bench-id") or ""
        with self.lock:
            self.arrivals.setdefault(key, arrived)
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        with self.lock:
            body = json.dumps(self.arrivals).encode()
            type(self).arrivals = {}
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    address_family = socket.AF_INET
    daemon_threads = True
    request_queue_size = 128


def main() -> int:
    server = _Server(("127.0.0.1", 0), _Handler)
    print(server.server_address[1], flush=True)
    # Stopped by SIGTERM from the bench: the default action ends the process.
    server.serve_forever(poll_interval=0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
