"""The HTTP/1.1 transport: keep-alive, bodies, malformed requests, graceful stop."""

import http.client
import socket
import threading
from collections.abc import Iterator

import pytest

from sundial.gateway.http_server import MAX_BODY_BYTES, split_address
from tests.gateway import feature_service
from tests.gateway.client import call


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with feature_service.feature_gateway() as stack:
        yield stack.port


def _exchange(port: int, raw: bytes) -> bytes:
    """Sends raw bytes, returns everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_keep_alive_serves_several_requests_on_one_connection(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.connect()
    sock = connection.sock
    for thing_id in ("a", "b", "c"):
        connection.request("GET", f"/v1/things/{thing_id}")
        response = connection.getresponse()
        assert response.status == 200
        assert f'"id":"{thing_id}"' in response.read().decode()
    assert connection.sock is sock
    connection.close()


def test_http_1_0_closes_after_the_response(port):
    reply = _exchange(port, b"GET /v1/things/a HTTP/1.0\r\n\r\n")
    # waitress answers in the request's version (RFC 9110 allows either).
    assert reply.startswith((b"HTTP/1.0 200 OK\r\n", b"HTTP/1.1 200 OK\r\n"))
    assert b"Connection: close\r\n" in reply


def test_chunked_request_body(port):
    body = b'{"count": 12}'
    raw = (
        b"PATCH /v1/things/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
        + b"5\r\n" + body[:5] + b"\r\n"
        + f"{len(body) - 5:x}\r\n".encode() + body[5:] + b"\r\n0\r\n\r\n"
    )  # fmt: skip
    reply = _exchange(port, raw)
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert reply.endswith(b'{"id":"a","count":12,"output":"UpdateThing"}')


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /v1/things/a HTTP/9.9\r\n\r\n", 505),
        (b"PATCH /v1/things/a HTTP/1.1\r\nContent-Length: lots\r\n\r\n", 400),
        (
            f"PATCH /v1/things/a HTTP/1.1\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode(),
            413,
        ),
        (b"PATCH /v1/things/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ],
    ids=["bad-request-line", "bad-version", "bad-length", "too-large", "bad-chunk"],
)
def test_malformed_http_is_answered_with_a_json_status(port, raw, status):
    reply = _exchange(port, raw)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith((f"HTTP/1.0 {status} ".encode(), f"HTTP/1.1 {status} ".encode()))
    assert b"Content-Type: application/json" in head
    assert body.startswith(b'{"code":')


@pytest.mark.parametrize(
    ("path", "status"), [("/healthz", 200), ("/v1/things/t1", 405)], ids=["builtin", "route"]
)
def test_head_gets_headers_without_a_body(port, path, status):
    reply = _exchange(port, f"HEAD {path} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) > 0
    assert body == b""


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1:8080", ("127.0.0.1", 8080)), ("[::1]:0", ("::1", 0)), (":80", ("", 80))],
)
def test_split_address(address, expected):
    assert split_address(address) == expected


@pytest.mark.parametrize("address", ["localhost", "host:http", "host:"])
def test_bad_address(address):
    with pytest.raises(ValueError, match="HOST:PORT"):
        split_address(address)


def test_stop_finishes_requests_in_flight_and_closes_idle_connections():
    with feature_service.feature_gateway() as stack:
        gateway, port = stack.gateway, stack.port
        idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        idle.request("GET", "/healthz")
        assert idle.getresponse().read()  # now an idle keep-alive connection

        replies = []
        slow = threading.Thread(
            target=lambda: replies.append(call(port, "POST", "/v1/sleep", {"duration": "1s"}))
        )
        slow.start()
        assert stack.sleeping.wait(10)

        gateway.stop(10)

        slow.join()
        assert replies[0].status == 200
        assert replies[0].headers["connection"] == "close"
        assert idle.sock is not None
        assert idle.sock.recv(1) == b""  # closed by the server
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
