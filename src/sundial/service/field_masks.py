"""AIP-134 update masks over domain dataclasses.

A path names a field by its proto name (`spec.schedule.timezone`); a map field may be
followed by one key (`metadata.labels.team`). Applying a path copies that field from the
patch into the current value; everything else stays as it was."""

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

from sundial.domain.errors import InvalidArgumentError

T = TypeVar("T")

WILDCARD = "*"


def populated_paths(value: Any, prefix: str = "") -> list[str]:
    """The paths of every leaf field that differs from its default: the implied mask of an
    Update that sends no update_mask."""
    paths: list[str] = []
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        path = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(item):
            paths.extend(populated_paths(item, path + "."))
        elif item != _default_of(field):
            paths.append(path)
    return paths


def apply_paths(current: T, patch: T, paths: Iterable[str]) -> T:
    """`current` with every field named in `paths` taken from `patch`."""
    result = current
    for path in paths:
        result = _apply(result, patch, path.split("."))
    return result


def check_paths(root: Any, paths: Iterable[str], *, ignored_prefixes: tuple[str, ...]) -> list[str]:
    """The paths that name a writable field of `root`'s type; output-only paths (those under
    `ignored_prefixes`) are dropped, as AIP-134 asks; anything else is INVALID_ARGUMENT."""
    kept: list[str] = []
    for path in paths:
        if path.startswith(ignored_prefixes) or path in {p.rstrip(".") for p in ignored_prefixes}:
            continue
        if not _names_field(root, path.split(".")):
            raise InvalidArgumentError.single("update_mask", f"unknown field path {path!r}")
        kept.append(path)
    return kept


def _names_field(node: Any, segments: list[str]) -> bool:
    """Whether `segments` name a field below `node` (a dataclass instance or class)."""
    field = next((f for f in dataclasses.fields(node) if f.name == segments[0]), None)
    if field is None:
        return False
    rest = segments[1:]
    if not rest:
        return True
    value = getattr(node, field.name) if not isinstance(node, type) else None
    child = value if dataclasses.is_dataclass(value) else _dataclass_type(field)
    if child is not None:
        return _names_field(child, rest)
    # A map field takes exactly one more segment: the key.
    return _is_map(field) and len(rest) == 1 and bool(rest[0])


def _apply(current: Any, patch: Any, segments: list[str]) -> Any:
    name, rest = segments[0], segments[1:]
    field = next(f for f in dataclasses.fields(current) if f.name == name)
    patch_value = getattr(patch, name) if patch is not None else _default_of(field)
    if not rest:
        return dataclasses.replace(current, **{name: patch_value})
    current_value = getattr(current, name)
    if dataclasses.is_dataclass(current_value):
        return dataclasses.replace(current, **{name: _apply(current_value, patch_value, rest)})
    field_type = _dataclass_type(field)
    if field_type is not None:
        return dataclasses.replace(current, **{name: _apply(field_type(), patch_value, rest)})
    # A map key: set it from the patch, or remove it when the patch does not have it.
    updated = dict(current_value)
    key = rest[0]
    if patch_value is not None and key in patch_value:
        updated[key] = patch_value[key]
    else:
        updated.pop(key, None)
    return dataclasses.replace(current, **{name: updated})


def _default_of(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"field {field.name} has no default")


def _dataclass_type(field: dataclasses.Field[Any]) -> type | None:
    if isinstance(field.type, type) and dataclasses.is_dataclass(field.type):
        return field.type
    # Optional message fields (`RetryPolicy | None`) default to None; find the class in the hint.
    for candidate in getattr(field.type, "__args__", ()):
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _is_map(field: dataclasses.Field[Any]) -> bool:
    return getattr(field.type, "__origin__", None) is dict
