"""gRPC server reflection in both protocol versions, v1 and v1alpha.

grpcio-reflection serves only `grpc.reflection.v1alpha`; grpcurl, `buf curl
--reflect-protocol grpc-v1` and other current clients ask for `grpc.reflection.v1` first.
v1 is v1alpha renamed: the same messages, field for field, so the same bytes on the wire.
So v1 here is grpcio-reflection's own servicer under v1's method name, reading and writing
the v1alpha message classes, rather than a second implementation."""

from collections.abc import Iterable

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

SERVICE_NAME_V1ALPHA = reflection.SERVICE_NAME
SERVICE_NAME_V1 = "grpc.reflection.v1.ServerReflection"


def enable_reflection(service_names: Iterable[str], server: grpc.Server) -> None:
    """Reflection of `service_names` (and of reflection itself) on `server`, both versions.
    Only v1alpha is listed among the services: v1's descriptor is not in the pool, so a
    client could list it but not describe it."""
    servicer = reflection.ReflectionServicer((*service_names, SERVICE_NAME_V1ALPHA))
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE_NAME_V1, {"ServerReflectionInfo": v1}),)
    )
