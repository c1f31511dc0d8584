"""gzip both ways over real HTTP: compressed answers for clients that take gzip (by their
q-values, for bodies worth it), compressed request bodies decompressed up to the 4 MB cap
(a bomb is 413 without the memory), unknown codings 415, corrupt gzip 400."""

import gzip
import json
import tracemalloc
import zlib

import pytest
from google.rpc import code_pb2

from sundial.gateway.encoding import (
    MAX_BODY_BYTES,
    MIN_COMPRESSED_BYTES,
    accepts_gzip,
    decoded_body,
    gzipped,
)
from sundial.gateway.http_errors import GatewayError


def _big_list(rest) -> str:
    """A list path whose answer is well over MIN_COMPRESSED_BYTES."""
    for index in range(8):
        rest.create_agent(f"agent number {index} with a name long enough to fill the page")
    return rest.agents()


def test_a_client_that_takes_gzip_gets_gzip(rest):
    path = _big_list(rest)
    plain = rest("GET", path)
    assert len(plain.body) > MIN_COMPRESSED_BYTES
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    packed = rest("GET", path, accept_encoding="br;q=1.0, gzip;q=0.8")
    assert packed.status == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) == len(packed.body) < len(plain.body)
    assert json.loads(gzip.decompress(packed.body)) == plain.json()


@pytest.mark.parametrize(
    "accept_encoding", ["gzip;q=0", "identity", "br", "*;q=0", "gzip;q=0, *"], ids=str
)
def test_a_client_that_does_not_take_gzip_gets_it_plain(rest, accept_encoding):
    reply = rest("GET", _big_list(rest), accept_encoding=accept_encoding)
    assert "content-encoding" not in reply.headers
    assert reply.json()["agents"]


def test_a_small_answer_goes_plain(rest):
    reply = rest("GET", "/healthz", accept_encoding="gzip")
    assert "content-encoding" not in reply.headers
    assert "vary" not in reply.headers
    assert reply.json() == {"status": "SERVING"}


def test_a_gzip_request_body_is_decompressed(rest):
    body = gzip.compress(json.dumps({"metadata": {"name": "zipped"}}).encode())
    reply = rest(
        "POST",
        rest.agents(),
        body,
        content_type="application/json",
        content_encoding="gzip",
    )
    assert reply.status == 200, reply.body
    assert reply.json()["metadata"]["name"] == "zipped"


def test_a_gzip_bomb_is_413_naming_the_cap(rest):
    bomb = gzip.compress(b" " * (MAX_BODY_BYTES + 1), compresslevel=9)
    assert len(bomb) < 10_000
    reply = rest("POST", rest.agents(), bomb, content_encoding="gzip")
    assert reply.status == 413
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert str(MAX_BODY_BYTES) in reply.json()["message"]


@pytest.mark.parametrize("coding", ["br", "deflate", "gzip, gzip", "compress"])
def test_an_unknown_content_encoding_is_415(rest, coding):
    reply = rest("POST", rest.agents(), b"{}", content_encoding=coding)
    assert reply.status == 415
    assert reply.headers["accept-encoding"] == "gzip"
    assert reply.reason == "UNSUPPORTED_CONTENT_ENCODING"


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(b'{"metadata": {}}')[:-9], gzip.compress(b"{}") + b"xx"],
    ids=["garbage", "truncated", "trailing-garbage"],
)
def test_corrupt_gzip_is_400(rest, body):
    reply = rest("POST", rest.agents(), body, content_encoding="gzip")
    assert reply.status == 400, reply.body
    assert reply.reason == "CORRUPT_BODY"


# Units --------------------------------------------------------------------------------------


def test_no_body_is_no_body_whatever_its_coding():
    assert decoded_body([("Content-Encoding", "gzip")], b"") == b""


def test_several_gzip_members_are_one_body():
    body = gzip.compress(b'{"a": ') + gzip.compress(b"1}")
    assert decoded_body([("Content-Encoding", "gzip")], body) == b'{"a": 1}'


def test_a_body_of_exactly_the_cap_is_taken():
    body = gzip.compress(b"x" * MAX_BODY_BYTES)
    assert len(decoded_body([("Content-Encoding", "gzip")], body)) == MAX_BODY_BYTES


def test_a_bomb_is_refused_without_inflating_it_in_memory():
    bomb = gzip.compress(b"\0" * (200 * MAX_BODY_BYTES), compresslevel=9)  # 800 MB
    tracemalloc.start()
    try:
        with pytest.raises(GatewayError) as refused:
            decoded_body([("Content-Encoding", "gzip")], bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.http_status == 413
    assert peak < 3 * MAX_BODY_BYTES


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("", False),
        ("gzip;q=bogus", False),
    ],
    ids=repr,
)
def test_accepts_gzip(accept_encoding, expected):
    assert accepts_gzip([("Accept-Encoding", accept_encoding)]) is expected


def test_gzipped_is_gzip_and_the_same_every_time():
    body = b'{"x": "' + b"y" * 5000 + b'"}'
    assert gzipped(body) == gzipped(body)
    assert zlib.decompress(gzipped(body), 16 + zlib.MAX_WBITS) == body
