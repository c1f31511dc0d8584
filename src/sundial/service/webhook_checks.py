"""Checks of a WebhookSpec as a Create or Update writes it (the existence of the agents and
schedules it names is checked by the use case, which has the transaction).

The URL is checked as a PUSH agent's is (service/target_urls.py): what can be known without
resolving it; other host names are checked when each attempt connects."""

import re

from sundial.domain.conditions import EVENT_VARIABLES, compile_condition
from sundial.domain.errors import InvalidArgumentError
from sundial.domain.webhooks import EventType, WebhookSpec
from sundial.service.target_urls import check_target_url
from sundial.service.validation import Violations
from sundial.service.webhooks import RESERVED_HEADERS

MAX_HEADERS = 32
MAX_HEADER_NAME_LENGTH = 256
MAX_HEADER_VALUE_LENGTH = 4096
MAX_FILTER_IDS = 100
# The size of the column it is kept in (webhooks.disabled_reason).
MAX_DISABLED_REASON_LENGTH = 512
# RFC 9110 section 7.6.1's hop-by-hop fields, besides those the sender sets itself: they
# describe one connection, not the request, and a proxy on the way would drop them.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    }
)
# Standard Webhooks' own headers: a target's extra headers must not look like them.
SIGNATURE_HEADER_PREFIX = "webhook-"
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_webhook_spec(
    violations: Violations,
    spec: WebhookSpec,
    *,
    allow_http: bool = False,
    allow_private: bool = False,
    prefix: str = "spec",
) -> None:
    """Appends a violation for every bad field of `spec`, each named `spec.<field>`.
    `allow_http` lets the URL be http; `allow_private`, name this machine or a private
    network."""
    check_target_url(
        violations, f"{prefix}.url", spec.url, allow_http=allow_http, allow_private=allow_private
    )
    _check_headers(violations, f"{prefix}.headers", spec.headers)
    _check_event_types(violations, f"{prefix}.event_types", spec.event_types)
    _check_ids(violations, f"{prefix}.agent_ids", spec.agent_ids)
    _check_ids(violations, f"{prefix}.schedule_ids", spec.schedule_ids)
    if spec.condition:
        try:
            compile_condition(spec.condition, f"{prefix}.condition", EVENT_VARIABLES)
        except InvalidArgumentError as error:
            violations.extend(error)


def check_disable_reason(reason: str) -> None:
    """INVALID_ARGUMENT naming `reason` when it is too long or has control characters."""
    violations = Violations()
    if len(reason) > MAX_DISABLED_REASON_LENGTH:
        violations.add(
            "reason", f"at most {MAX_DISABLED_REASON_LENGTH} characters, got {len(reason)}"
        )
    elif _CONTROL.search(reason):
        violations.add("reason", "must not contain control characters")
    violations.raise_if_any()


def _check_headers(violations: Violations, path: str, headers: dict[str, str]) -> None:
    if len(headers) > MAX_HEADERS:
        violations.add(path, f"at most {MAX_HEADERS} headers, got {len(headers)}")
        return
    seen: set[str] = set()
    for name, value in sorted(headers.items()):
        where = f"{path}[{name}]"
        lowered = name.lower()
        if len(name) > MAX_HEADER_NAME_LENGTH or not _HEADER_NAME.match(name):
            violations.add(
                where,
                f"a header name is 1-{MAX_HEADER_NAME_LENGTH} letters, digits and "
                "!#$%&'*+-.^_`|~ (RFC 9110 token characters)",
            )
        elif lowered.startswith(SIGNATURE_HEADER_PREFIX) or lowered in RESERVED_HEADERS:
            violations.add(where, f"{name!r} is set by Sundial on every request")
        elif lowered in HOP_BY_HOP_HEADERS:
            violations.add(where, f"{name!r} is a hop-by-hop header, not part of the request")
        elif lowered in seen:
            violations.add(where, f"header {name!r} is given twice (names ignore case)")
        seen.add(lowered)
        if len(value) > MAX_HEADER_VALUE_LENGTH:
            violations.add(where, f"at most {MAX_HEADER_VALUE_LENGTH} characters, got {len(value)}")
        elif _CONTROL.search(value):
            violations.add(where, "a header value must not contain control characters")


def _check_event_types(
    violations: Violations, path: str, event_types: tuple[EventType, ...]
) -> None:
    seen: set[EventType] = set()
    for index, event_type in enumerate(event_types):
        if event_type is EventType.UNSPECIFIED:
            violations.add(f"{path}[{index}]", "EVENT_TYPE_UNSPECIFIED is not an event")
        elif event_type in seen:
            violations.add(f"{path}[{index}]", f"EVENT_TYPE_{event_type.name} is given twice")
        seen.add(event_type)


def _check_ids(violations: Violations, path: str, ids: tuple[str, ...]) -> None:
    if len(ids) > MAX_FILTER_IDS:
        violations.add(path, f"at most {MAX_FILTER_IDS} ids, got {len(ids)}")
        return
    seen: set[str] = set()
    for index, resource_id in enumerate(ids):
        if not resource_id:
            violations.add(f"{path}[{index}]", "an id must not be empty")
        elif resource_id in seen:
            violations.add(f"{path}[{index}]", f"{resource_id!r} is given twice")
        seen.add(resource_id)
