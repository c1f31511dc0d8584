"""The checks of a PUSH agent's target at create and update, and the WebhookTarget the
pusher sends to. Checked here with field names (`spec.push.url`, `spec.push.headers[X]`), so
the client hears what is wrong before any objective is pushed; the SSRF guard still checks
every resolved address at connect time (service.webhook_network), since a host name checked
now may resolve elsewhere later."""

import re
from datetime import timedelta
from ipaddress import ip_address
from urllib.parse import urlsplit

from sundial.domain.agents import MAX_PUSH_TIMEOUT, AgentSpec, PushTarget, push_timeout
from sundial.domain.webhook_addresses import address_refusal
from sundial.service.validation import Violations
from sundial.service.webhook_signing import check_secret
from sundial.service.webhooks import RESERVED_HEADERS, WebhookTarget

MAX_URL_LENGTH = 2048
MAX_HEADERS = 32
MAX_HEADER_VALUE_LENGTH = 4096
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


def check_push(
    violations: Violations, spec: AgentSpec, *, allow_private: bool, prefix: str = "spec"
) -> None:
    """`push` is required with mode PUSH and refused otherwise (a PULL agent's target
    would be silently unused)."""
    path = f"{prefix}.push"
    if not spec.pushed:
        if spec.push is not None:
            violations.add(path, "push is only for mode AGENT_MODE_PUSH; this agent is PULL")
        return
    if spec.push is None:
        violations.add(path, "push (with a url) is required when mode is AGENT_MODE_PUSH")
        return
    _check_url(violations, f"{path}.url", spec.push.url, allow_private=allow_private)
    timeout = spec.push.timeout
    if timeout is not None and not timedelta(0) < timeout <= MAX_PUSH_TIMEOUT:
        violations.add(
            f"{path}.timeout",
            f"timeout must be above 0 and at most {int(MAX_PUSH_TIMEOUT.total_seconds())}s, "
            f"got {timeout.total_seconds():g}s",
        )
    _check_headers(violations, f"{path}.headers", spec.push.headers)
    if spec.push.secret:
        try:
            check_secret(spec.push.secret, "secret")
        except ValueError as error:
            violations.add(f"{path}.secret", str(error))


def webhook_target(
    target: PushTarget, secret: str, execution_timeout: timedelta | None
) -> WebhookTarget:
    """What the pusher sends an objective to (the target passed check_push when written)."""
    return WebhookTarget(
        url=target.url,
        secret=secret,
        timeout=push_timeout(target, execution_timeout),
        headers=dict(target.headers),
    )


def _check_url(violations: Violations, path: str, url: str, *, allow_private: bool) -> None:
    if not url:
        violations.add(path, "url is required")
        return
    if len(url) > MAX_URL_LENGTH:
        violations.add(path, f"url must be at most {MAX_URL_LENGTH} characters, got {len(url)}")
        return
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as error:
        violations.add(path, f"url is not a valid URL: {error}")
        return
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        allowed = " or ".join(schemes)
        violations.add(path, f"url must be {allowed}, got {parts.scheme or 'no'} scheme: {url!r}")
        return
    if not host:
        violations.add(path, f"url has no host: {url!r}")
        return
    if parts.username or parts.password:
        violations.add(path, "url must not hold credentials: send them in push.headers")
        return
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        violations.add(path, "url must not contain spaces or control characters")
        return
    if allow_private:
        return
    if host.lower() in _LOCAL_NAMES:
        violations.add(path, f"url host {host!r} is this machine; push targets must be public")
        return
    try:
        address = ip_address(host)
    except ValueError:
        return  # a name: its addresses are checked when the pusher connects
    refusal = address_refusal(address)
    if refusal is not None:
        violations.add(path, f"url host is refused: {refusal}")


def _check_headers(violations: Violations, path: str, headers: dict[str, str]) -> None:
    if len(headers) > MAX_HEADERS:
        violations.add(path, f"at most {MAX_HEADERS} headers, got {len(headers)}")
        return
    for name, value in sorted(headers.items()):
        where = f"{path}[{name}]"
        if not _HEADER_NAME.fullmatch(name):
            violations.add(where, f"{name!r} is not a valid header name")
        elif name.lower() in RESERVED_HEADERS:
            violations.add(where, f"{name!r} is set by Sundial and cannot be given")
        elif len(value) > MAX_HEADER_VALUE_LENGTH:
            violations.add(where, f"at most {MAX_HEADER_VALUE_LENGTH} characters")
        elif any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
            violations.add(where, "the value must not contain control characters")
