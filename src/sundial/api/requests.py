"""Request fields every servicer reads the same way, and the checks every request passes."""

from datetime import datetime, timedelta
from typing import Any, Protocol

from google.protobuf import field_mask_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from sundial.api.converters import duration_from_proto, timestamp_from_proto
from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import MAX_DATA_DEPTH
from sundial.service.pagination import PageRequest

_JSON_TYPES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)
_NUL = "\x00"
_NUL_MESSAGE = "must not contain NUL characters (U+0000)"


class _ListRequest(Protocol):
    page_size: int
    page_token: str
    filter: str
    order_by: str


def page_request(request: _ListRequest) -> PageRequest:
    return page_request_of(request.page_size, request.page_token, request.filter, request.order_by)


def page_request_of(
    page_size: int, page_token: str, filter_text: str, order_by: str = ""
) -> PageRequest:
    return PageRequest(
        page_size=page_size, page_token=page_token, filter=filter_text, order_by=order_by
    )


def optional_duration(request: Message, field: str) -> timedelta | None:
    """The Duration field `field` of `request`, or None when unset."""
    if not request.HasField(field):
        return None
    return duration_from_proto(getattr(request, field), field)


def optional_timestamp(request: Message, field: str) -> datetime | None:
    """The Timestamp field `field` of `request`, or None when unset."""
    if not request.HasField(field):
        return None
    return timestamp_from_proto(getattr(request, field), field)


def update_mask_of(mask: field_mask_pb2.FieldMask) -> list[str] | None:
    """The mask's paths; None when the client sent none (update every populated field)."""
    return list(mask.paths) or None


def check_request(request: object) -> None:
    """INVALID_ARGUMENT naming the first string field of `request` that holds a NUL (no
    database stores one alike: PostgreSQL refuses it) or the first JSON value (Struct,
    Value) nested deeper than MAX_DATA_DEPTH."""
    if not isinstance(request, Message):
        return  # raw bytes of generic handlers: nothing to walk
    problem = _message_problem(request, "")
    if problem is not None:
        raise InvalidArgumentError.single(*problem)


def _message_problem(message: Message, path: str) -> tuple[str, str] | None:
    for field, value in message.ListFields():
        name = f"{path}.{field.name}" if path else field.name
        if field.type == FieldDescriptor.TYPE_STRING:
            texts = value if field.is_repeated else (value,)
            if any(_NUL in text for text in texts):
                return name, _NUL_MESSAGE
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            problem = _message_field_problem(field, value, name)
            if problem is not None:
                return problem
    return None


def _message_field_problem(field: FieldDescriptor, value: Any, name: str) -> tuple[str, str] | None:
    message_type = field.message_type
    assert message_type is not None
    if message_type.GetOptions().map_entry:
        for key, item in value.items():
            if isinstance(key, str) and _NUL in key:
                return name, _NUL_MESSAGE
            problem = _item_problem(item, f"{name}[{key}]")
            if problem is not None:
                return problem
        return None
    if message_type.full_name in _JSON_TYPES:
        items = value if field.is_repeated else (value,)
        for item in items:
            problem = _json_problem(item, name, 0)
            if problem is not None:
                return problem
        return None
    if field.is_repeated:
        for index, item in enumerate(value):
            problem = _message_problem(item, f"{name}[{index}]")
            if problem is not None:
                return problem
        return None
    return _message_problem(value, name)


def _item_problem(item: Any, name: str) -> tuple[str, str] | None:
    if isinstance(item, str):
        return (name, _NUL_MESSAGE) if _NUL in item else None
    if isinstance(item, Message):
        if item.DESCRIPTOR.full_name in _JSON_TYPES:
            return _json_problem(item, name, 0)
        return _message_problem(item, name)
    return None


def _json_problem(value: Any, name: str, depth: int) -> tuple[str, str] | None:
    """Walks a Struct, ListValue or Value; `name` stays the proto field's path."""
    full_name = value.DESCRIPTOR.full_name
    if full_name == "google.protobuf.Value":
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            return (name, _NUL_MESSAGE) if _NUL in value.string_value else None
        if kind == "struct_value":
            return _json_problem(value.struct_value, name, depth)
        if kind == "list_value":
            return _json_problem(value.list_value, name, depth)
        return None
    if depth >= MAX_DATA_DEPTH:
        return name, f"JSON nested deeper than {MAX_DATA_DEPTH} levels"
    if full_name == "google.protobuf.Struct":
        for key, item in value.fields.items():
            if _NUL in key:
                return name, _NUL_MESSAGE
            problem = _json_problem(item, name, depth + 1)
            if problem is not None:
                return problem
        return None
    for item in value.values:
        problem = _json_problem(item, name, depth + 1)
        if problem is not None:
            return problem
    return None
