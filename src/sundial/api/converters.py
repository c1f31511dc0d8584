"""Proto messages to domain dataclasses and back, in one place.

Domain dataclasses use the proto field names, so the conversion is driven by the message
descriptor and the dataclass type hints, and a new field needs no converter code. Well-known
types map to Python: Timestamp <-> aware UTC datetime, Duration <-> timedelta, Value/Struct
<-> JSON values; enums map by number; unset message fields map to None."""

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from google.protobuf import json_format, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from sundial.domain.errors import InvalidArgumentError

T = TypeVar("T")
M = TypeVar("M", bound=Message)

_TIMESTAMP = "google.protobuf.Timestamp"
_DURATION = "google.protobuf.Duration"
_VALUE = "google.protobuf.Value"
_STRUCT = "google.protobuf.Struct"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The ranges google/protobuf/duration.proto and timestamp.proto define: about 10,000 years
# either way, and 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. Fields may have
# tighter bounds (service/validation.py, domain/schedules.py).
MAX_DURATION_SECONDS = 315_576_000_000
MIN_TIMESTAMP_SECONDS = -62_135_596_800
MAX_TIMESTAMP_SECONDS = 253_402_300_799
_MAX_NANOS = 999_999_999

_Reader = Callable[[Message, str], Any]
_Writer = Callable[[Message, Any], None]


def from_proto(message: Message, cls: type[T], path: str = "") -> T:
    """The domain value of `message`; bad values raise INVALID_ARGUMENT naming `path.field`."""
    return typing.cast(T, _reader_plan(typing.cast(Any, cls), message.DESCRIPTOR)(message, path))


def to_proto(value: Any, message: M) -> M:
    """Fills `message` from the domain dataclass `value` and returns it."""
    _writer_plan(typing.cast(Any, type(value)), message.DESCRIPTOR)(message, value)
    return message


# --- proto -> domain ---------------------------------------------------------------------


@functools.cache
def _reader_plan(cls: type, descriptor: Descriptor) -> Callable[[Message, str], Any]:
    hints = typing.get_type_hints(cls)
    readers: list[tuple[str, _Reader, bool]] = []
    for field in dataclasses.fields(cls):
        proto_field = descriptor.fields_by_name.get(field.name)
        if proto_field is not None:
            hint = hints[field.name]
            nullable = _strip_optional(hint) is not hint
            readers.append((field.name, _field_reader(proto_field, hint), nullable))

    def read(message: Message, path: str) -> Any:
        prefix = f"{path}." if path else ""
        values = {}
        for name, reader, nullable in readers:
            value = reader(message, f"{prefix}{name}")
            # An unset message whose domain field is not optional takes the field's default.
            if value is not None or nullable:
                values[name] = value
        return cls(**values)

    return read


def _field_reader(field: FieldDescriptor, hint: Any) -> _Reader:
    name = field.name
    if _is_map(field):
        return lambda message, _path: dict(getattr(message, name))
    if field.is_repeated:
        item = _value_reader(field, typing.get_args(hint)[0])
        return lambda message, path: tuple(
            item(v, f"{path}[{i}]") for i, v in enumerate(getattr(message, name))
        )
    value_reader = _value_reader(field, _strip_optional(hint))
    if field.has_presence:
        return lambda message, path: (
            value_reader(getattr(message, name), path) if message.HasField(name) else None
        )
    return lambda message, path: value_reader(getattr(message, name), path)


def _value_reader(field: FieldDescriptor, hint: Any) -> Callable[[Any, str], Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        full_name = _message_type(field).full_name
        if full_name == _TIMESTAMP:
            return timestamp_from_proto
        if full_name == _DURATION:
            return _read_duration
        if full_name in (_VALUE, _STRUCT):
            return lambda value, _path: json_format.MessageToDict(value)
        return _reader_plan(hint, _message_type(field))
    if field.type == FieldDescriptor.TYPE_ENUM:
        return functools.partial(_read_enum, hint)
    return lambda value, _path: value


def json_from_proto(value: Message) -> Any:
    """The JSON value of a google.protobuf.Value or Struct."""
    return json_format.MessageToDict(value)


def duration_from_proto(value: Any, path: str) -> timedelta:
    """A timedelta; sub-microsecond or out-of-range Durations are INVALID_ARGUMENT at `path`."""
    return _read_duration(value, path)


def timestamp_from_proto(value: Any, path: str) -> datetime:
    """An aware UTC datetime; an out-of-range Timestamp is INVALID_ARGUMENT at `path`."""
    if not MIN_TIMESTAMP_SECONDS <= value.seconds <= MAX_TIMESTAMP_SECONDS:
        raise InvalidArgumentError.single(
            path,
            f"timestamp seconds {value.seconds} are outside 0001-01-01T00:00:00Z to "
            "9999-12-31T23:59:59Z",
        )
    if not 0 <= value.nanos <= _MAX_NANOS:
        raise InvalidArgumentError.single(
            path, f"timestamp nanos {value.nanos} must be 0 to {_MAX_NANOS}"
        )
    try:
        return typing.cast(datetime, value.ToDatetime(tzinfo=UTC))
    except (ValueError, OverflowError):
        raise InvalidArgumentError.single(path, "timestamp is out of range") from None


def _read_duration(value: Any, path: str) -> timedelta:
    if abs(value.seconds) > MAX_DURATION_SECONDS:
        raise InvalidArgumentError.single(
            path,
            f"duration seconds {value.seconds} are outside -{MAX_DURATION_SECONDS} to "
            f"{MAX_DURATION_SECONDS}",
        )
    if abs(value.nanos) > _MAX_NANOS:
        raise InvalidArgumentError.single(
            path, f"duration nanos {value.nanos} must be -{_MAX_NANOS} to {_MAX_NANOS}"
        )
    if value.nanos % 1000:
        raise InvalidArgumentError.single(
            path, "durations finer than a microsecond are not supported"
        )
    if (value.seconds < 0 < value.nanos) or (value.nanos < 0 < value.seconds):
        raise InvalidArgumentError.single(path, "seconds and nanos must have the same sign")
    try:
        return typing.cast(timedelta, value.ToTimedelta())
    except (ValueError, OverflowError):
        raise InvalidArgumentError.single(path, "duration is out of range") from None


def _read_enum(enum_cls: type[enum.Enum], value: int, path: str) -> enum.Enum:
    try:
        return enum_cls(value)
    except ValueError:
        raise InvalidArgumentError.single(path, f"unknown enum value {value}") from None


# --- domain -> proto ---------------------------------------------------------------------


@functools.cache
def _writer_plan(cls: type, descriptor: Descriptor) -> _Writer:
    hints = typing.get_type_hints(cls)
    # Plain scalars (no presence, not enums) are set right here, and only when not the
    # default: setting a default is a no-op, and a call per field adds up on hot messages.
    scalars: list[str] = []
    writers: list[tuple[str, _Writer]] = []
    for field in dataclasses.fields(cls):
        proto_field = descriptor.fields_by_name.get(field.name)
        if proto_field is None:
            continue
        if _is_plain_scalar(proto_field):
            scalars.append(field.name)
        else:
            writers.append((field.name, _field_writer(proto_field, hints[field.name])))

    def write(message: Message, value: Any) -> None:
        for name in scalars:
            item = getattr(value, name)
            if item:
                setattr(message, name, item)
        for name, writer in writers:
            item = getattr(value, name)
            if item is not None:
                writer(message, item)

    return write


def _is_plain_scalar(field: FieldDescriptor) -> bool:
    return (
        field.type not in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_ENUM)
        and not field.is_repeated
        and not field.has_presence
    )


def _field_writer(field: FieldDescriptor, hint: Any) -> _Writer:
    name = field.name
    if _is_map(field):
        return lambda message, value: getattr(message, name).update(value)
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        convert: Callable[[Any], Any] = (
            _enum_number if field.type == FieldDescriptor.TYPE_ENUM else _same
        )
        if field.is_repeated and convert is _same:
            return lambda message, value: getattr(message, name).extend(value)
        if field.is_repeated:
            return lambda message, value: getattr(message, name).extend(convert(v) for v in value)
        return lambda message, value: setattr(message, name, convert(value))
    if field.is_repeated and _message_type(field).full_name == _TIMESTAMP:
        return lambda message, value: getattr(message, name).extend(
            [_timestamp(moment) for moment in value]
        )
    fill = _message_filler(
        field, typing.get_args(hint)[0] if field.is_repeated else _strip_optional(hint)
    )
    if field.is_repeated:

        def write_repeated(message: Message, value: Any) -> None:
            repeated = getattr(message, name)
            for item in value:
                fill(repeated.add(), item)

        return write_repeated

    def write_one(message: Message, value: Any) -> None:
        target = getattr(message, name)
        target.SetInParent()
        fill(target, value)

    return write_one


def _message_filler(field: FieldDescriptor, hint: Any) -> _Writer:
    full_name = _message_type(field).full_name
    if full_name == _TIMESTAMP:
        return _write_timestamp
    if full_name == _DURATION:
        return _write_duration
    if full_name in (_VALUE, _STRUCT):
        return _write_json
    return _writer_plan(hint, _message_type(field))


def _write_timestamp(target: Any, value: datetime) -> None:
    if value.tzinfo is None:
        target.FromDatetime(value)  # naive means UTC there
        return
    # What FromDatetime computes, without its time tuple: about half the cost.
    since = value - _EPOCH
    target.seconds = since.days * 86400 + since.seconds
    target.nanos = since.microseconds * 1000


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    _write_timestamp(message, value)
    return message


def _write_duration(target: Any, value: timedelta) -> None:
    target.FromTimedelta(value)


def _write_json(target: Message, value: Any) -> None:
    json_format.ParseDict(value, target)


# --- helpers -----------------------------------------------------------------------------


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and bool(
        _message_type(field).GetOptions().map_entry
    )


def _message_type(field: FieldDescriptor) -> Descriptor:
    if field.message_type is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return field.message_type


def _strip_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return members[0] if len(members) == 1 else Any
    return hint


def _enum_number(value: enum.Enum) -> Any:
    return value.value


def _same(value: Any) -> Any:
    return value
