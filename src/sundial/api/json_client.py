"""Calling Sundial's RPCs with ProtoJSON dicts: what the `sundial` client commands use, so
that the CLI never touches generated code or grpc (DESIGN.md section 7).

`call("AgentScheduleService.ListAgentSchedules", {"workspaceId": ...})` finds the method in
the protobuf descriptor pool, parses the dict into its request message
(google.protobuf.json_format), sends it with the API key and returns the response as a dict.
A failed call raises `ApiError`, which carries the status code's name, the message and the
field violations of the status's google.rpc.BadRequest detail."""

from collections.abc import Iterator, Mapping
from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from sundial.api.call_errors import ApiError, FieldViolation, RequestDocumentError
from sundial.api.client import authorized_channel

# Imported for their side effect: they register the services in the descriptor pool.
from sundial.v1 import (  # noqa: F401
    account_service_pb2,
    agent_schedule_service_pb2,
    agent_service_pb2,
    api_key_service_pb2,
    chain_service_pb2,
    insight_service_pb2,
    objective_service_pb2,
    webhook_service_pb2,
    workspace_service_pb2,
)

DEFAULT_TIMEOUT_SECONDS = 30.0
_PACKAGE = "sundial.v1"


class JsonClient:
    """A connection to one Sundial server; close it (or use it as a context manager)."""

    def __init__(
        self, address: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self._channel = authorized_channel(address, api_key)
        self._timeout = timeout

    def __enter__(self) -> "JsonClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def call(self, method: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """Calls `Service.Method` (e.g. `AgentService.GetAgent`) with a ProtoJSON request."""
        request_class, response_class = _message_classes(method)
        try:
            message = json_format.ParseDict(dict(request), request_class())
        except json_format.ParseError as error:
            # One line: protobuf lists the fields available on a second one.
            raise RequestDocumentError(" ".join(str(error).split())) from None
        service, _, name = method.partition(".")
        stub = self._channel.unary_unary(
            f"/{_PACKAGE}.{service}/{name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        try:
            response = stub(message, timeout=self._timeout)
        except grpc.RpcError as error:
            raise _api_error(error) from None
        return _to_dict(response)

    def pages(
        self, method: str, request: Mapping[str, Any], items: str, *, page_size: int = 0
    ) -> Iterator[dict[str, Any]]:
        """Every item (the response's `items` field) of a List method, page after page."""
        token = str(request.get("pageToken", ""))
        while True:
            page_request = {**request, "pageToken": token}
            if page_size:
                page_request["pageSize"] = page_size
            page = self.call(method, page_request)
            yield from page.get(items, [])
            token = page.get("nextPageToken", "")
            if not token:
                return


def _message_classes(method: str) -> tuple[type[Message], type[Message]]:
    service, _, name = method.partition(".")
    pool = descriptor_pool.Default()
    try:
        descriptor = pool.FindServiceByName(f"{_PACKAGE}.{service}").FindMethodByName(name)
    except KeyError:
        raise ValueError(f"no RPC {method!r} in {_PACKAGE}") from None
    if descriptor is None:
        raise ValueError(f"no RPC {method!r} in {_PACKAGE}")
    return (
        message_factory.GetMessageClass(descriptor.input_type),
        message_factory.GetMessageClass(descriptor.output_type),
    )


def _to_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def _api_error(error: grpc.RpcError) -> ApiError:
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = error.details() if isinstance(error, grpc.Call) else str(error)
    violations: list[FieldViolation] = []
    status = rpc_status.from_call(error) if isinstance(error, grpc.Call) else None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations.extend(
                    FieldViolation(v.field, v.description) for v in bad_request.field_violations
                )
    return ApiError(code.name, message or "", tuple(violations))
