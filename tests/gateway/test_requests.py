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


def test_a_path_id_and_another_in_the_body_are_refused_naming_the_field():
    route = _route("FeatureService_UpdateThing")
    with pytest.raises(BadRequestError, match="'t' in the URL path but 'other' in the body") as e:
        build_request(route, {"id": "t"}, "", b'{"id": "other", "count": 2}')
    assert (e.value.reason, e.value.field) == ("PATH_BODY_MISMATCH", "id")


def test_the_same_id_in_the_path_and_the_body_is_fine():
    route = _route("FeatureService_UpdateThing")
    request = build_request(route, {"id": "t"}, "", b'{"id": "t", "count": 2}')
    assert request == message("Thing", id="t", count=2)


@pytest.mark.parametrize(
    ("body", "field", "message_part"),
    [
        (b'{"cuont": 1}', "cuont", 'did you mean "count"'),
        (b'{"byNumber": {"3": {"dpeth": 1}}}', 'byNumber["3"].dpeth', 'did you mean "depth"'),
        (b'{"signed_bgi": 1}', "signed_bgi", 'did you mean "signed_big"'),
        (b'{"signedBgi": 1}', "signedBgi", 'did you mean "signedBig"'),
        (b'{"count": "many"}', "count", "count: "),
        (b'{"signed_big": "x"}', "signed_big", "signed_big: "),
    ],
    ids=[
        "top-level",
        "in-a-map-value",
        "snake-case-hint",
        "camel-case-hint",
        "wrong-type",
        "proto-name-as-written",
    ],
)
def test_a_bad_body_field_is_named_by_its_json_path(body, field, message_part):
    route = _route("FeatureService_UpdateThing")
    with pytest.raises(BadRequestError) as error:
        build_request(route, {"id": "t"}, "", body)
    assert error.value.field == field
    assert message_part in error.value.message


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
