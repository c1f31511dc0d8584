"""Domain dataclasses to JSON and back, driven by their type hints.

Specs are stored as one JSON document each, so a new spec field needs no migration:
documents written before it existed decode with the field's default."""

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")

_Decoder = Callable[[Any], Any]


def to_json(value: Any) -> Any:
    """A JSON-ready form of a domain value (dataclass, enum, datetime, timedelta, ...)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    names = _field_names(value.__class__)
    if names is not None:
        return {name: to_json(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, timedelta):
        # Whole microseconds: exact, unlike float seconds.
        return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    raise TypeError(f"cannot encode {type(value).__name__} {value!r} as JSON")


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names, None for other types (once per class: dataclasses.fields
    costs more than encoding a small value)."""
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(field.name for field in dataclasses.fields(cls))


def from_json(cls: type[T], data: Any) -> T:
    """The domain value of type `cls` that `to_json` encoded as `data`."""
    return typing.cast(T, _decoder(typing.cast(Any, cls))(data))


@functools.cache
def _decoder(hint: Any) -> _Decoder:
    if hint is Any:
        return _identity
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        inner = _decoder(members[0]) if len(members) == 1 else _identity
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        return lambda data: tuple(item(x) for x in data or ())
    if origin is dict:
        value = _decoder(typing.get_args(hint)[1])
        return lambda data: {k: value(v) for k, v in (data or {}).items()}
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return _dataclass_decoder(hint)
        if issubclass(hint, enum.Enum):
            enum_cls = hint
            return lambda data: enum_cls[data]
        if hint is datetime:
            return datetime.fromisoformat
        if hint is timedelta:
            return lambda data: timedelta(microseconds=data)
        if hint in (int, float, str, bool):
            return hint
    raise TypeError(f"no JSON decoder for {hint!r}")


def _dataclass_decoder(cls: type) -> _Decoder:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls)]

    def decode(data: Any) -> Any:
        if data is None:
            return None
        return cls(**{name: dec(data[name]) for name, dec in fields if name in data})

    return decode


def _identity(data: Any) -> Any:
    return data
