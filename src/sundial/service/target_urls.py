"""The one check of a URL that Sundial will POST to, as it is written: a webhook's
`spec.url` and a PUSH agent's `spec.push.url` are judged by the same rules, so that one URL
is not taken for a webhook and refused for an agent.

What can be known without resolving the host is checked here: the scheme, the host, no
credentials or fragment, and an address literal or a loopback name against the SSRF policy
(domain/webhook_addresses.py). Any other host name is checked when each attempt connects
(service/webhook_network.py), since what it resolves to can change after this."""

import re
from urllib.parse import urlsplit

from sundial.domain.webhook_addresses import host_refusal
from sundial.service.validation import Violations

MAX_URL_LENGTH = 2048
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def check_target_url(
    violations: Violations, path: str, url: str, *, allow_http: bool, allow_private: bool
) -> None:
    """Appends one violation named `path` when `url` may not be sent to. `allow_http` lets
    it be http; `allow_private`, name this machine or an address of a private network (the
    server's --allow-private-webhook-targets gives both)."""
    problem = _url_problem(url, allow_http=allow_http, allow_private=allow_private)
    if problem is not None:
        violations.add(path, problem)


def _url_problem(url: str, *, allow_http: bool, allow_private: bool) -> str | None:
    if not url:
        return "url is required"
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters, got {len(url)}"
    # Before parsing: urlsplit drops some of them silently.
    if _SPACE_OR_CONTROL.search(url) or any(c.isspace() for c in url):
        return "a URL must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError as error:  # a bracketed host that is no IPv6 address
        return f"not a valid URL: {error}"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as error:
        return f"not a valid URL: bad port ({error})"
    host = parts.hostname or ""
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return f"the scheme must be {' or '.join(schemes)}, got {parts.scheme or 'none'!r}"
    if parts.username is not None or parts.password is not None:
        return "a URL must not carry credentials; send them in a header"
    if parts.fragment:
        return "a URL must not have a fragment (#...): it is never sent"
    if not host:
        return "the URL has no host"
    refusal = None if allow_private else host_refusal(host)
    return None if refusal is None else f"the host is refused: {refusal}"
