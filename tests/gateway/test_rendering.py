"""Response and error bodies."""

from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from sundial.gateway.rendering import encode_json, status_json


def test_status_keeps_known_details_and_drops_unknown_ones():
    status = status_pb2.Status(code=5, message="gone")
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason="GONE", domain="sundial.dev"))
    status.details.append(
        any_pb2.Any(type_url="type.googleapis.com/no.such.Type", value=b"\x08\x01")
    )
    assert status_json(status) == {
        "code": 5,
        "message": "gone",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "GONE",
                "domain": "sundial.dev",
            }
        ],
    }


def test_json_is_compact_utf8():
    assert encode_json({"name": "café", "n": [1, 2]}) == '{"name":"café","n":[1,2]}'.encode()
