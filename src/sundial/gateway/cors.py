"""CORS (the Fetch standard's CORS protocol) for the origins given with `--cors-origin`.

Credentials are bearer tokens a page sets in `Authorization`, never cookies, so no response
says `Access-Control-Allow-Credentials`, and `*` (any origin) is allowed: a page can only
send a token it already holds. A request from an origin not allowed gets no CORS headers,
and the browser keeps the answer from the page.

Hand-written: the few headers below depend on the gateway's own routes (the methods a path
has); the WSGI middlewares that do CORS would need them listed again."""

from collections.abc import Iterable, Sequence

# Request headers a page may send: credentials, bodies, preconditions, correlation (the
# request id, W3C trace context) and gRPC's deadline. Grpc-Metadata-* headers a preflight
# asks for are allowed as well.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Content-Encoding",
    "If-Match",
    "X-Request-Id",
    "traceparent",
    "tracestate",
    "Grpc-Timeout",
)
# Response headers a page may read (beyond the CORS-safelisted ones).
EXPOSED_HEADERS = "X-Request-Id, ETag, Retry-After, WWW-Authenticate, Allow"
# How long a browser may reuse a preflight's answer; Chromium caps it at 2 hours.
MAX_AGE_SECONDS = 7200
_METADATA_PREFIX = "grpc-metadata-"


class CorsPolicy:
    """Which origins may call, and the headers that tell browsers so."""

    def __init__(self, origins: Iterable[str]) -> None:
        self._origins = frozenset(origins)
        self._any = "*" in self._origins

    @property
    def enabled(self) -> bool:
        return bool(self._origins)

    def allows(self, origin: str) -> bool:
        return bool(origin) and (self._any or origin in self._origins)

    def response_headers(self, origin: str) -> list[tuple[str, str]]:
        """Headers for an actual (not preflight) response to a request from `origin`."""
        headers = self._vary()
        if self.allows(origin):
            headers.append(("Access-Control-Allow-Origin", "*" if self._any else origin))
            headers.append(("Access-Control-Expose-Headers", EXPOSED_HEADERS))
        return headers

    def preflight_headers(
        self, origin: str, methods: Sequence[str], requested_headers: str
    ) -> list[tuple[str, str]]:
        """Headers for the answer to a preflight from an allowed origin, for a path that
        takes `methods`."""
        allowed = list(ALLOWED_HEADERS)
        known = {name.lower() for name in ALLOWED_HEADERS}
        for entry in requested_headers.split(","):
            name = entry.strip()
            if name.lower().startswith(_METADATA_PREFIX) and name.lower() not in known:
                known.add(name.lower())
                allowed.append(name)
        return [
            *self._vary(),
            ("Access-Control-Allow-Origin", "*" if self._any else origin),
            ("Access-Control-Allow-Methods", ", ".join(methods)),
            ("Access-Control-Allow-Headers", ", ".join(allowed)),
            ("Access-Control-Max-Age", str(MAX_AGE_SECONDS)),
        ]

    def _vary(self) -> list[tuple[str, str]]:
        # The answer depends on Origin unless every origin gets the same `*`.
        return [("Vary", "Origin")] if self.enabled and not self._any else []
