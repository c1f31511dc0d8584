"""AIP-158 pagination: page sizes and opaque page tokens bound to their query."""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from sundial.domain.errors import InvalidArgumentError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_TOKEN_VERSION = 1


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The paging fields of a List request, as the client sent them."""

    page_size: int = 0
    page_token: str = ""
    filter: str = ""
    order_by: str = ""


def effective_page_size(page_size: int) -> int:
    """0 means the default; more than the maximum is coerced to it; negative is an error."""
    if page_size < 0:
        raise InvalidArgumentError.single("page_size", f"page_size must be >= 0, got {page_size}")
    if page_size == 0:
        return DEFAULT_PAGE_SIZE
    return min(page_size, MAX_PAGE_SIZE)


def query_fingerprint(*parts: str) -> str:
    """Identifies a query, so that a token cannot be replayed against a different one."""
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()


def encode_page_token(after_id: str, fingerprint: str) -> str:
    payload = json.dumps({"v": _TOKEN_VERSION, "after": after_id, "q": fingerprint}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> str:
    """The id the page starts after; empty for the first page."""
    if not token:
        return ""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, query, version = payload["after"], payload["q"], payload["v"]
        # An id is printable UTF-8: a lone surrogate or a NUL could only come from a forgery.
        if isinstance(after, str) and "\x00" in after:
            raise ValueError("NUL in the id")
        if isinstance(after, str):
            after.encode()
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        # RecursionError: valid base64 of JSON nested too deep for the parser.
        raise InvalidArgumentError.single(
            "page_token", "page_token is not a token this API returned"
        ) from None
    if version != _TOKEN_VERSION or not isinstance(after, str):
        raise InvalidArgumentError.single(
            "page_token", "page_token is not a token this API returned"
        )
    if query != fingerprint:
        raise InvalidArgumentError.single(
            "page_token",
            "page_token belongs to a different query: keep filter, order_by and the other "
            "list parameters the same while paging",
        )
    return after
