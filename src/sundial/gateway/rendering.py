"""ProtoJSON out: response bodies (whole message or `response_body`) and error bodies
(google.rpc.Status with its details). camelCase names, enums by name, int64 as strings,
fields at their default value left out."""

import json
import re
from typing import Any

from google.protobuf import any_pb2, descriptor, json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from sundial.gateway.fields import descriptor_of, is_map, is_repeated, json_path
from sundial.gateway.protojson import ProtoJsonEncoder
from sundial.gateway.routes import Route

_encoder = ProtoJsonEncoder()


def encode_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def response_json(route: Route, response: Message) -> Any:
    """The JSON value the route answers with: the response, or its `response_body` field."""
    rendered = _encoder.encode(response)
    if not route.response_body:
        return rendered
    field = descriptor_of(response).fields_by_name[route.response_body]
    if field.json_name in rendered:
        return rendered[field.json_name]
    # Left out because it holds its default: answer with that default, spelled as ProtoJSON
    # (an unset message as its empty value, as grpc-gateway does).
    if is_map(field):
        return {}
    if is_repeated(field):
        return []
    if field.message_type is not None:
        return _encoder.encode(getattr(response, field.name))
    defaults = json_format.MessageToDict(response, always_print_fields_with_no_presence=True)
    return defaults.get(field.json_name)


def status_json(status: status_pb2.Status) -> Any:
    """A google.rpc.Status as ProtoJSON; details of a type this process does not know are
    dropped rather than failing the whole error."""
    try:
        return json_format.MessageToDict(status)
    except (TypeError, KeyError, json_format.SerializeToJsonError):
        known = status_pb2.Status(code=status.code, message=status.message)
        for detail in status.details:
            try:
                json_format.MessageToDict(detail)
            except (TypeError, KeyError, json_format.SerializeToJsonError):
                continue
            known.details.append(detail)
        return json_format.MessageToDict(known)


def with_json_names(status: status_pb2.Status, request: descriptor.Descriptor) -> status_pb2.Status:
    """The service's status with the field paths of its BadRequest (proto names, the gRPC
    API's) in the request's JSON names, in the violations and wherever the message or a
    description names them."""
    renames: dict[str, str] = {}
    translated = status_pb2.Status()
    translated.CopyFrom(status)
    for detail in translated.details:
        if not detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            continue
        bad_request = error_details_pb2.BadRequest()
        detail.Unpack(bad_request)
        for violation in bad_request.field_violations:
            named = json_path(request, violation.field)
            if named != violation.field:
                renames[violation.field] = named
                renames.update(_leaf_renames(violation.field, named))
                violation.field = named
        for violation in bad_request.field_violations:
            violation.description = _renamed(violation.description, renames)
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        detail.CopyFrom(packed)
    translated.message = _renamed(status.message, renames)
    return translated


def _leaf_renames(proto_path: str, named: str) -> dict[str, str]:
    """`spec.catchup_window` -> `spec.catchupWindow` also renames a lone `catchup_window`."""
    proto_leaf = proto_path.rsplit(".", 1)[-1].partition("[")[0]
    json_leaf = named.rsplit(".", 1)[-1].partition("[")[0]
    return {proto_leaf: json_leaf} if "_" in proto_leaf and proto_leaf != json_leaf else {}


def _renamed(text: str, renames: dict[str, str]) -> str:
    for old in sorted(renames, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.\]]){re.escape(old)}(?![\w])", renames[old], text)
    return text
