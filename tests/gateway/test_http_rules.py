"""Every HttpRule feature over real HTTP: the Gateway in front of the echoing FeatureService
(feature.proto), called with http.client."""

import base64
from collections.abc import Iterator

import pytest
from google.rpc import code_pb2

from sundial.gateway.http_errors import HTTP_STATUS_OF_CODE
from tests.gateway.client import call
from tests.gateway.feature_service import ALL_CODES, feature_gateway

NEW_YEAR, EPOCH = "2026-01-01T00:00:00Z", "1970-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with feature_gateway() as stack:
        yield stack.port


# Path templates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/things/t1", {"id": "t1", "output": "GetThing"}),
        ("/v1/things/a%2Fb%20c", {"id": "a/b c", "output": "GetThing"}),
        ("/v1/shelves/s1/things/t1", {"name": "shelves/s1/things/t1", "output": "GetThing"}),
        # A multi-segment variable keeps an encoded slash encoded (http.proto).
        ("/v1/shelves/s%201/things/t%2F1", {"name": "shelves/s 1/things/t%2F1"}),
        ("/v1/kinds/k1/things/k2", {"nested": {"label": "k1", "child": {"label": "k2"}}}),
        ("/v1/files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("/v1/files/x/deep/er:stat", {"id": "x"}),
    ],
    ids=[
        "single",
        "single-decoded",
        "multi-segment",
        "multi-segment-encoded-slash",
        "nested",
        "deep-wildcard",
        "deep-wildcard-with-verb",
    ],
)
def test_path_variables(port, path, expected):
    reply = call(port, "GET", path)
    assert reply.status == 200, reply.body
    assert reply.json().items() >= expected.items()


@pytest.mark.parametrize(
    "path",
    ["/v1/things", "/v1/shelves/s1/things/t1/more", "/v1/things//tags", "/nowhere", "/v1/things/"],
)
def test_unmatched_paths_are_404(port, path):
    reply = call(port, "GET", path)
    assert reply.status == 404
    assert reply.json()["code"] == code_pb2.NOT_FOUND
    assert reply.reason == "ROUTE_NOT_FOUND"


def test_other_method_on_a_known_path_is_405_with_allow(port):
    reply = call(port, "DELETE", "/v1/things/t1")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, PATCH, PUT"


def test_a_custom_method_path_is_not_a_resource_id(port):
    # `t1:fail` could be read as id "t1:fail" of GET /v1/things/{id}; the verb wins.
    reply = call(port, "GET", "/v1/codes/5:fail")
    assert reply.status == 405
    assert reply.headers["allow"] == "POST"


def test_custom_http_method(port):
    reply = call(port, "SEARCH", "/v1/whoami")
    assert reply.status == 200
    assert reply.json()["output"] == "Whoami"


def test_unannotated_method_gets_the_unbound_route(port):
    reply = call(port, "POST", "/gatewaytest.v1.FeatureService/Unbound", {"id": "u"})
    assert reply.json() == {"id": "u", "output": "Unbound"}


# Bodies ------------------------------------------------------------------------------------


def test_body_star_fills_the_request_with_the_path(port):
    reply = call(port, "PATCH", "/v1/things/t1", {"id": "t1", "count": 3, "tags": ["a"]})
    assert reply.json() == {"id": "t1", "count": 3, "tags": ["a"], "output": "UpdateThing"}


def test_an_id_in_the_body_other_than_the_paths_is_400(port):
    reply = call(port, "PATCH", "/v1/things/t1", {"id": "t2", "count": 3})
    assert reply.status == 400
    assert reply.reason == "PATH_BODY_MISMATCH"
    assert "'t1' in the URL path but 't2' in the body" in reply.violations["id"]


def test_additional_binding_with_its_own_method(port):
    reply = call(port, "PUT", "/v1/things/t1", {"count": 4})
    assert reply.json() == {"id": "t1", "count": 4, "output": "UpdateThing"}


def test_body_field_takes_the_body_and_the_rest_comes_from_path_and_query(port):
    reply = call(port, "POST", "/v1/shelves/s1/things?requestId=r1", {"count": 2})
    assert reply.json() == {"name": "shelves/s1/things/r1", "count": 2, "output": "CreateThing"}


def test_empty_body_is_an_empty_message(port):
    reply = call(port, "POST", "/v1/shelves/s1/things")
    assert reply.json() == {"name": "shelves/s1/things/new", "output": "CreateThing"}


def test_proto_names_and_json_names_are_both_accepted_in_the_body(port):
    body = {"bigWrapper": "5", "signed_big": -7, "by_number": {"3": {"depth": 1}}}
    reply = call(port, "PATCH", "/v1/things/t1", body)
    assert reply.json() == {
        "id": "t1",
        "bigWrapper": "5",
        "signedBig": "-7",
        "byNumber": {"3": {"depth": 1}},
        "output": "UpdateThing",
    }


@pytest.mark.parametrize(
    ("body", "reason", "message_part"),
    [
        (b'{"count": 1', "MALFORMED_JSON", "not valid JSON"),
        (b"\xff\xfe", "MALFORMED_JSON", "not UTF-8"),
        (b"[1, 2]", "MALFORMED_JSON", "must be a JSON object"),
        (b'{"count": 1, "count": 2}', "MALFORMED_JSON", "'count' appears more than once"),
        (b'{"cuont": 1}', "UNKNOWN_FIELD", 'unknown field "cuont"'),
        (b'{"count": "many"}', "INVALID_BODY", "count"),
        (b'{"color": "COLOR_PURPLE"}', "INVALID_BODY", "COLOR_PURPLE"),
        (b'{"when": "yesterday"}', "INVALID_BODY", "when"),
    ],
    ids=[
        "truncated",
        "not-utf8",
        "not-object",
        "duplicate-key",
        "unknown-field",
        "wrong-type",
        "unknown-enum",
        "bad-timestamp",
    ],
)
def test_bad_bodies_are_400_with_a_clear_message(port, body, reason, message_part):
    reply = call(port, "PATCH", "/v1/things/t1", body, {"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert reply.reason == reason
    assert message_part in reply.json()["message"]


def test_a_body_on_a_route_without_body_is_400(port):
    reply = call(port, "GET", "/v1/things/t1", {"count": 1})
    assert reply.status == 400
    assert reply.reason == "UNEXPECTED_BODY"


# Query parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("count=7&flag=true", {"count": 7, "flag": True}),
        ("flag=1", {"flag": True}),
        ("flag=False", {}),
        (
            "big=9007199254740993&ubig=18446744073709551615",
            {"big": "9007199254740993", "ubig": "18446744073709551615"},
        ),
        ("signedBig=-5&fixed=4", {"signedBig": "-5", "fixed": 4}),
        ("ratio=0.25&small=1.5", {"ratio": 0.25, "small": 1.5}),
        ("ratio=NaN", {"ratio": "NaN"}),
        ("blob=aGk_", {"blob": base64.b64encode(b"hi?").decode()}),
        ("color=COLOR_RED", {"color": "COLOR_RED"}),
        ("color=2", {"color": "COLOR_GREEN"}),
        ("tags=a&tags=b", {"tags": ["a", "b"]}),
        ("colors=COLOR_RED&colors=2", {"colors": ["COLOR_RED", "COLOR_GREEN"]}),
        ("numbers=1&numbers=-2", {"numbers": [1, -2]}),
        ("when=2026-03-02T12:00:00.5%2B01:00", {"when": "2026-03-02T11:00:00.500Z"}),
        ("wait=90s", {"wait": "90s"}),
        ("wait=0.5s", {"wait": "0.500s"}),
        ("mask=nested.label,byNumber", {"mask": "nested.label,byNumber"}),
        ("mask=nested.label,by_number", {"mask": "nested.label,byNumber"}),
        ("maybe=0", {"maybe": 0}),
        ("maybeFlag=false", {"maybeFlag": False}),
        ("bigWrapper=12", {"bigWrapper": "12"}),
        ("big_wrapper=12", {"bigWrapper": "12"}),
        ("opt=0", {"opt": 0}),
        ("nested.label=x&nested.child.depth=2", {"nested": {"label": "x", "child": {"depth": 2}}}),
        ("nested.child.label=y", {"nested": {"child": {"label": "y"}}}),
        (
            "times=2026-01-01T00:00:00Z&times=2026-01-02T00:00:00Z",
            {"times": ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]},
        ),
        ("name=a+b%26c", {"name": "a b&c"}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_query_parameters(port, query, expected):
    reply = call(port, "GET", f"/v1/things/t1?{query}")
    assert reply.status == 200, reply.body
    assert reply.json() == {"id": "t1", "output": "GetThing", **expected}


@pytest.mark.parametrize(
    ("query", "reason", "field"),
    [
        ("count=1&count=2", "REPEATED_QUERY_PARAMETER", "count"),
        ("count=1&count=1", "REPEATED_QUERY_PARAMETER", "count"),
        ("bigWrapper=1&big_wrapper=2", "REPEATED_QUERY_PARAMETER", "big_wrapper"),
        ("cuont=1", "UNKNOWN_QUERY_PARAMETER", "cuont"),
        ("nested.lable=1", "UNKNOWN_QUERY_PARAMETER", "nested.lable"),
        ("count=many", "INVALID_FIELD_VALUE", "count"),
        ("count=99999999999", "INVALID_FIELD_VALUE", "count"),
        ("flag=yes", "INVALID_FIELD_VALUE", "flag"),
        ("color=COLOR_PURPLE", "INVALID_FIELD_VALUE", "color"),
        ("color=9", "INVALID_FIELD_VALUE", "color"),
        ("when=yesterday", "INVALID_FIELD_VALUE", "when"),
        ("wait=90", "INVALID_FIELD_VALUE", "wait"),
        ("blob=%21%21", "INVALID_FIELD_VALUE", "blob"),
        ("labels=x", "INVALID_FIELD_PATH", "labels"),
        ("nested=x", "INVALID_FIELD_PATH", "nested"),
        ("extra=x", "INVALID_FIELD_PATH", "extra"),
        ("children.label=x", "INVALID_FIELD_PATH", "children.label"),
        ("id=other", "UNEXPECTED_QUERY_PARAMETER", "id"),
    ],
    ids=lambda value: value if isinstance(value, str) and "=" in value else "",
)
def test_bad_query_parameters_are_400_naming_the_parameter(port, query, reason, field):
    reply = call(port, "GET", f"/v1/things/t1?{query}")
    assert reply.status == 400, reply.body
    assert reply.reason == reason
    assert field in reply.violations
    assert field in reply.json()["message"]


def test_query_parameters_cannot_set_the_body_field(port):
    reply = call(port, "POST", "/v1/shelves/s1/things?thing.count=1", {})
    assert reply.status == 400
    assert reply.reason == "UNEXPECTED_QUERY_PARAMETER"


def test_body_star_takes_no_query_parameters(port):
    reply = call(port, "PATCH", "/v1/things/t1?count=1", {})
    assert reply.status == 400
    assert reply.reason == "UNEXPECTED_QUERY_PARAMETER"


def test_malformed_query_string_is_400(port):
    reply = call(port, "GET", "/v1/things/t1?name=%ff")
    assert reply.status == 400
    assert reply.reason == "INVALID_QUERY"


# response_body -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/things/t1/tags?tags=a&tags=b", ["a", "b"]),
        ("/v1/things/t1/tags", []),
        ("/v1/things/t1/labels", {}),
        ("/v1/things/t1/count?count=3", 3),
        ("/v1/things/t1/count", 0),
        ("/v1/things/t1/nested?nested.label=n", {"label": "n"}),
        ("/v1/things/t1/nested", {}),
    ],
    ids=[
        "repeated",
        "repeated-empty",
        "map-empty",
        "scalar",
        "scalar-default",
        "message",
        "message-unset",
    ],
)
def test_response_body_answers_with_one_field(port, path, expected):
    reply = call(port, "GET", path)
    assert reply.status == 200
    assert reply.json() == expected


# Headers and metadata ----------------------------------------------------------------------


def test_authorization_and_grpc_metadata_headers_become_metadata(port):
    reply = call(
        port,
        "SEARCH",
        "/v1/whoami",
        headers={
            "Authorization": "Bearer token-1",
            "Grpc-Metadata-Tenant": "acme",
            "Grpc-Metadata-Trace-Bin": base64.b64encode(b"\x01\x02").decode(),
            "X-Request-Id": "trace-9",
            "Grpc-Metadata-Grpc-Timeout": "1S",  # reserved: not passed on
            "X-Other": "not forwarded",
        },
    )
    labels = reply.json()["labels"]
    assert labels["authorization"] == "Bearer token-1"
    assert labels["tenant"] == "acme"
    assert labels["trace-bin"] == "0102"
    assert labels["x-request-id"] == "trace-9"
    assert "x-other" not in labels
    assert "grpc-timeout" not in labels


def test_bad_binary_metadata_is_400(port):
    reply = call(port, "SEARCH", "/v1/whoami", headers={"Grpc-Metadata-Trace-Bin": "!!"})
    assert reply.status == 400
    assert reply.reason == "INVALID_HEADER"


def test_method_override_headers_are_ignored(port):
    reply = call(port, "POST", "/v1/things/t1", headers={"X-HTTP-Method-Override": "GET"})
    assert reply.status == 405


# Status mapping ----------------------------------------------------------------------------

EXPECTED_HTTP_STATUS = {
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
    code_pb2.UNAUTHENTICATED: 401,
}


def test_the_table_covers_every_code():
    assert set(EXPECTED_HTTP_STATUS) == set(ALL_CODES)
    assert {code: HTTP_STATUS_OF_CODE[code] for code in ALL_CODES} == EXPECTED_HTTP_STATUS


@pytest.mark.parametrize("code", ALL_CODES, ids=code_pb2.Code.Name)
def test_status_code_becomes_http_status_with_the_status_as_body(port, code):
    reply = call(port, "POST", f"/v1/codes/{code}:fail", {"message": "it broke"})
    assert reply.status == EXPECTED_HTTP_STATUS[code]
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {
        "code": code,
        "message": "it broke",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ASKED_FOR",
                "domain": "gatewaytest",
            }
        ],
    }


def test_grpc_timeout_header_sets_the_deadline(port):
    reply = call(port, "POST", "/v1/sleep", {"duration": "5s"}, {"Grpc-Timeout": "100m"})
    assert reply.status == 504
    assert reply.json()["code"] == code_pb2.DEADLINE_EXCEEDED


def test_malformed_grpc_timeout_is_400(port):
    reply = call(port, "POST", "/v1/sleep", {}, {"Grpc-Timeout": "soon"})
    assert reply.status == 400
    assert reply.reason == "INVALID_HEADER"
