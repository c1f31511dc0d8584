"""Abuse of an HTTP listener on loopback, while a normal client keeps calling: idle
keep-alive connections, clients sending their headers a byte a second (slowloris), and
expensive requests whose clients leave before the answer. Used by tests/e2e's abuse test
and by bench/http_servers.py, which runs it against each server it compares."""

import http.client
import resource
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Room for the connections below, the server's own (same process in a test) and slack.
FILE_DESCRIPTORS = 4096


@dataclass(frozen=True)
class Abuse:
    idle: int = 500
    slow: int = 50
    abandoned: int = 300
    seconds: float = 8.0  # how long the normal client calls
    slow_byte_interval: float = 1.0


@dataclass
class AbuseReport:
    latencies: list[float] = field(default_factory=list)  # seconds, one per normal call
    failures: list[str] = field(default_factory=list)
    slow_closed_after: list[float] = field(default_factory=list)  # seconds, per slow client
    slow_still_open: int = 0
    idle_opened: int = 0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        closed = self.slow_closed_after
        return (
            f"normal calls {len(self.latencies)}, failed {len(self.failures)}, "
            f"p50 {self.percentile(0.5) * 1000:.1f} ms, p99 {self.percentile(0.99) * 1000:.1f} ms, "
            f"max {max(self.latencies, default=0) * 1000:.1f} ms; idle connections "
            f"{self.idle_opened}; slow clients closed {len(closed)} (median after "
            f"{statistics.median(closed) if closed else 0:.1f} s), still open "
            f"{self.slow_still_open}"
        )


def raise_file_limit(wanted: int = FILE_DESCRIPTORS) -> None:
    """Raises this process's soft limit of open files up to `wanted` (within the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def run_abuse(
    port: int,
    *,
    normal_call: Callable[[http.client.HTTPConnection], int],
    expensive_request: bytes,
    abuse: Abuse = Abuse(),
) -> AbuseReport:
    """Opens the idle connections, starts the slow clients and sends the abandoned requests,
    while `normal_call` (given a keep-alive connection, returning the status) is timed
    for `abuse.seconds`. Every socket is closed before it returns."""
    raise_file_limit()
    report = AbuseReport()
    idle = _open_idle(port, abuse.idle, report)
    stop = threading.Event()
    slow = threading.Thread(target=_slow_clients, args=(port, abuse, stop, report))
    slow.start()
    abandon = threading.Thread(target=_abandon, args=(port, abuse.abandoned, expensive_request))
    abandon.start()
    try:
        _normal_client(port, normal_call, abuse.seconds, report)
    finally:
        stop.set()
        abandon.join()
        slow.join()
        for connection in idle:
            connection.close()
    return report


def _open_idle(port: int, count: int, report: AbuseReport) -> list[socket.socket]:
    """Keep-alive connections that made one request and then wait, as a pool's do."""
    connections = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: abuse\r\n\r\n")
        connections.append(connection)
    for connection in connections:
        reply = connection.recv(65536)
        if reply.startswith(b"HTTP/1.1 200"):
            report.idle_opened += 1
    return connections


def _slow_clients(port: int, abuse: Abuse, stop: threading.Event, report: AbuseReport) -> None:
    open_ones: dict[socket.socket, float] = {}
    for _ in range(abuse.slow):
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: abuse\r\n")
        connection.setblocking(False)
        open_ones[connection] = time.monotonic()
    while open_ones and not stop.wait(abuse.slow_byte_interval):
        for connection, opened in list(open_ones.items()):
            if _closed_by_peer(connection):
                report.slow_closed_after.append(time.monotonic() - opened)
                del open_ones[connection]
                connection.close()
    report.slow_still_open = len(open_ones)
    for connection in open_ones:
        connection.close()


def _closed_by_peer(connection: socket.socket) -> bool:
    """Sends the next header byte; True when the server has closed the connection."""
    try:
        if connection.recv(1) == b"":
            return True
    except BlockingIOError:
        pass
    except OSError:
        return True
    try:
        connection.send(b"X")
    except BlockingIOError:
        pass
    except OSError:
        return True
    return False


def _abandon(port: int, count: int, request: bytes) -> None:
    """Clients that send an expensive request and leave without reading the answer."""
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(request)


def _normal_client(
    port: int,
    call: Callable[[http.client.HTTPConnection], int],
    seconds: float,
    report: AbuseReport,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = call(connection)
            except (OSError, http.client.HTTPException) as error:
                report.failures.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            report.latencies.append(time.perf_counter() - started)
            if status != 200:
                report.failures.append(f"HTTP {status}")
    finally:
        connection.close()
