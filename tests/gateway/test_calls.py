"""Headers to metadata, Grpc-Timeout, and statuses read from failed calls."""

import grpc
import pytest
from google.rpc import code_pb2, status_pb2

from sundial.gateway.calls import metadata_from_headers, status_of_error
from sundial.gateway.http_errors import BadRequestError


def test_forwarded_headers():
    metadata, timeout = metadata_from_headers(
        [
            ("Authorization", "Bearer t"),
            ("X-Request-Id", "r1"),
            ("Grpc-Metadata-Tenant", "acme"),
            ("grpc-metadata-Trace-Bin", "AQI"),
            ("Grpc-Metadata-Grpc-Status", "0"),
            ("Grpc-Metadata-Bad Key", "x"),
            ("Content-Type", "application/json"),
            ("X-HTTP-Method-Override", "GET"),
        ]
    )
    assert metadata == [
        ("authorization", "Bearer t"),
        ("x-request-id", "r1"),
        ("tenant", "acme"),
        ("trace-bin", b"\x01\x02"),
    ]
    assert timeout is None


def test_trace_context_headers_are_forwarded():
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    metadata, _ = metadata_from_headers(
        [("Traceparent", traceparent), ("TraceState", "vendor=1"), ("Baggage", "k=v")]
    )
    assert metadata == [("traceparent", traceparent), ("tracestate", "vendor=1")]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1H", 3600.0), ("2M", 120.0), ("10S", 10.0), ("500m", 0.5), ("250u", 0.00025), ("7n", 7e-9)],
)
def test_grpc_timeout(value, seconds):
    assert metadata_from_headers([("Grpc-Timeout", value)])[1] == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["10", "1s", "-1S", "123456789S", "S"])
def test_bad_grpc_timeout(value):
    with pytest.raises(BadRequestError, match="Grpc-Timeout"):
        metadata_from_headers([("Grpc-Timeout", value)])


class _FailedCall(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    def __init__(self, code, details, trailing=()):
        self._code, self._details, self._trailing = code, details, trailing

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailing

    def initial_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


def test_status_from_details_trailer():
    rich = status_pb2.Status(code=code_pb2.NOT_FOUND, message="gone")
    call = _FailedCall(
        grpc.StatusCode.NOT_FOUND, "gone", (("grpc-status-details-bin", rich.SerializeToString()),)
    )
    assert status_of_error(call) == rich


@pytest.mark.parametrize(
    "trailing", [(), (("grpc-status-details-bin", b"\xff\xff garbage"),)], ids=["none", "garbled"]
)
def test_status_from_code_and_message(trailing):
    call = _FailedCall(grpc.StatusCode.UNAVAILABLE, "connection refused", trailing)
    assert status_of_error(call) == status_pb2.Status(
        code=code_pb2.UNAVAILABLE, message="connection refused"
    )
