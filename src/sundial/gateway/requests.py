"""An RPC request message from an HTTP request, by HttpRule: the body first (`*`, one
field, or none), then the path variables, then every other field from the query string."""

import difflib
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from google.protobuf import descriptor, json_format
from google.protobuf.message import Message

from sundial.domain.schedules import MAX_DATA_DEPTH
from sundial.gateway.fields import (
    FieldDescriptor,
    descriptor_of,
    is_map,
    is_repeated,
    json_path,
    resolve,
    set_from_text,
)
from sundial.gateway.http_errors import BadRequestError
from sundial.gateway.routes import Route

MAX_QUERY_PARAMETERS = 1000
# Objects and arrays nested in one body. Sundial's messages nest a few levels; JSON values
# (`spec.data`) have their own, lower limit, the one gRPC requests meet too.
MAX_JSON_DEPTH = 32
_JSON_TYPES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)


def build_request(route: Route, path_values: dict[str, str], query: str, body: bytes) -> Message:
    """The request message; a BadRequestError names what was wrong with which input, by
    the field's JSON name (the REST API's names, as its OpenAPI document gives them)."""
    request = route.request_class()
    if route.body:
        if body.strip():
            value = parse_json(body)
            if route.body == "*":
                _check_nesting(value, descriptor_of(request), "", 0)
            else:
                field = descriptor_of(request).fields_by_name[route.body]
                _check_nesting({field.json_name: value}, descriptor_of(request), "", 0)
            _merge_body(route, request, value)
    elif body.strip():
        raise BadRequestError(
            "UNEXPECTED_BODY", f"{route.http_method} {route.template.text} takes no request body"
        )
    with_body = bool(route.body) and bool(body.strip())
    for field_path, text in path_values.items():
        fields = route.path_fields[field_path]
        name = route.path_json_names[field_path]
        from_body = _value_at(request, fields) if with_body else None
        set_from_text(request, fields, text, name)
        if from_body is not None and from_body != _value_at(request, fields):
            raise BadRequestError(
                "PATH_BODY_MISMATCH",
                f"{name} is {text!r} in the URL path but {_shown(from_body)} in the body; "
                "leave it out of the body or send the same value",
                field=name,
            )
    if query:
        _merge_query(route, request, query)
    return request


def _value_at(message: Message, fields: list[FieldDescriptor]) -> object | None:
    """The value of a singular field, None while unset (proto3: at its default)."""
    for field in fields[:-1]:
        if not message.HasField(field.name):
            return None
        message = getattr(message, field.name)
    field = fields[-1]
    if field.has_presence:
        if not message.HasField(field.name):
            return None
    elif getattr(message, field.name) == field.default_value:
        return None
    value = getattr(message, field.name)
    return value.SerializeToString() if isinstance(value, Message) else value


def _shown(value: object) -> str:
    return "a different value" if isinstance(value, bytes) else repr(value)


def parse_json(body: bytes) -> Any:
    """The JSON value of a body; malformed JSON and repeated object keys are 400s."""
    try:
        # JSON on the wire is UTF-8 (RFC 8259); json.loads(bytes) would also guess UTF-16/32.
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequestError("MALFORMED_JSON", f"the body is not UTF-8: {error}") from None
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicates)
    except ValueError as error:
        raise BadRequestError("MALFORMED_JSON", f"the body is not valid JSON: {error}") from None
    except RecursionError:
        pass
    # Too deep for the parser: parse it with each container nested past MAX_JSON_DEPTH
    # emptied, so that _check_nesting can name the field it is in.
    try:
        return json.loads(_emptied_past_limit(text), object_pairs_hook=_object_without_duplicates)
    except (ValueError, RecursionError):
        raise BadRequestError(
            "NESTED_TOO_DEEP",
            f"the body nests objects and arrays deeper than {MAX_JSON_DEPTH} levels",
        ) from None


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _emptied_past_limit(text: str) -> str:
    """`text` with every container nested deeper than MAX_JSON_DEPTH replaced by `[]`."""
    kept: list[str] = []
    depth = 0
    copied = 0  # text[:copied] is dealt with
    cut_from = -1  # where the container being dropped starts
    for token in _JSON_TOKEN.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth == MAX_JSON_DEPTH + 1:
                cut_from = token.start()
        elif mark in "]}":
            if depth == MAX_JSON_DEPTH + 1 and cut_from >= 0:
                kept.append(text[copied:cut_from] + "[]")
                copied = token.end()
                cut_from = -1
            depth -= 1
    kept.append(text[copied:])
    return "".join(kept)


def _check_nesting(
    value: Any, message_type: descriptor.Descriptor | None, path: str, depth: int
) -> None:
    """Refuses a body nested deeper than MAX_JSON_DEPTH (or a JSON value field deeper than
    MAX_DATA_DEPTH), and a key that is no field, naming the field by its JSON path."""
    if depth >= MAX_JSON_DEPTH:
        raise BadRequestError(
            "NESTED_TOO_DEEP",
            f"{path or 'the body'} nests objects and arrays deeper than {MAX_JSON_DEPTH} levels",
            field=path,
        )
    if isinstance(value, list):
        for index, item in enumerate(value):
            item_path = path if message_type is None else f"{path}[{index}]"
            _check_nesting(item, message_type, item_path, depth + 1)
        return
    if not isinstance(value, dict):
        return
    if message_type is not None and message_type.full_name.startswith("google.protobuf."):
        message_type = None  # well-known types have JSON forms of their own
    for key, item in value.items():
        field = None
        if message_type is not None:
            field = message_type.fields_by_name.get(key) or next(
                (f for f in message_type.fields if f.json_name == key), None
            )
            if field is None:
                _refuse_unknown(message_type, path, key)
        if field is None:
            _check_nesting(item, None, path, depth + 1)
            continue
        child_path = _joined(path, field.json_name)
        child_type = field.message_type
        if child_type is not None and is_map(field):
            child_type = child_type.fields_by_name["value"].message_type
            if isinstance(item, dict):
                for map_key, entry in item.items():
                    entry_path = f"{child_path}[{json.dumps(map_key)}]"
                    _check_field(entry, child_type, entry_path, depth + 2)
                continue
        _check_field(item, child_type, child_path, depth + 1)


def _refuse_unknown(message_type: descriptor.Descriptor, path: str, key: str) -> None:
    # Offered in the spelling the client used: JSON names, or proto names for snake_case.
    snake = "_" in key
    names = [f.name if snake else f.json_name for f in message_type.fields]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    where = f"in {path} " if path else ""
    raise BadRequestError(
        "UNKNOWN_FIELD",
        f'unknown field "{key}" {where}({message_type.full_name} has no such field){hint}',
        field=_joined(path, key),
    )


def _check_field(
    value: Any, message_type: descriptor.Descriptor | None, path: str, depth: int
) -> None:
    if message_type is not None and message_type.full_name in _JSON_TYPES:
        if _nesting(value, MAX_DATA_DEPTH + 1) > MAX_DATA_DEPTH:
            raise BadRequestError(
                "NESTED_TOO_DEEP", f"JSON nested deeper than {MAX_DATA_DEPTH} levels", field=path
            )
        return
    _check_nesting(value, message_type, path, depth)


def _nesting(value: Any, stop: int) -> int:
    """How many objects and arrays nest in `value` (counting stops at `stop`)."""
    if stop <= 0 or not isinstance(value, (dict, list)):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_nesting(item, stop - 1) for item in items), default=0)


def _joined(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        keys = [key for key, _ in pairs]
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"key {duplicate!r} appears more than once in one object")
    return result


def _merge_body(route: Route, request: Message, value: Any) -> None:
    if route.body == "*":
        if not isinstance(value, dict):
            raise BadRequestError("MALFORMED_JSON", "the body must be a JSON object")
        target = value
    else:
        # The body is the JSON of one field; parse it as that member of the request.
        target = {descriptor_of(request).fields_by_name[route.body].json_name: value}
    try:
        json_format.ParseDict(target, request)
    except json_format.ParseError as error:
        path, problem = _parse_error_path(_first_line(error))
        raise BadRequestError(
            "INVALID_BODY", f"{path}: {problem}" if path else problem, field=path
        ) from None
    except (ValueError, TypeError, AttributeError) as error:
        raise BadRequestError(
            "INVALID_BODY", f"the body does not fit the request: {error}"
        ) from None


def _merge_query(route: Route, request: Message, query: str) -> None:
    try:
        pairs = parse_qsl(
            query, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_PARAMETERS
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequestError("INVALID_QUERY", f"the query string is malformed: {error}") from None
    if pairs and route.body == "*":
        raise BadRequestError(
            "UNEXPECTED_QUERY_PARAMETER",
            f"{route.http_method} {route.template.text} takes every field from the body; "
            f"query parameter {pairs[0][0]!r} is not allowed",
            field=pairs[0][0],
        )
    seen: set[str] = set()
    descriptor = descriptor_of(request)
    for name, text in pairs:
        fields = resolve(descriptor, name, json_names=True)
        if fields is None:
            raise BadRequestError(
                "UNKNOWN_QUERY_PARAMETER",
                f"unknown query parameter {name!r}: {descriptor.full_name} has no such field",
                field=name,
            )
        proto_path = ".".join(f.name for f in fields)
        _check_not_bound(route, proto_path, name)
        if not is_repeated(fields[-1]):
            if proto_path in seen:
                raise BadRequestError(
                    "REPEATED_QUERY_PARAMETER",
                    f"query parameter {name!r} is given more than once, but "
                    f"{json_path(descriptor, proto_path)!r} is not a repeated field",
                    field=name,
                )
            seen.add(proto_path)
        set_from_text(request, fields, text, name)


def _check_not_bound(route: Route, proto_path: str, name: str) -> None:
    for bound, where in [(p, "the URL path") for p in route.path_fields] + [
        (route.body, "the body")
    ]:
        if bound and bound != "*" and (proto_path == bound or proto_path.startswith(bound + ".")):
            raise BadRequestError(
                "UNEXPECTED_QUERY_PARAMETER",
                f"query parameter {name!r} sets "
                f"{json_path(route.method.input_type, bound)!r}, which {where} already sets",
                field=name,
            )


_PARSE_STEP = re.compile(r"Failed to parse (\S+) field: ")


def _parse_error_path(message: str) -> tuple[str, str]:
    """The field path and the problem of a json_format.ParseError's message, which nests
    `Failed to parse <name> field: ` once per level (names as the client wrote them)."""
    names: list[str] = []
    while (match := _PARSE_STEP.match(message)) is not None:
        names.append(match[1])
        message = message[match.end() :]
    return ".".join(names), message.rstrip(".") or "invalid value"


def _first_line(error: Exception) -> str:
    return str(error).split("\n", 1)[0]
