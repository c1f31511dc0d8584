"""Retry-After on the statuses a client should retry later: from the RetryInfo the server
sent (whole seconds, rounded up), a default for UNAVAILABLE without one, none otherwise."""

from datetime import timedelta

import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from sundial.gateway.http_errors import retry_after_of


def _status(code: int, delay: timedelta | None = None) -> status_pb2.Status:
    status = status_pb2.Status(code=code)
    if delay is not None:
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromTimedelta(delay)
        packed = any_pb2.Any()
        packed.Pack(retry)
        status.details.append(packed)
    return status


CASES = [
    ("unavailable with retry info", _status(code_pb2.UNAVAILABLE, timedelta(seconds=3)), "3"),
    ("rounded up", _status(code_pb2.UNAVAILABLE, timedelta(milliseconds=1500)), "2"),
    ("at least one second", _status(code_pb2.UNAVAILABLE, timedelta(0)), "1"),
    ("unavailable without", _status(code_pb2.UNAVAILABLE), "1"),
    ("exhausted with", _status(code_pb2.RESOURCE_EXHAUSTED, timedelta(seconds=7)), "7"),
    ("exhausted without", _status(code_pb2.RESOURCE_EXHAUSTED), None),
    ("internal", _status(code_pb2.INTERNAL, timedelta(seconds=3)), None),
]


@pytest.mark.parametrize(("status", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_retry_after(status, expected):
    assert retry_after_of(status) == expected
