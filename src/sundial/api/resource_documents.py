"""ProtoJSON documents of a message, compared field by field: what `sundial apply` needs to
tell what changed between the file and the server, and to send only that in an update mask.

`canonical` reads a document the way the server would (through the message, so that
`2026-12-24T18:00:00+01:00` and `2026-12-24T17:00:00Z`, or `90s` and `90.000s`, compare
equal) and names the first unknown field by its path. `changed_fields` walks two canonical
documents of the same message by its descriptor and returns the paths (ProtoJSON names) of the
leaves that differ: scalars, repeated fields, maps and well-known types (Timestamp, Duration,
Struct) are leaves; other messages are walked into. Protobuf has no message diff of its own
(`MessageDifferencer` is C++ only), hence this walk."""

from collections.abc import Mapping
from typing import Any

from google.api import field_behavior_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from sundial.api.call_errors import RequestDocumentError

# Imported for their side effect: they register the messages in the descriptor pool.
from sundial.v1 import agent_pb2, agent_schedule_pb2, chain_pb2, metadata_pb2, webhook_pb2  # noqa: F401

_WELL_KNOWN_PREFIX = "google.protobuf."


def canonical(message_name: str, document: Mapping[str, Any], path: str) -> dict[str, Any]:
    """`document` (ProtoJSON of `message_name`, e.g. `sundial.v1.AgentScheduleSpec`, found
    at `path` of the file, e.g. `spec`) as the server would print it back: defaults left
    out, times and durations normalized. RequestDocumentError names the bad field."""
    descriptor = _descriptor(message_name)
    unknown = _unknown_field(descriptor, document, path)
    if unknown:
        raise RequestDocumentError(f"{unknown}: no such field")
    message = message_factory.GetMessageClass(descriptor)()
    try:
        json_format.ParseDict(dict(document), message)
    except json_format.ParseError as error:
        raise RequestDocumentError(f"{path}: {' '.join(str(error).split())}") from None
    return json_format.MessageToDict(message)


def changed_fields(
    message_name: str, desired: Mapping[str, Any], current: Mapping[str, Any]
) -> list[str]:
    """The ProtoJSON paths (`schedule.cronExpressions`) where two canonical documents of
    `message_name` differ; keys that are not fields of the message, and INPUT_ONLY fields
    (which a file may set on create, but the server never shows), are not compared."""
    return _changes(_descriptor(message_name), desired, current, "")


def _descriptor(message_name: str) -> Descriptor:
    try:
        return descriptor_pool.Default().FindMessageTypeByName(message_name)
    except KeyError:
        raise ValueError(f"no message {message_name!r}") from None


def _is_leaf(field: FieldDescriptor) -> bool:
    message = field.message_type
    return (
        message is None
        or field.is_repeated
        or message.full_name.startswith(_WELL_KNOWN_PREFIX)
        or message.GetOptions().map_entry
    )


def _changes(
    descriptor: Descriptor, desired: Mapping[str, Any], current: Mapping[str, Any], prefix: str
) -> list[str]:
    paths: list[str] = []
    for field in descriptor.fields:
        if _is_input_only(field):
            # The server never shows it (a PUSH agent's secret): there is nothing to compare
            # with, and a diff on every run would send it again each time.
            continue
        wanted, found = desired.get(field.json_name), current.get(field.json_name)
        if wanted == found:
            continue
        path = prefix + field.json_name
        if field.message_type is None or _is_leaf(field):
            paths.append(path)
        else:
            paths.extend(_changes(field.message_type, wanted or {}, found or {}, path + "."))
    return paths


def _is_input_only(field: FieldDescriptor) -> bool:
    behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    return field_behavior_pb2.INPUT_ONLY in behaviors


def _unknown_field(descriptor: Descriptor, value: Any, path: str) -> str:
    """The path of the first key of `value` that names no field, or "" (ParseDict reports
    wrong types; its message for an unknown field names the message type, not the path)."""
    if not isinstance(value, Mapping) or descriptor.full_name.startswith(_WELL_KNOWN_PREFIX):
        return ""
    fields = {f.json_name: f for f in descriptor.fields} | {f.name: f for f in descriptor.fields}
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        field = fields.get(key)
        if field is None:
            return where
        message = field.message_type
        if message is None or message.GetOptions().map_entry:
            continue
        if field.is_repeated:
            for index, element in enumerate(item if isinstance(item, list) else []):
                unknown = _unknown_field(message, element, f"{where}[{index}]")
                if unknown:
                    return unknown
        else:
            unknown = _unknown_field(message, item, where)
            if unknown:
                return unknown
    return ""
