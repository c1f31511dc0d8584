"""The checks of a PUSH agent's target at create and update, and the WebhookTarget the
pusher sends to. Checked here with field names (`spec.push.url`, `spec.push.headers[X]`), so
the client hears what is wrong before any objective is pushed; the URL by the rules that
judge a webhook's (service/target_urls.py). The SSRF guard still checks every resolved
address at connect time (service.webhook_network), since a host name checked now may
resolve elsewhere later."""

import re
from datetime import timedelta

from sundial.domain.agents import MAX_PUSH_TIMEOUT, AgentSpec, PushTarget, push_timeout
from sundial.service.target_urls import check_target_url
from sundial.service.validation import Violations
from sundial.service.webhook_signing import check_secret
from sundial.service.webhooks import RESERVED_HEADERS, WebhookTarget

MAX_HEADERS = 32
MAX_HEADER_VALUE_LENGTH = 4096
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")


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
    # One flag relaxes both, as the server's --allow-private-webhook-targets does for webhooks.
    check_target_url(
        violations,
        f"{path}.url",
        spec.push.url,
        allow_http=allow_private,
        allow_private=allow_private,
    )
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
