"""The test FeatureService of feature.proto: compiled when first needed (grpc_tools), loaded
into the default descriptor pool, and served by a plain grpcio server that echoes."""

import functools
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.api import annotations_pb2, field_behavior_pb2
from google.protobuf import (
    descriptor,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    empty_pb2,
    field_mask_pb2,
    message_factory,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from sundial.gateway import Gateway, HttpLimits

PROTO = Path(__file__).with_name("feature.proto")
SERVICE = "gatewaytest.v1.FeatureService"
# Imported for their descriptors: feature.proto depends on them.
_DEPENDENCIES = (
    annotations_pb2,
    field_behavior_pb2,
    duration_pb2,
    empty_pb2,
    field_mask_pb2,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)


@functools.cache
def service() -> descriptor.ServiceDescriptor:
    from grpc_tools import protoc

    site = next(p for p in map(Path, sys.path) if (p / "google" / "api" / "http.proto").is_file())
    well_known = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "feature.pb"
        status = protoc.main(
            [
                "protoc",
                f"-I{PROTO.parent}",
                f"-I{site}",
                f"-I{well_known}",
                "--include_imports",
                f"--descriptor_set_out={out}",
                PROTO.name,
            ]
        )
        assert status == 0, f"protoc failed on {PROTO}"
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.Default()
    for file in files.file:
        try:
            pool.FindFileByName(file.name)
        except KeyError:
            pool.AddSerializedFile(file.SerializeToString())
    return pool.FindServiceByName(SERVICE)


def message(name: str, **fields: Any) -> Message:
    """A gatewaytest.v1 message by short name."""
    service()
    full_name = f"gatewaytest.v1.{name}"
    cls = message_factory.GetMessageClass(
        descriptor_pool.Default().FindMessageTypeByName(full_name)
    )
    return cls(**fields)


def _echo(name: str) -> Any:
    def handle(request: Message, context: grpc.ServicerContext) -> Message:
        response = message("Thing")
        response.CopyFrom(request)
        response.output = name  # type: ignore[attr-defined]
        return response

    return handle


def _create(request: Any, context: grpc.ServicerContext) -> Message:
    thing = message("Thing")
    thing.CopyFrom(request.thing)
    thing.name = f"{request.parent}/things/{request.request_id or 'new'}"
    thing.output = "CreateThing"
    return thing


def _whoami(request: Message, context: grpc.ServicerContext) -> Message:
    thing = message("Thing", output="Whoami")
    for key, value in context.invocation_metadata():
        thing.labels[key] = value if isinstance(value, str) else value.hex()  # type: ignore[attr-defined]
    return thing


def _fail(request: Any, context: grpc.ServicerContext) -> Message:
    info = error_details_pb2.ErrorInfo(reason="ASKED_FOR", domain="gatewaytest")
    status = status_pb2.Status(code=request.code, message=request.message or "asked to fail")
    status.details.add().Pack(info)
    context.abort_with_status(rpc_status.to_status(status))
    raise AssertionError("abort_with_status returns only by raising")


def _sleeper(sleeping: threading.Event) -> Any:
    def sleep(request: Any, context: grpc.ServicerContext) -> Message:
        # The slow RPC whose deadline or drain a test checks; its server does the waiting.
        sleeping.set()
        try:
            time.sleep(request.duration.ToTimedelta().total_seconds())
        finally:
            sleeping.clear()
        return request  # type: ignore[no-any-return]

    return sleep


HANDLERS = {
    "GetThing": _echo("GetThing"),
    "CreateThing": _create,
    "UpdateThing": _echo("UpdateThing"),
    "ListTags": _echo("ListTags"),
    "Whoami": _whoami,
    "Fail": _fail,
    "Unbound": _echo("Unbound"),
}


@dataclass(frozen=True)
class FeatureStack:
    gateway: Gateway
    port: int  # the gateway's HTTP port
    sleeping: threading.Event  # set while this server runs a Sleep call


@contextmanager
def feature_server() -> Iterator[tuple[int, threading.Event]]:
    """A grpcio server for FeatureService on a free port; yields the port and an event set
    while it runs a Sleep call."""
    methods = service().methods_by_name
    sleeping = threading.Event()
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(
            handler,
            request_deserializer=message_factory.GetMessageClass(
                methods[name].input_type
            ).FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )
        for name, handler in {**HANDLERS, "Sleep": _sleeper(sleeping)}.items()
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port, sleeping
    finally:
        server.stop(0).wait()


@contextmanager
def feature_gateway(
    *, readiness: Any = lambda: True, limits: HttpLimits | None = None
) -> Iterator[FeatureStack]:
    """The real Gateway in front of a FeatureService server."""
    with feature_server() as (grpc_port, sleeping):
        gateway = Gateway(services=[service().full_name], readiness=readiness, limits=limits)
        http_port = gateway.start("127.0.0.1:0", grpc_target=f"127.0.0.1:{grpc_port}")
        try:
            yield FeatureStack(gateway, http_port, sleeping)
        finally:
            gateway.stop(2)


ALL_CODES = [code for code in code_pb2.Code.values() if code != code_pb2.OK]
