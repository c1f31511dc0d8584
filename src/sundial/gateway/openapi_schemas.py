"""OpenAPI 3.0 schemas of protobuf messages, enums and fields as ProtoJSON writes them:
camelCase names, enums by name, OUTPUT_ONLY fields readOnly, REQUIRED fields required, and
each one described by its proto comment.

Message schemas are open (no `additionalProperties: false`) although the gateway refuses
unknown request fields: the same schema describes responses, and a client must tolerate
fields a later version adds. An update (PATCH) body refers to `<message>.Partial`
schemas, the same messages with nothing required: an update sets only the fields it
names."""

from typing import Any

from google.api import field_behavior_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor

from sundial.gateway.fields import (
    FieldDescriptor,
    enum_type_of,
    is_map,
    is_repeated,
    message_type_of,
)
from sundial.gateway.proto_comments import ProtoComments

Schema = dict[str, Any]
REF = "#/components/schemas/"
PARTIAL_SUFFIX = ".Partial"

_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
SCALARS: dict[int, Schema] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    # ProtoJSON writes 64-bit integers as strings (JavaScript numbers lose precision).
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}
WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,9})?s$",
        "example": "90s",
    },
    "google.protobuf.FieldMask": {"type": "string", "example": "spec.notes,metadata.labels"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    # Any JSON value. Numbers are doubles in ProtoJSON: exact up to 2^53.
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {
            "@type": {
                "type": "string",
                "description": "The message's type, e.g. "
                "`type.googleapis.com/google.rpc.ErrorInfo`; its fields sit beside this one.",
            }
        },
        "additionalProperties": True,
    },
}
for _name, _kind in (
    ("Double", FieldDescriptor.TYPE_DOUBLE),
    ("Float", FieldDescriptor.TYPE_FLOAT),
    ("Int64", FieldDescriptor.TYPE_INT64),
    ("UInt64", FieldDescriptor.TYPE_UINT64),
    ("Int32", FieldDescriptor.TYPE_INT32),
    ("UInt32", FieldDescriptor.TYPE_UINT32),
    ("Bool", FieldDescriptor.TYPE_BOOL),
    ("String", FieldDescriptor.TYPE_STRING),
    ("Bytes", FieldDescriptor.TYPE_BYTES),
):
    WELL_KNOWN[f"google.protobuf.{_name}Value"] = {**SCALARS[_kind], "nullable": True}


class Components:
    """components.schemas, filled as messages and enums are referenced."""

    def __init__(self, comments: ProtoComments, examples: dict[str, Any]) -> None:
        self._comments = comments
        self._examples = examples  # by schema name
        self._schemas: dict[str, Schema] = {}
        self._has_required: dict[str, bool] = {}
        self._origins: dict[str, str] = {}  # schema name -> the message it describes

    def sorted(self) -> dict[str, Schema]:
        return dict(sorted(self._schemas.items()))

    def comment(self, full_name: str) -> str:
        return self._comments(full_name)

    def ref(self, message: descriptor.Descriptor, *, partial: bool = False) -> Schema:
        """A reference to the message's schema; `partial`: the one with nothing required
        (the message itself when nothing in it is required)."""
        name = message.full_name
        if name in WELL_KNOWN:
            return dict(WELL_KNOWN[name])
        partial = partial and self._requires_something(message)
        key = name + PARTIAL_SUFFIX if partial else name
        if self._origins.setdefault(key, name) != name:
            # A message really named `<other>.Partial`, beside the partial schema of <other>.
            raise ValueError(f"{name} and {self._origins[key]} would share schema {key}")
        if key not in self._schemas:
            self._schemas[key] = {}  # placeholder: recursive messages refer to themselves
            schema = self.object_schema(list(message.fields), partial=partial)
            description = self._comments(name)
            if partial:
                description += (
                    "\n\nIn an update every field is optional: the update mask (or the "
                    "fields present) says which are changed."
                )
            self._schemas[key] = _with(schema, description=description.strip())
            if not partial and name in self._examples:
                self._schemas[key]["example"] = self._examples[name]
        return {"$ref": REF + key}

    def object_schema(self, fields: list[FieldDescriptor], *, partial: bool = False) -> Schema:
        properties = {
            f.json_name: described(
                self.field_schema(f, partial=partial), self._comments(f.full_name)
            )
            for f in fields
        }
        schema: Schema = {"type": "object", "properties": properties}
        required = [f.json_name for f in fields if has_behavior(f, field_behavior_pb2.REQUIRED)]
        if required and not partial:
            schema["required"] = required
        return schema

    def field_schema(
        self, field: FieldDescriptor, *, in_url: bool = False, partial: bool = False
    ) -> Schema:
        if is_map(field):
            value = message_type_of(field).fields_by_name["value"]
            schema: Schema = {
                "type": "object",
                "additionalProperties": self._single(value, partial=partial),
            }
        elif is_repeated(field):
            schema = {"type": "array", "items": self._single(field, partial=partial)}
        else:
            schema = self._single(field, partial=partial)
        if in_url:
            return schema
        if has_behavior(field, field_behavior_pb2.OUTPUT_ONLY):
            schema = annotated(schema, readOnly=True)
        elif has_behavior(field, field_behavior_pb2.INPUT_ONLY):
            schema = annotated(schema, writeOnly=True)
        return schema

    def _single(self, field: FieldDescriptor, *, partial: bool) -> Schema:
        if field.type == FieldDescriptor.TYPE_ENUM:
            return self._enum(enum_type_of(field))
        if field.message_type is not None:
            return self.ref(field.message_type, partial=partial)
        return dict(SCALARS[field.type])

    def _enum(self, enum: descriptor.EnumDescriptor) -> Schema:
        name = enum.full_name
        if name not in self._schemas:
            values = "\n".join(
                _item(v.name, self._comments(f"{name}.{v.name}")) for v in enum.values
            )
            description = f"{self._comments(name)}\n\n{values}".strip()
            self._schemas[name] = {
                "type": "string",
                "enum": [v.name for v in enum.values],
                "description": description,
            }
        return {"$ref": REF + name}

    def _requires_something(self, message: descriptor.Descriptor) -> bool:
        """Whether the message, or a message field in it at any depth, has a REQUIRED field."""
        name = message.full_name
        if name not in self._has_required:
            self._has_required[name] = False  # a recursive message is decided by its others
            self._has_required[name] = any(
                has_behavior(f, field_behavior_pb2.REQUIRED)
                or (
                    f.message_type is not None
                    and f.message_type.full_name not in WELL_KNOWN
                    and self._requires_something(f.message_type)
                )
                for f in message.fields
            )
        return self._has_required[name]


def described(schema: Schema, description: str) -> Schema:
    """The schema with a description, if there is one to give."""
    if not description:
        return schema
    return annotated(schema, description=description)


def annotated(schema: Schema, **keywords: Any) -> Schema:
    # OpenAPI 3.0 ignores keywords beside a $ref, so a referenced schema is wrapped.
    if "$ref" in schema:
        return {"allOf": [schema], **keywords}
    return {**schema, **keywords}


def _item(name: str, text: str) -> str:
    return f"- `{name}`: {text}" if text else f"- `{name}`"


def _with(schema: Schema, **keywords: Any) -> Schema:
    """`keywords` (those not empty) first, then the schema's own: a readable order."""
    return {**{k: v for k, v in keywords.items() if v}, **schema}


def has_behavior(field: FieldDescriptor, behavior: int) -> bool:
    options = field.GetOptions()
    return behavior in options.Extensions[field_behavior_pb2.field_behavior]
