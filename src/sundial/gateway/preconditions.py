"""`ETag` and `If-Match` (RFC 9110 sections 8.8.3 and 13.1.1) over the resources' own
`metadata.etag`: a response carrying a resource names its etag, and `If-Match` on a call
whose request has an `etag` field fills that field, so the service's own check decides.

`If-Match: *` asks only that the resource exist, which every such call needs anyway. A
weak tag (`W/"..."`) never matches: If-Match compares strongly. One tag at a time: the
request has one etag field, and a list could only be checked by reading the resource."""

import re

from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from sundial.gateway.fields import descriptor_of
from sundial.gateway.http_errors import BadRequestError, GatewayError
from sundial.gateway.routes import Route

ANY = "*"
ETAG_FIELD = "etag"
ETAG_MISMATCH = "ETAG_MISMATCH"
_ETAGC = r"[\x21\x23-\x7e\x80-\xff]"
_ENTITY_TAG = re.compile(rf'\s*(W/)?"({_ETAGC}*)"\s*')
_OPAQUE = re.compile(rf"{_ETAGC}*\Z")


def if_match(headers: list[tuple[str, str]]) -> str | None:
    """The strong etag `If-Match` asks for, ANY for `*`, None without the header."""
    values = [value for name, value in headers if name.lower() == "if-match"]
    if not values:
        return None
    text = ", ".join(values)
    if text.strip() == ANY:
        return ANY
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(text):
        match = _ENTITY_TAG.match(text, position)
        if match is None:
            raise BadRequestError(
                "INVALID_IF_MATCH",
                f'If-Match {text!r} is not * or a quoted entity tag such as "abc"',
                field="If-Match",
            )
        tags.append((bool(match[1]), match[2]))
        position = match.end()
        if position < len(text):
            if text[position] != ",":
                raise BadRequestError(
                    "INVALID_IF_MATCH", f"If-Match {text!r}: tags are separated by commas"
                )
            position += 1
    if len(tags) != 1:
        raise BadRequestError(
            "INVALID_IF_MATCH",
            f"If-Match {text!r} lists {len(tags)} entity tags; send one (or *)",
            field="If-Match",
        )
    weak, tag = tags[0]
    if weak:
        raise GatewayError(
            code_pb2.ABORTED,
            ETAG_MISMATCH,
            f'If-Match W/"{tag}" is a weak entity tag, which never matches: send the '
            "ETag as it was given (strong)",
            http_status=412,
        )
    return tag


def apply(condition: str | None, route: Route, request: Message) -> str | None:
    """Puts If-Match's etag in the request when it has an etag field (the service checks
    it); returns the etag a read's answer must have, None when there is none to check."""
    if condition is None or condition == ANY:
        return None
    if takes_etag(request):
        fill_etag(request, condition)
        return None
    if route.http_method in ("GET", "HEAD"):
        return condition
    raise GatewayError(
        code_pb2.INVALID_ARGUMENT,
        "IF_MATCH_NOT_SUPPORTED",
        f"{route.http_method} {route.template.text} takes no etag, so If-Match cannot be "
        "checked; leave it out",
        field="If-Match",
    )


def check_answer(condition: str, etag: str) -> None:
    """412 unless the resource a read answered with has the etag If-Match asked for."""
    if etag != condition:
        raise GatewayError(
            code_pb2.ABORTED,
            ETAG_MISMATCH,
            f'If-Match "{condition}" does not match the current etag {etag!r}',
            http_status=412,
        )


def takes_etag(request: Message) -> bool:
    field = descriptor_of(request).fields_by_name.get(ETAG_FIELD)
    return field is not None and field.type == field.TYPE_STRING and not field.is_repeated


def fill_etag(request: Message, condition: str) -> None:
    """Puts If-Match's etag in the request; a different one in the body is a 400."""
    body_etag = getattr(request, ETAG_FIELD)
    if body_etag and body_etag != condition:
        raise BadRequestError(
            "ETAG_CONFLICT",
            f'If-Match "{condition}" and the body\'s etag {body_etag!r} differ; send one',
            field=ETAG_FIELD,
        )
    setattr(request, ETAG_FIELD, condition)


def etag_of(response: Message) -> str:
    """The etag of the resource a response carries (`metadata.etag`), or ""."""
    fields = descriptor_of(response).fields_by_name
    metadata_field = fields.get("metadata")
    if metadata_field is None or metadata_field.message_type is None:
        return ""
    if ETAG_FIELD not in metadata_field.message_type.fields_by_name:
        return ""
    etag = getattr(getattr(response, metadata_field.name), ETAG_FIELD)
    return etag if isinstance(etag, str) else ""


def etag_header(etag: str) -> str | None:
    """The `ETag` value of an etag; None if it cannot be quoted as an entity tag."""
    return f'"{etag}"' if etag and _OPAQUE.match(etag) else None


def failed(condition: str | None, status: status_pb2.Status) -> bool:
    """Whether the service refused the etag If-Match put in the request (then 412; an
    etag only the body sent keeps its 409)."""
    return condition not in (None, ANY) and _is_etag_mismatch(status)


def _is_etag_mismatch(status: status_pb2.Status) -> bool:
    if status.code != code_pb2.ABORTED:
        return False
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return bool(info.reason == ETAG_MISMATCH)
    return False
