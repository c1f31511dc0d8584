"""Setting request fields from URL text (path variables and query parameters).

A value arrives as one string; it is read the way ProtoJSON reads the same field, except
that booleans also accept grpc-gateway's spellings (`1`, `t`, `TRUE`, ...) and a FieldMask
is a comma-separated list of paths."""

import base64
import binascii
import re
from typing import Any, cast

from google.protobuf import descriptor
from google.protobuf.message import Message

from sundial.gateway.http_errors import BadRequestError

FieldDescriptor = descriptor.FieldDescriptor

_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})
_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_FLOAT_TYPES = frozenset({FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE})
_WRAPPERS = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
# Well-known types a single string can express; any other message is set field by field.
STRING_MESSAGES = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
    | _WRAPPERS
)
_CAMEL_HUMP = re.compile(r"(?<!^)([A-Z])")


def descriptor_of(message: Message) -> descriptor.Descriptor:
    # The stubs type DESCRIPTOR as a union with upb's own classes; they behave the same.
    return cast(descriptor.Descriptor, message.DESCRIPTOR)


def message_type_of(field: FieldDescriptor) -> descriptor.Descriptor:
    """The message type of a message (or map) field."""
    if field.message_type is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return field.message_type


def enum_type_of(field: FieldDescriptor) -> descriptor.EnumDescriptor:
    if field.enum_type is None:
        raise TypeError(f"{field.full_name} is not an enum field")
    return field.enum_type


def is_map(field: FieldDescriptor) -> bool:
    message_type = field.message_type
    return message_type is not None and message_type.GetOptions().map_entry


def is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def is_leaf(field: FieldDescriptor) -> bool:
    """Whether one URL string can set the field (a scalar, enum or string-like WKT)."""
    if is_map(field):
        return False
    return field.message_type is None or field.message_type.full_name in STRING_MESSAGES


def resolve(
    message_descriptor: descriptor.Descriptor, dotted: str, *, json_names: bool
) -> list[FieldDescriptor] | None:
    """The fields a dotted path walks through, or None when a name is unknown. Proto names
    always work; camelCase JSON names too with `json_names`."""
    fields: list[FieldDescriptor] = []
    current: descriptor.Descriptor | None = message_descriptor
    for name in dotted.split("."):
        if current is None:
            return None
        field = current.fields_by_name.get(name)
        if field is None and json_names:
            field = next((f for f in current.fields if f.json_name == name), None)
        if field is None:
            return None
        fields.append(field)
        current = field.message_type
    return fields


_PATH_SEGMENT = re.compile(r"(?:[^.\[]|\[[^\]]*\])+")
_NAMED_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]*\])*)\Z")


def json_path(message_descriptor: descriptor.Descriptor, path: str) -> str:
    """A field path with proto names (`spec.schedule.cron_expressions[0]`) in JSON names
    (`spec.schedule.cronExpressions[0]`), as far as it follows the message's fields (the
    keys inside a Struct, or a name that is no field, are kept as they are)."""
    segments = _PATH_SEGMENT.findall(path)
    if ".".join(segments) != path:
        return path
    named: list[str] = []
    current: descriptor.Descriptor | None = message_descriptor
    for index, segment in enumerate(segments):
        match = _NAMED_SEGMENT.match(segment)
        field = current.fields_by_name.get(match[1]) if current and match else None
        if field is None or match is None:
            return ".".join(named + segments[index:])
        named.append(field.json_name + match[2])
        current = field.message_type
        if current is not None and is_map(field):
            current = current.fields_by_name["value"].message_type if match[2] else None
        if current is not None and current.full_name.startswith("google.protobuf."):
            current = None  # a well-known type: what follows is not its fields
    return ".".join(named)


def set_from_text(message: Message, path: list[FieldDescriptor], text: str, name: str) -> None:
    """Sets (or, for a repeated field, appends) the field at `path` from `text`.
    `name` is how the client spelled the field, for error messages."""
    for field in path[:-1]:
        if is_repeated(field) or field.message_type is None:
            raise BadRequestError(
                "INVALID_FIELD_PATH",
                f"{name!r} goes through {field.name!r}, which is not a singular message",
                field=name,
            )
        message = getattr(message, field.name)
    field = path[-1]
    if not is_leaf(field):
        raise BadRequestError(
            "INVALID_FIELD_PATH",
            f"{name!r} is a {'map' if is_map(field) else 'message'}; it cannot be set from "
            "one URL value (set its fields with dotted names, or use the body)",
            field=name,
        )
    try:
        if field.message_type is not None:
            target = getattr(message, field.name)
            target = target.add() if is_repeated(field) else target
            target.SetInParent()
            fill_message_from_text(target, text)
        elif is_repeated(field):
            getattr(message, field.name).append(scalar_from_text(field, text))
        else:
            setattr(message, field.name, scalar_from_text(field, text))
    except (ValueError, TypeError) as error:
        raise BadRequestError(
            "INVALID_FIELD_VALUE", f"invalid value {text!r} for {name!r}: {error}", field=name
        ) from error


def scalar_from_text(field: FieldDescriptor, text: str) -> Any:
    """The Python value of a scalar or enum field, read from URL text."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return text
    if kind in _INTEGER_TYPES:
        return int(text, 10)
    if kind == FieldDescriptor.TYPE_BOOL:
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("expected true or false")
    if kind in _FLOAT_TYPES:
        return float(text)
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum_number(field, text)
    if kind == FieldDescriptor.TYPE_BYTES:
        return _bytes(text)
    raise ValueError(f"fields of type {kind} cannot be set from text")


def fill_message_from_text(message: Message, text: str) -> None:
    """Fills a Timestamp (RFC 3339), Duration (`90s`), FieldMask (`a.b,c`) or wrapper."""
    message_type = descriptor_of(message)
    full_name = message_type.full_name
    if full_name == "google.protobuf.FieldMask":
        paths = [_snake_path(p.strip()) for p in text.split(",") if p.strip()]
        message.paths.extend(paths)  # type: ignore[attr-defined]
    elif full_name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        message.FromJsonString(text)  # type: ignore[attr-defined]
    elif full_name in _WRAPPERS:
        value_field = message_type.fields_by_name["value"]
        message.value = scalar_from_text(value_field, text)  # type: ignore[attr-defined]
    else:
        raise ValueError(f"{full_name} cannot be set from text")


def _enum_number(field: FieldDescriptor, text: str) -> int:
    enum_type = enum_type_of(field)
    value = enum_type.values_by_name.get(text)
    if value is not None:
        return int(value.number)
    try:
        number = int(text, 10)
    except ValueError:
        names = ", ".join(v.name for v in enum_type.values)
        raise ValueError(f"expected one of {names}") from None
    if number not in enum_type.values_by_number:
        raise ValueError(f"{number} is not a value of {enum_type.full_name}")
    return number


def _bytes(text: str) -> bytes:
    # ProtoJSON accepts standard and URL-safe base64, padded or not.
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error as error:
        raise ValueError(f"not base64: {error}") from None


def _snake_path(path: str) -> str:
    """FieldMask paths may be written in JSON (camelCase) or proto (snake_case) form."""
    return ".".join(_CAMEL_HUMP.sub(r"_\1", part).lower() for part in path.split("."))
