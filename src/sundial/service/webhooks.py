"""Sending one webhook attempt (issue 14, items 5 and 6): `WebhookSender.send(target,
message) -> SendOutcome`. The outbox, the dispatcher and the API build on it; this module
only sends, signs, guards and reports, and never retries (`domain.webhook_retries` says when).

- One `httpx.Client` for every target: pooled keep-alive connections, at most
  `max_concurrency` of them. Concurrency is bounded by a semaphore of the same size around
  each send, so a caller past the bound waits for a slot instead of failing with httpx's
  PoolTimeout, and the pool never needs more connections than there are sends in flight.
- The target's timeout bounds connecting, each read and write, and the whole attempt while
  the body is read (against a deadline), so a target dripping a body byte a second cannot
  hold a slot for ever. Not bounded as a whole: the status line and headers, which httpcore
  reads with the per-read timeout only, and resolving the host (`getaddrinfo` has no
  timeout of its own).
- Response bodies are read raw (`Accept-Encoding: identity`, so a small gzip bomb is not
  inflated) up to `body_cap` bytes, then the connection is dropped.
- Redirects are not followed: a 3xx is a failed attempt. Following it would re-send a signed
  body to a URL the owner never configured (and turn the POST into a GET on 301-303), as
  Stripe and Svix also refuse; the detail names the Location so the owner can fix the URL.
- Only http and https URLs; the SSRF guard is `service.webhook_network`, at connect time.
"""

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from types import TracebackType

import httpx

from sundial.domain.clock import Clock
from sundial.domain.webhook_retries import parse_retry_after
from sundial.service.webhook_network import (
    AddressRefusedError,
    GuardedNetworkBackend,
    GuardedTransport,
    Resolver,
    system_resolver,
)
from sundial.service.webhook_signing import check_message_id, check_secret, signature_headers

USER_AGENT = "Sundial-Webhooks/1"
BODY_CAP = 64 * 1024
MAX_TIMEOUT = timedelta(minutes=10)
# Headers the sender sets itself; a target's extra headers may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "accept-encoding",
        "host",
        "connection",
    }
)
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class ErrorKind(StrEnum):
    """Why an attempt failed."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    HTTP_STATUS = "http_status"
    REFUSED = "refused_by_guard"
    # The stored target itself is unusable (the dispatcher's check, before any request).
    INVALID_TARGET = "invalid_target"


@dataclass(frozen=True)
class WebhookTarget:
    """Where and how to send: an http(s) URL, a timeout, extra headers, a `whsec_` secret."""

    url: str
    secret: str
    timeout: timedelta = timedelta(seconds=10)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            url = httpx.URL(self.url)
        except httpx.InvalidURL as error:
            raise ValueError(f"url is not a valid URL: {error}") from None
        if url.scheme not in ("http", "https"):
            raise ValueError(f"url must be http or https, got {url.scheme or 'no'} scheme")
        if not url.host:
            raise ValueError(f"url has no host: {self.url!r}")
        check_secret(self.secret)
        if not timedelta(0) < self.timeout <= MAX_TIMEOUT:
            raise ValueError(
                f"timeout must be positive and at most {MAX_TIMEOUT}, got {self.timeout}"
            )
        for name, value in self.headers.items():
            if not name or not set(name) <= _TOKEN:
                raise ValueError(f"headers: {name!r} is not a valid header name")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"headers: {name!r} is set by Sundial and cannot be given")
            if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
                raise ValueError(f"headers: the value of {name!r} has a control character")


@dataclass(frozen=True)
class WebhookMessage:
    """One message: its id (the `webhook-id`, the same on every attempt) and JSON body."""

    id: str
    body: str

    def __post_init__(self) -> None:
        check_message_id(self.id)


@dataclass(frozen=True)
class SendOutcome:
    """What one attempt got: a 2xx has no error; `retry_after` is the target's wish, if any."""

    status: int | None
    body: bytes
    body_truncated: bool
    duration: timedelta
    error: ErrorKind | None
    detail: str
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


class _DeadlinePassedError(Exception):
    pass


class WebhookSender:
    """Sends attempts over one pooled, guarded httpx client; thread-safe; close() when done."""

    def __init__(
        self,
        clock: Clock,
        *,
        allow_private_targets: bool = False,
        max_concurrency: int = 32,
        body_cap: int = BODY_CAP,
        resolver: Resolver = system_resolver,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if body_cap < 0:
            raise ValueError(f"body_cap must not be negative, got {body_cap}")
        self._clock = clock
        self._body_cap = body_cap
        self._monotonic = monotonic
        self._slots = threading.BoundedSemaphore(max_concurrency)
        backend = GuardedNetworkBackend(allow_private=allow_private_targets, resolver=resolver)
        limits = httpx.Limits(
            max_connections=max_concurrency, max_keepalive_connections=max_concurrency
        )
        self._client = httpx.Client(
            transport=GuardedTransport(backend, limits),
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )

    def send(self, target: WebhookTarget, message: WebhookMessage) -> SendOutcome:
        """POST `message` to `target` once, signed for this attempt; never raises for what
        the target or the network did."""
        with self._slots:
            return self._send(target, message)

    def _send(self, target: WebhookTarget, message: WebhookMessage) -> SendOutcome:
        start = self._monotonic()
        seconds = target.timeout.total_seconds()
        headers = {
            **target.headers,
            "content-type": "application/json",
            "accept-encoding": "identity",
            **signature_headers(target.secret, message.id, self._clock.now(), message.body),
        }
        try:
            with self._client.stream(
                "POST",
                target.url,
                content=message.body.encode("utf-8"),
                headers=headers,
                timeout=httpx.Timeout(seconds),
            ) as response:
                body, truncated = self._read_capped(response, start + seconds)
        except AddressRefusedError as refused:
            return self._failure(start, ErrorKind.REFUSED, str(refused))
        except (httpx.TimeoutException, _DeadlinePassedError):
            return self._failure(start, ErrorKind.TIMEOUT, f"no response within {seconds:g} s")
        except httpx.TransportError as error:
            detail = f"{type(error).__name__}: {error}"
            return self._failure(start, ErrorKind.CONNECTION, detail)
        status = response.status_code
        header = response.headers.get("retry-after")
        error_kind: ErrorKind | None = None
        detail = f"HTTP {status}"
        if not 200 <= status < 300:
            error_kind = ErrorKind.HTTP_STATUS
        if 300 <= status < 400:
            location = response.headers.get("location", "no Location")
            detail += f": redirect to {location} not followed; fix the target URL"
        return SendOutcome(
            status=status,
            body=body,
            body_truncated=truncated,
            duration=self._elapsed(start),
            error=error_kind,
            detail=detail,
            retry_after=None if header is None else parse_retry_after(header, self._clock.now()),
        )

    def _failure(self, start: float, error: ErrorKind, detail: str) -> SendOutcome:
        return SendOutcome(
            status=None,
            body=b"",
            body_truncated=False,
            duration=self._elapsed(start),
            error=error,
            detail=detail,
        )

    def _elapsed(self, start: float) -> timedelta:
        return timedelta(seconds=self._monotonic() - start)

    def _read_capped(self, response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():
            if self._monotonic() > deadline:
                raise _DeadlinePassedError
            chunks.append(chunk)
            size += len(chunk)
            if size > self._body_cap:
                # Leaving the stream early closes the connection instead of reading the rest.
                return b"".join(chunks)[: self._body_cap], True
        return b"".join(chunks), False

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "WebhookSender":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
