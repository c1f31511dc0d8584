"""An OpenAPI 3 document from the same routes the gateway serves: paths, parameters,
request and response schemas (camelCase, enums by name, OUTPUT_ONLY fields readOnly,
REQUIRED fields required) and google.rpc.Status as every error."""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from google.api import field_behavior_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor
from google.rpc import status_pb2

from sundial.gateway.fields import (
    FieldDescriptor,
    enum_type_of,
    is_leaf,
    is_map,
    is_repeated,
    message_type_of,
)
from sundial.gateway.routes import Route
from sundial.gateway.templates import DEEP, SINGLE

Schema = dict[str, Any]
_SEGMENT_PATTERNS = {SINGLE: "[^/]+", DEEP: ".*"}
_OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

TITLE = "Sundial"
ERROR_SCHEMA = status_pb2.Status.DESCRIPTOR.full_name
_REF = "#/components/schemas/"
_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
_SCALARS: dict[int, Schema] = {
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
_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,9})?s$",
        "example": "90s",
    },
    "google.protobuf.FieldMask": {"type": "string", "example": "spec.notes,metadata.labels"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
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
    _WELL_KNOWN[f"google.protobuf.{_name}Value"] = {**_SCALARS[_kind], "nullable": True}

_HEALTH = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["SERVING", "NOT_SERVING"]}},
    "required": ["status"],
}


def openapi_document(routes: Iterable[Route], *, version: str = "v1") -> dict[str, Any]:
    """The document for these routes (order-independent, so it can be committed)."""
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    ordered = sorted(routes, key=lambda r: (_openapi_path(r), r.http_method))
    for route in ordered:
        item = paths.setdefault(_openapi_path(route), {})
        method = route.http_method.lower()
        if method not in _OPENAPI_METHODS:
            # OpenAPI 3.0 knows no other methods; 3.2 calls these additionalOperations.
            item = item.setdefault("x-additional-operations", {})
            method = route.http_method
        item[method] = _operation(route, components)
    error = components.ref(status_pb2.Status.DESCRIPTOR)
    paths["/healthz"] = _health_path("Liveness", "Liveness: the process answers.", 200)
    paths["/readyz"] = _health_path(
        "Readiness", "Readiness: database reachable, migrations applied.", 503
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "version": version,
            "description": "REST/JSON mapping of Sundial's gRPC API (google.api.http). "
            "Bodies are ProtoJSON; every error is a google.rpc.Status.",
        },
        "paths": paths,
        # Every operation but the health endpoints needs `Authorization: Bearer <secret>`.
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key's secret, or a JWT from the configured issuer.",
                }
            },
            "schemas": components.sorted(),
            "responses": {
                "Error": {
                    "description": "A google.rpc.Status with its details.",
                    "content": {"application/json": {"schema": error}},
                }
            },
        },
    }


def encode_document(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def _openapi_path(route: Route) -> str:
    return route.template.openapi_path(
        {v: _json_path(route.path_fields[v]) for v in route.path_fields}
    )


def _json_path(fields: Sequence[FieldDescriptor]) -> str:
    return ".".join(f.json_name for f in fields)


def _operation(route: Route, components: "_Components") -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.method.containing_service.name],
        "summary": route.method.name,
        "x-grpc-method": route.grpc_method,
    }
    parameters = [
        {
            "name": _json_path(fields),
            "in": "path",
            "required": True,
            "schema": _path_schema(route, field_path, fields, components),
        }
        for field_path, fields in route.path_fields.items()
    ]
    if route.body != "*":
        bound = set(route.path_fields) | ({route.body} if route.body else set())
        parameters += _query_parameters(route.method.input_type, "", "", bound, components, ())
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        body_schema = _body_schema(route, components)
        operation["requestBody"] = {
            "required": bool(body_schema.get("required")) or route.body != "*",
            "content": {"application/json": {"schema": body_schema}},
        }
    operation["responses"] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": _response_schema(route, components)}},
        },
        "default": {"$ref": "#/components/responses/Error"},
    }
    return operation


def _path_schema(
    route: Route, field_path: str, fields: list[FieldDescriptor], components: "_Components"
) -> Schema:
    schema = dict(components.field_schema(fields[-1], in_url=True))
    variable = next(v for v in route.template.variables if v.field_path == field_path)
    if variable.multi_segment:
        pattern = "/".join(_SEGMENT_PATTERNS.get(s.kind, s.literal) for s in variable.segments)
        schema["description"] = (
            f"Matches {pattern}; its slashes are sent as they are, not percent-encoded."
        )
    return schema


def _query_parameters(
    message: descriptor.Descriptor,
    proto_prefix: str,
    json_prefix: str,
    bound: set[str],
    components: "_Components",
    seen: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Every field a query parameter can set: leaves by dotted camelCase name, through
    singular messages (each message type at most once on a path, so recursion ends)."""
    parameters: list[dict[str, Any]] = []
    for field in message.fields:
        proto_path = proto_prefix + field.name
        if proto_path in bound:
            continue
        name = json_prefix + field.json_name
        if is_leaf(field):
            schema = components.field_schema(field, in_url=True)
            parameter: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
            if is_repeated(field):
                parameter.update(style="form", explode=True)
            parameters.append(parameter)
        elif (
            not is_map(field)
            and not is_repeated(field)
            and message_type_of(field).full_name not in _WELL_KNOWN
            and message_type_of(field).full_name not in seen
        ):
            parameters += _query_parameters(
                message_type_of(field),
                proto_path + ".",
                name + ".",
                bound,
                components,
                (*seen, message.full_name),
            )
    return parameters


def _body_schema(route: Route, components: "_Components") -> Schema:
    request = route.method.input_type
    if route.body != "*":
        return components.field_schema(request.fields_by_name[route.body])
    # The whole request, less what the path sets.
    path_roots = {p for p in route.path_fields if "." not in p}
    fields = [f for f in request.fields if f.name not in path_roots]
    return components.object_schema(fields)


def _response_schema(route: Route, components: "_Components") -> Schema:
    response = route.method.output_type
    if route.response_body:
        return components.field_schema(response.fields_by_name[route.response_body])
    return components.ref(response)


def _health_path(name: str, summary: str, failure: int) -> dict[str, Any]:
    """GET, and HEAD (the same without a body), of a built-in health endpoint, with
    operationIds `Health_<name>` and `Health_<name>Head` (generated clients name their
    functions after them)."""
    content = {"application/json": {"schema": _HEALTH}}
    statuses = {"200": "Serving"} | ({str(failure): "Not serving"} if failure != 200 else {})
    get = {code: {"description": text, "content": content} for code, text in statuses.items()}
    head = {code: {"description": text} for code, text in statuses.items()}
    open_to_all: list[dict[str, list[str]]] = []
    return {
        "get": {
            "tags": ["Health"],
            "operationId": f"Health_{name}",
            "summary": summary,
            "responses": get,
            "security": open_to_all,
        },
        "head": {
            "tags": ["Health"],
            "operationId": f"Health_{name}Head",
            "summary": summary,
            "responses": head,
            "security": open_to_all,
        },
    }


class _Components:
    """components.schemas, filled as messages and enums are referenced."""

    def __init__(self) -> None:
        self._schemas: dict[str, Schema] = {}

    def sorted(self) -> dict[str, Schema]:
        return dict(sorted(self._schemas.items()))

    def ref(self, message: descriptor.Descriptor) -> Schema:
        name = message.full_name
        if name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[name])
        if name not in self._schemas:
            self._schemas[name] = {}  # placeholder: recursive messages refer to themselves
            self._schemas[name] = self.object_schema(list(message.fields))
        return {"$ref": _REF + name}

    def object_schema(self, fields: list[FieldDescriptor]) -> Schema:
        properties = {f.json_name: self.field_schema(f) for f in fields}
        required = [f.json_name for f in fields if _has_behavior(f, field_behavior_pb2.REQUIRED)]
        # Unknown fields are rejected (400), so objects are closed.
        schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = required
        return schema

    def field_schema(self, field: FieldDescriptor, *, in_url: bool = False) -> Schema:
        if is_map(field):
            value = message_type_of(field).fields_by_name["value"]
            schema: Schema = {"type": "object", "additionalProperties": self._single(value)}
        elif is_repeated(field):
            schema = {"type": "array", "items": self._single(field)}
        else:
            schema = self._single(field)
        if in_url:
            return schema
        if _has_behavior(field, field_behavior_pb2.OUTPUT_ONLY):
            schema = _annotated(schema, readOnly=True)
        elif _has_behavior(field, field_behavior_pb2.INPUT_ONLY):
            schema = _annotated(schema, writeOnly=True)
        return schema

    def _single(self, field: FieldDescriptor) -> Schema:
        if field.type == FieldDescriptor.TYPE_ENUM:
            return self._enum(enum_type_of(field))
        if field.message_type is not None:
            return self.ref(field.message_type)
        return dict(_SCALARS[field.type])

    def _enum(self, enum: descriptor.EnumDescriptor) -> Schema:
        name = enum.full_name
        if name not in self._schemas:
            self._schemas[name] = {"type": "string", "enum": [v.name for v in enum.values]}
        return {"$ref": _REF + name}


def _annotated(schema: Schema, **keywords: Any) -> Schema:
    # OpenAPI 3.0 ignores keywords beside a $ref, so a referenced schema is wrapped.
    if "$ref" in schema:
        return {"allOf": [schema], **keywords}
    return {**schema, **keywords}


def _has_behavior(field: FieldDescriptor, behavior: int) -> bool:
    options = field.GetOptions()
    return behavior in options.Extensions[field_behavior_pb2.field_behavior]
