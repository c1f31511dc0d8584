"""gzip both ways: request bodies sent with `Content-Encoding: gzip` are decompressed (up to
MAX_BODY_BYTES, read in steps so that a small bomb cannot take memory), and responses are
compressed for clients whose `Accept-Encoding` takes gzip.

The standard library's zlib does the compressing; the `Accept-Encoding` q-values are read
here because they are the only piece of content negotiation the gateway needs."""

import zlib

from google.rpc import code_pb2

from sundial.gateway.http_errors import BadRequestError, GatewayError

# gRPC's default largest message, as the transport's cap on the body as sent: a larger
# decompressed body could not be forwarded anyway.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Smaller bodies go as they are: they fit one TCP segment either way (a 1500-byte MTU), so
# compressing them would cost CPU on both ends and save no round trip.
MIN_COMPRESSED_BYTES = 1024
_GZIP = ("gzip", "x-gzip")
_STEP = 64 * 1024


def header_values(headers: list[tuple[str, str]], name: str) -> list[str]:
    """The comma-separated entries of every `name` header, in order (lower-cased name)."""
    return [
        entry.strip()
        for key, value in headers
        if key.lower() == name
        for entry in value.split(",")
        if entry.strip()
    ]


def decoded_body(headers: list[tuple[str, str]], body: bytes) -> bytes:
    """The body with its Content-Encoding undone: 415 for a coding other than gzip, 400 for
    corrupt gzip, 413 past MAX_BODY_BYTES decompressed."""
    if not any(name.lower() == "content-encoding" for name, _ in headers):
        return body
    codings = [c.lower() for c in header_values(headers, "content-encoding")]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return body
    if len(codings) > 1 or codings[0] not in _GZIP:
        raise GatewayError(
            code_pb2.INVALID_ARGUMENT,
            "UNSUPPORTED_CONTENT_ENCODING",
            f"Content-Encoding {', '.join(codings)} is not supported; send gzip or none",
            http_status=415,
            headers={"Accept-Encoding": "gzip"},
        )
    # No body is no body, whatever its coding says (a gzip of nothing has a 20-byte header).
    return _gunzip(body) if body else body


def _gunzip(data: bytes) -> bytes:
    out: list[bytes] = []
    total = 0
    # A gzip file may hold several members one after the other (RFC 1952 section 2.2).
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = data
        try:
            while pending and not inflater.eof:
                piece = inflater.decompress(pending, min(_STEP, MAX_BODY_BYTES - total + 1))
                total += len(piece)
                if total > MAX_BODY_BYTES:
                    raise GatewayError(
                        code_pb2.INVALID_ARGUMENT,
                        "BODY_TOO_LARGE",
                        f"the body is larger than {MAX_BODY_BYTES} bytes once decompressed",
                        http_status=413,
                    )
                out.append(piece)
                pending = inflater.unconsumed_tail
        except zlib.error as error:
            raise BadRequestError("CORRUPT_BODY", f"the gzip body is corrupt: {error}") from None
        if not inflater.eof:
            raise BadRequestError("CORRUPT_BODY", "the gzip body is cut short")
        data = inflater.unused_data
        if not data:
            return b"".join(out)


def accepts_gzip(headers: list[tuple[str, str]]) -> bool:
    """Whether `Accept-Encoding` takes gzip: listed (or `*` while gzip is not) with q > 0."""
    weights: dict[str, float] = {}
    for entry in header_values(headers, "accept-encoding"):
        coding, *parameters = (part.strip() for part in entry.split(";"))
        weight = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0  # unreadable: do not count on the client taking it
        weights[coding.lower()] = weight
    for name in _GZIP:
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0.0) > 0


def gzipped(body: bytes) -> bytes:
    # Level 6 (zlib's default) is within a few percent of 9 on JSON at a fraction of the
    # CPU. zlib's gzip header carries no time: the same body compresses to the same bytes.
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()
