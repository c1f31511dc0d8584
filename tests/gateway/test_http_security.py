"""HTTP framing attacks on the REST listener, over raw sockets: request smuggling, lenient
or endless bodies, slow headers, and work for clients that have gone. Each of these was
answered (or hung) differently by the standard library server it replaced."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from sundial.gateway.app import GatewayApp
from sundial.gateway.http_server import HttpLimits
from tests.gateway import feature_service

HEADER_TIMEOUT = 1.0
# Generous bounds on real time: a socket test cannot run on the fake clock.
WITHIN = 15.0


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    limits = HttpLimits(header_timeout_seconds=HEADER_TIMEOUT)
    with feature_service.feature_gateway(limits=limits) as stack:
        yield stack.port


def _exchange(port: int, raw: bytes) -> bytes:
    """Sends raw bytes, returns everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=WITHIN) as connection:
        connection.sendall(raw)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


SMUGGLED = b"GET /v1/things/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        b"Content-Length: 0\r\nContent-Length: 5\r\n\r\n{}   ",
    ],
    ids=["length-then-chunked", "chunked-then-length", "two-lengths"],
)
def test_ambiguous_framing_is_a_400_and_the_connection_closes(port, framing):
    reply = _exchange(port, b"PATCH /v1/things/a HTTP/1.1\r\nHost: x\r\n" + framing + SMUGGLED)
    assert _status_of(reply) == 400, reply
    assert b"Connection: close\r\n" in reply
    assert reply.count(b"HTTP/1.") == 1  # the bytes after the body were not a request
    assert b"smuggled" not in reply


@pytest.mark.parametrize("size", [b"0x1c", b"1_c", b"+1c", b"-1"])
def test_a_chunk_size_that_is_not_plain_hex_is_a_400(port, size):
    body = b'{"count": 12}'.ljust(0x1C)
    raw = (
        b"PATCH /v1/things/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + size + b"\r\n" + body + b"\r\n0\r\n\r\n"
    )  # fmt: skip
    reply = _exchange(port, raw)
    assert _status_of(reply) == 400, reply
    assert b"chunk" in reply.partition(b"\r\n\r\n")[2]


def test_a_negative_chunk_size_does_not_read_the_stream_to_its_end(port):
    # The replaced server read "-1" as "read until the client closes": it never answered a
    # client that kept sending, and buffered whatever came.
    with socket.create_connection(("127.0.0.1", port), timeout=WITHIN) as connection:
        connection.sendall(
            b"PATCH /v1/things/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"
            + b"x" * 65536
        )
        reply = connection.recv(65536)  # while the connection is still open on our side
    assert _status_of(reply) == 400, reply


def test_an_unknown_transfer_coding_is_refused(port):
    raw = (
        b"PATCH /v1/things/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"
        b"d\r\n" + b'{"count": 12}' + b"\r\n0\r\n\r\n"
    )
    reply = _exchange(port, raw)
    assert _status_of(reply) in (400, 501), reply
    assert reply.partition(b"\r\n\r\n")[2].startswith(b'{"code":')


@pytest.mark.parametrize(
    "length",
    [b"\xb2", "١٣".encode(), b"+13", b"13 x", b"0x0d"],
    ids=["latin-1-superscript-two", "arabic-indic-digits", "plus", "trailing-text", "hex"],
)
def test_a_content_length_that_is_not_ascii_digits_is_a_400(port, length):
    # b"\xb2" is "²" in latin-1, which str.isdigit() accepts and int() refuses: the replaced
    # server died on it with a traceback.
    raw = (
        b"PATCH /v1/things/a HTTP/1.1\r\nHost: x\r\nContent-Length: "
        + length + b"\r\n\r\n" + b'{"count": 12}'
    )  # fmt: skip
    reply = _exchange(port, raw)
    assert _status_of(reply) == 400, reply
    assert reply.partition(b"\r\n\r\n")[2].startswith(b'{"code":')


def test_a_client_sending_its_headers_slowly_is_disconnected(port):
    with socket.create_connection(("127.0.0.1", port), timeout=WITHIN) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed = False
        # A byte every quarter second: never idle, never done.
        while not closed and time.monotonic() - started < WITHIN:
            try:
                connection.sendall(b"X")
                connection.settimeout(0.25)
                closed = connection.recv(1) == b""
            except TimeoutError:
                pass
            except OSError:  # reset by the server
                closed = True
        assert closed, f"still open after {WITHIN} s of slow headers"


def test_requests_of_clients_that_left_while_queued_are_not_run(monkeypatch):
    handled: list[str] = []
    real_handle = GatewayApp.handle

    def counting(self, method, target, *args):
        handled.append(target)
        return real_handle(self, method, target, *args)

    with feature_service.feature_gateway(limits=HttpLimits(threads=1)) as stack:
        monkeypatch.setattr(GatewayApp, "handle", counting)
        busy = threading.Thread(
            target=_exchange,
            args=(
                stack.port,
                b"POST /v1/sleep HTTP/1.1\r\nHost: x\r\nContent-Length: 19\r\n"
                b'Connection: close\r\n\r\n{"duration": "2s"}\n',
            ),
        )
        busy.start()
        assert stack.sleeping.wait(WITHIN)  # the one thread is taken
        for number in range(5):
            with socket.create_connection(("127.0.0.1", stack.port)) as gone:
                gone.sendall(f"GET /v1/things/gone{number} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        reply = _exchange(stack.port, b"GET /v1/things/last HTTP/1.1\r\nConnection: close\r\n\r\n")
        busy.join()
    assert _status_of(reply) == 200
    assert [target for target in handled if "gone" in target] == []
