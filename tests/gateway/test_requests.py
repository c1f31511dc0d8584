"""Building the RPC request: the body first, then the path, then the query string."""

import pytest

from sundial.gateway.http_errors import BadRequestError
from sundial.gateway.requests import build_request, parse_json
from sundial.gateway.routes import Route, routes_of
from tests.gateway.feature_service import message, service


def _route(operation_id: str) -> Route:
    return next(r for r in routes_of([service()]) if r.operation_id == operation_id)


def test_body_field_path_and_query_fill_one_request():
    route = _route("FeatureService_CreateThing")
    request = build_request(route, {"parent": "shelves/s"}, "requestId=r", b'{"count": 1}')
    assert request == message(
        "CreateThingRequest", parent="shelves/s", request_id="r", thing={"count": 1}
    )


def test_the_path_wins_over_the_body():
    route = _route("FeatureService_UpdateThing")
    request = build_request(route, {"id": "t"}, "", b'{"id": "other", "count": 2}')
    assert request == message("Thing", id="t", count=2)


def test_a_blank_body_is_no_body():
    route = _route("FeatureService_UpdateThing")
    assert build_request(route, {"id": "t"}, "", b" \r\n") == message("Thing", id="t")


def test_one_field_under_two_spellings_is_given_twice():
    route = _route("FeatureService_CreateThing")
    with pytest.raises(BadRequestError, match="more than once"):
        build_request(route, {"parent": "p"}, "requestId=a&request_id=b", b"")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"a": {"b": 1, "b": 2}}', "'b' appears more than once"),
        (b"NaN", None),
        (b"", "not valid JSON"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),
    ],
    ids=["nested-duplicate", "bare-nan", "empty", "utf8-bom"],
)
def test_parse_json(body, problem):
    if problem is None:
        parse_json(body)  # Python's json accepts NaN; json_format then judges the value
        return
    with pytest.raises(BadRequestError, match=problem):
        parse_json(body)
