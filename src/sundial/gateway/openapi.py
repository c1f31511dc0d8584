"""An OpenAPI 3 document from the same routes the gateway serves: paths, parameters,
request and response schemas (openapi_schemas), every operation, message and field
described by its proto comment (proto_comments), and google.rpc.Status as every error,
with the HTTP statuses the gateway answers (http_errors' mapping).

Written here rather than by a protoc plugin (gnostic's protoc-gen-openapi, grpc-gateway's
protoc-gen-openapiv2: Go programs): it is built from the very Route objects the gateway
routes by, so it describes what is served (query parameters, error statuses, update
bodies) and cannot drift from it."""

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import descriptor
from google.rpc import status_pb2

from sundial.gateway.fields import (
    FieldDescriptor,
    is_leaf,
    is_map,
    is_repeated,
    message_type_of,
)
from sundial.gateway.openapi_examples import REQUEST_EXAMPLES, SCHEMA_EXAMPLES
from sundial.gateway.openapi_schemas import WELL_KNOWN, Components, Schema, described
from sundial.gateway.proto_comments import ProtoComments, bundled_comments
from sundial.gateway.routes import Route
from sundial.gateway.templates import DEEP, SINGLE

_SEGMENT_PATTERNS = {SINGLE: "[^/]+", DEEP: ".*"}
_OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

TITLE = "Sundial"
ERROR_SCHEMA = status_pb2.Status.DESCRIPTOR.full_name
HEALTH_TAG = "Health"
_ETAG_FIELD = "etag"
_DESCRIPTION = """\
The REST/JSON mapping of Sundial's gRPC API (google.api.http), served by `sundial serve`
beside gRPC. Bodies are ProtoJSON: camelCase names (proto names are accepted too), enums
by name, 64-bit integers as strings, Timestamps in RFC 3339, Durations like `"90s"`,
FieldMasks like `"spec.notes,metadata.labels"`; fields at their default value are left out.
Numbers in `google.protobuf.Value` fields are doubles: exact up to 2^53.

A request with a field the API does not know is refused (400). Responses may gain fields
in later versions: clients must ignore fields they do not know.

Every error is a `google.rpc.Status` (`code`, `message`, `details` such as
`google.rpc.ErrorInfo` and `google.rpc.BadRequest`), with the HTTP status grpc-gateway
maps its code to. Every response to an RPC carries `X-Request-Id`; quote it when
reporting a problem."""
_SERVERS = [
    {"url": "/", "description": "The server this document was fetched from."},
    {"url": "http://127.0.0.1:8080", "description": "`sundial serve` with its default address."},
]

# Error responses (components.responses), by HTTP status: what each status means here.
_ERRORS: dict[str, tuple[str, str]] = {
    "400": (
        "BadRequest",
        "INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE: malformed JSON or query, "
        "a value that breaks a rule (a `google.rpc.BadRequest` detail names each field), or "
        "a resource whose state does not allow the call.",
    ),
    "401": (
        "Unauthenticated",
        "UNAUTHENTICATED: no credential, one that is not valid, or more than one. "
        "`WWW-Authenticate` says how to authenticate.",
    ),
    "403": ("PermissionDenied", "PERMISSION_DENIED: the caller's role does not allow this call."),
    "404": ("NotFound", "NOT_FOUND: a resource the call names does not exist."),
    "409": (
        "Conflict",
        "ALREADY_EXISTS or ABORTED: the resource exists already, its `etag` is not the one "
        "sent, or a concurrent change won.",
    ),
    "412": (
        "PreconditionFailed",
        "ABORTED: `If-Match` does not name the resource's current ETag.",
    ),
    "429": (
        "TooManyRequests",
        "RESOURCE_EXHAUSTED: too many failed authentications from this client, or a limit "
        "reached. `Retry-After` says when to try again.",
    ),
    "500": (
        "InternalError",
        "UNKNOWN, INTERNAL or DATA_LOSS: a fault in the server; the message quotes a "
        "request id to report.",
    ),
    "503": (
        "Unavailable",
        "UNAVAILABLE: the server is shutting down or cannot reach its database. "
        "`Retry-After` says when to try again.",
    ),
    "504": ("DeadlineExceeded", "DEADLINE_EXCEEDED: the call's deadline (`Grpc-Timeout`) passed."),
    "default": (
        "OtherError",
        "Any other error, as a google.rpc.Status: 405 (with `Allow`) for a method the path "
        "does not take, 499 CANCELLED, 501 UNIMPLEMENTED.",
    ),
}
_ERROR_HEADERS = {"401": "WWW-Authenticate", "429": "Retry-After", "503": "Retry-After"}
_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The resource's `metadata.etag` as an entity tag; send it back in "
        "`If-Match` to change or delete only that version.",
        "schema": {"type": "string", "example": '"a1b2c3"'},
    },
    "Retry-After": {
        "description": "Whole seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": 'The challenge, `Bearer realm="sundial"` (with `error="invalid_token"` '
        "when a credential was sent and refused).",
        "schema": {"type": "string"},
    },
}
_CONTENT_TOO_LARGE = {
    "description": "The body is over 4 MiB. The HTTP server answers it before any RPC, "
    "not always with a JSON body.",
}
_HEALTH = {
    "type": "object",
    "description": "The state of the process, as the health endpoints answer it.",
    "properties": {
        "status": {
            "type": "string",
            "enum": ["SERVING", "NOT_SERVING"],
            "description": "SERVING, or NOT_SERVING (the response's status is then 503).",
        }
    },
    "required": ["status"],
}


def openapi_document(
    routes: Iterable[Route], *, version: str = "v1", comments: ProtoComments | None = None
) -> dict[str, Any]:
    """The document for these routes (order-independent, so it can be committed). Its
    descriptions come from `comments`, by default those of the bundled protos."""
    components = Components(
        comments if comments is not None else bundled_comments(), SCHEMA_EXAMPLES
    )
    paths: dict[str, dict[str, Any]] = {}
    services: dict[str, descriptor.ServiceDescriptor] = {}
    ordered = sorted(routes, key=lambda r: (_openapi_path(r), r.http_method))
    for route in ordered:
        services[route.method.containing_service.name] = route.method.containing_service
        item = paths.setdefault(_openapi_path(route), {})
        method = route.http_method.lower()
        if method not in _OPENAPI_METHODS:
            # OpenAPI 3.0 knows no other methods; 3.2 calls these additionalOperations.
            item = item.setdefault("x-additional-operations", {})
            method = route.http_method
        item[method] = _operation(route, components)
    components.ref(status_pb2.Status.DESCRIPTOR)
    paths["/healthz"] = _health_path("Liveness", "Liveness: the process answers", 200)
    paths["/readyz"] = _health_path(
        "Readiness", "Readiness: database reachable, migrations applied", 503
    )
    tags = [
        {"name": name, "description": components.comment(service.full_name) or name}
        for name, service in sorted(services.items())
    ]
    tags.append({"name": HEALTH_TAG, "description": "Liveness and readiness, open to all."})
    return {
        "openapi": "3.0.3",
        "info": {"title": TITLE, "version": version, "description": _DESCRIPTION},
        "servers": _SERVERS,
        "tags": tags,
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
            "responses": _error_responses(),
            "headers": _HEADERS,
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


def _operation(route: Route, components: Components) -> dict[str, Any]:
    comment = components.comment(route.method.full_name)
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.method.containing_service.name],
        "summary": summary_of(comment) or route.method.name,
        "description": comment or route.method.name,
        "x-grpc-method": route.grpc_method,
    }
    parameters = [
        _parameter(
            fields[-1],
            _json_path(fields),
            "path",
            _path_schema(route, field_path, fields, components),
            components,
        )
        for field_path, fields in route.path_fields.items()
    ]
    if route.body != "*":
        bound = set(route.path_fields) | ({route.body} if route.body else set())
        parameters += _query_parameters(route.method.input_type, "", "", bound, components, ())
    if_match = _takes_etag(route.method.input_type)
    if if_match:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "description": "The resource's ETag (as a GET answered it): the call fails "
                "with 412 unless it is still the current one. Instead of `etag` in the "
                "request.",
                "schema": {"type": "string"},
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = _request_body(route, components)
    ok: dict[str, Any] = {
        "description": components.comment(route.method.output_type.full_name) or "OK",
        "content": {"application/json": {"schema": _response_schema(route, components)}},
    }
    if not route.response_body and _carries_etag(route.method.output_type):
        ok["headers"] = {"ETag": {"$ref": "#/components/headers/ETag"}}
    operation["responses"] = {"200": ok} | _errors_of(route, if_match=if_match)
    return operation


def summary_of(comment: str) -> str:
    """The first sentence of a comment, on one line and without its period."""
    text = " ".join(comment.split("\n\n", maxsplit=1)[0].split())
    for end in re.finditer(r"\.(\s|$)", text):
        if not re.search(r"\b(e\.g|i\.e|etc)$", text[: end.start()]):
            return text[: end.start()]
    return text


def _parameter(
    field: FieldDescriptor, name: str, where: str, schema: Schema, components: Components
) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": where}
    if where == "path":
        parameter["required"] = True
    description = components.comment(field.full_name)
    extra = schema.pop("description", "")
    parameter["description"] = "\n\n".join(d for d in (description, extra) if d) or name
    parameter["schema"] = schema
    return parameter


def _path_schema(
    route: Route, field_path: str, fields: list[FieldDescriptor], components: Components
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
    components: Components,
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
            parameter = _parameter(field, name, "query", schema, components)
            if is_repeated(field):
                parameter.update(style="form", explode=True)
            parameters.append(parameter)
        elif (
            not is_map(field)
            and not is_repeated(field)
            and message_type_of(field).full_name not in WELL_KNOWN
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


def _request_body(route: Route, components: Components) -> dict[str, Any]:
    request = route.method.input_type
    # An update sets what it names: nothing a create requires is required in it.
    partial = route.http_method == "PATCH"
    if route.body != "*":
        field = request.fields_by_name[route.body]
        schema = components.field_schema(field, partial=partial)
        description = components.comment(field.full_name)
    else:
        # The whole request, less what the path sets.
        path_roots = {p for p in route.path_fields if "." not in p}
        fields = [f for f in request.fields if f.name not in path_roots]
        schema = components.object_schema(fields, partial=partial)
        # Only requests take this schema, and they may not carry unknown fields.
        schema["additionalProperties"] = False
        description = components.comment(request.full_name)
    media: dict[str, Any] = {"schema": schema}
    if route.operation_id in REQUEST_EXAMPLES:
        media["examples"] = REQUEST_EXAMPLES[route.operation_id]
    body: dict[str, Any] = {
        "required": bool(schema.get("required")) or route.body != "*",
        "content": {"application/json": media},
    }
    return described(body, description)


def _response_schema(route: Route, components: Components) -> Schema:
    response = route.method.output_type
    if route.response_body:
        return components.field_schema(response.fields_by_name[route.response_body])
    return components.ref(response)


def _errors_of(route: Route, *, if_match: bool) -> dict[str, Any]:
    """The error responses of an operation: those any call can meet, 409 for calls that
    change something, 412 with If-Match, 413 with a body."""
    statuses = ["400", "401", "403", "404", "429", "500", "503", "504", "default"]
    if route.http_method != "GET":
        statuses.append("409")
    if if_match:
        statuses.append("412")
    errors: dict[str, Any] = {
        status: {"$ref": f"#/components/responses/{_ERRORS[status][0]}"} for status in statuses
    }
    if route.body:
        errors["413"] = _CONTENT_TOO_LARGE
    return dict(sorted(errors.items(), key=lambda item: (item[0] == "default", item[0])))


def _error_responses() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, (name, description) in _ERRORS.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
            },
        }
        if status in _ERROR_HEADERS:
            header = _ERROR_HEADERS[status]
            response["headers"] = {header: {"$ref": f"#/components/headers/{header}"}}
        responses[name] = response
    return dict(sorted(responses.items()))


def _takes_etag(request: descriptor.Descriptor) -> bool:
    """Whether If-Match can stand for the request's `etag` (the gateway fills it in)."""
    field = request.fields_by_name.get(_ETAG_FIELD)
    return (
        field is not None and field.type == FieldDescriptor.TYPE_STRING and not is_repeated(field)
    )


def _carries_etag(response: descriptor.Descriptor) -> bool:
    """Whether the response is a resource whose `metadata.etag` the ETag header names."""
    metadata = response.fields_by_name.get("metadata")
    return (
        metadata is not None
        and metadata.message_type is not None
        and _ETAG_FIELD in metadata.message_type.fields_by_name
    )


def _health_path(name: str, summary: str, failure: int) -> dict[str, Any]:
    """GET, and HEAD (the same without a body), of a built-in health endpoint, with
    operationIds `Health_<name>` and `Health_<name>Head` (generated clients name their
    functions after them)."""
    content = {"application/json": {"schema": _HEALTH}}
    statuses = {"200": "Serving"} | ({str(failure): "Not serving"} if failure != 200 else {})
    get = {code: {"description": text, "content": content} for code, text in statuses.items()}
    head = {code: {"description": text} for code, text in statuses.items()}
    open_to_all: list[dict[str, list[str]]] = []
    description = f"{summary}. Needs no credential; not an RPC (no google.rpc.Status)."
    return {
        "get": {
            "tags": [HEALTH_TAG],
            "operationId": f"Health_{name}",
            "summary": summary,
            "description": description,
            "responses": get,
            "security": open_to_all,
        },
        "head": {
            "tags": [HEALTH_TAG],
            "operationId": f"Health_{name}Head",
            "summary": f"{summary} (no body)",
            "description": description,
            "responses": head,
            "security": open_to_all,
        },
    }
