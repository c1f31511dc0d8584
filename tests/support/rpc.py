"""Reading rich gRPC errors in tests."""

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class RpcFailure:
    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    violations: dict[str, str]


def failure_of(error: grpc.RpcError) -> RpcFailure:
    """The status code, ErrorInfo reason and BadRequest field violations of a failed call."""
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    reason = domain = ""
    violations: dict[str, str] = {}
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, domain = info.reason, info.domain
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = {v.field: v.description for v in bad.field_violations}
    return RpcFailure(error.code(), error.details() or "", reason, domain, violations)
