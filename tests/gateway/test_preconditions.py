"""ETag and If-Match over real HTTP: resources answer with their etag quoted, If-Match on
PATCH, DELETE and the custom methods that take an etag is checked by the service (412 on a
mismatch, where the body's etag alone stays 409), weak tags never match, `*` only asks that
the resource exist, and an If-Match that differs from the body's etag is a 400."""

import pytest

from sundial.gateway.http_errors import GatewayError
from sundial.gateway.preconditions import ANY, etag_header, if_match
from tests.gateway.test_rest_api import _create_schedule


def _agent(rest) -> tuple[str, str]:
    """A new agent's path and ETag header."""
    reply = rest("POST", rest.agents(), {"metadata": {"name": "tagged"}})
    assert reply.status == 200, reply.body
    return f"{rest.agents()}/{reply.json()['metadata']['id']}", reply.headers["etag"]


def test_a_resource_answers_with_its_etag_quoted(rest):
    path, etag = _agent(rest)
    got = rest("GET", path)
    assert got.headers["etag"] == etag == f'"{got.json()["metadata"]["etag"]}"'
    listed = rest("GET", rest.agents())
    assert "etag" not in listed.headers  # a list is no one resource


def test_patch_with_the_current_etag_succeeds_and_answers_the_new_one(rest):
    path, etag = _agent(rest)
    updated = rest("PATCH", path, {"spec": {"description": "new"}}, if_match=etag)
    assert updated.status == 200, updated.body
    assert updated.headers["etag"] != etag
    assert updated.headers["etag"] == f'"{updated.json()["metadata"]["etag"]}"'


def test_patch_and_delete_with_a_stale_etag_are_412(rest):
    path, etag = _agent(rest)
    assert rest("PATCH", path, {"spec": {"description": "new"}}).status == 200
    stale = rest("PATCH", path, {"spec": {"description": "again"}}, if_match=etag)
    assert stale.status == 412, stale.body
    assert stale.reason == "ETAG_MISMATCH"
    assert rest("DELETE", path, if_match=etag).status == 412
    assert rest("GET", path).status == 200


def test_the_body_etag_alone_stays_409(rest):
    path, etag = _agent(rest)
    assert rest("PATCH", path, {"spec": {"description": "new"}}).status == 200
    stale = rest("PATCH", path, {"spec": {"description": "x"}, "etag": etag.strip('"')})
    assert stale.status == 409
    assert stale.reason == "ETAG_MISMATCH"


def test_delete_with_the_current_etag_deletes(rest):
    path, etag = _agent(rest)
    assert rest("DELETE", path, if_match=etag).status == 200
    assert rest("GET", path).status == 404


def test_custom_methods_that_take_an_etag_check_if_match(rest):
    agent_id = rest.create_agent()
    created = _create_schedule(rest, agent_id)
    path = f"{rest.schedules(agent_id)}/{created['metadata']['id']}"
    etag = rest("GET", path).headers["etag"]
    paused = rest("POST", f"{path}:pause", {}, if_match=etag)
    assert paused.status == 200, paused.body
    assert rest("POST", f"{path}:resume", if_match=etag).status == 412
    assert rest("POST", f"{path}:resume", if_match=paused.headers["etag"]).status == 200


def test_a_weak_etag_never_matches(rest):
    path, etag = _agent(rest)
    reply = rest("PATCH", path, {"spec": {"description": "new"}}, if_match=f"W/{etag}")
    assert reply.status == 412
    assert "weak" in reply.json()["message"]
    assert rest("GET", path).json()["spec"].get("description") is None


def test_if_match_star_asks_only_that_the_resource_exist(rest):
    path, _ = _agent(rest)
    assert rest("PATCH", path, {"spec": {"description": "new"}}, if_match="*").status == 200
    assert rest("DELETE", path, if_match="*").status == 200
    assert rest("DELETE", path, if_match="*").status == 404


def test_if_match_star_with_a_stale_body_etag_stays_409(rest):
    path, etag = _agent(rest)
    assert rest("PATCH", path, {"spec": {"description": "new"}}).status == 200
    stale = rest("PATCH", path, {"spec": {}, "etag": etag.strip('"')}, if_match="*")
    assert stale.status == 409
    assert stale.reason == "ETAG_MISMATCH"


def test_if_match_and_a_different_body_etag_are_400_naming_both(rest):
    path, etag = _agent(rest)
    reply = rest("PATCH", path, {"etag": "other", "spec": {}}, if_match=etag)
    assert reply.status == 400
    assert reply.reason == "ETAG_CONFLICT"
    assert etag in reply.json()["message"]
    assert "'other'" in reply.json()["message"]
    same = rest("PATCH", path, {"etag": etag.strip('"'), "spec": {}}, if_match=etag)
    assert same.status == 200, same.body


def test_if_match_on_a_get_is_checked_against_the_answer(rest):
    path, etag = _agent(rest)
    assert rest("GET", path, if_match=etag).status == 200
    assert rest("GET", path, if_match='"stale"').status == 412


def test_if_match_where_nothing_can_check_it_is_400(rest):
    agent_id = rest.create_agent()
    created = _create_schedule(rest, agent_id)
    path = f"{rest.schedules(agent_id)}/{created['metadata']['id']}"
    reply = rest("POST", f"{path}:trigger", {}, if_match='"x"')
    assert reply.status == 400
    assert reply.reason == "IF_MATCH_NOT_SUPPORTED"


@pytest.mark.parametrize("value", ["abc", '"a", "b"', '"a" "b"', 'W/"a", "b"', '"a'], ids=str)
def test_a_malformed_if_match_is_400(rest, value):
    path, _ = _agent(rest)
    reply = rest("PATCH", path, {"spec": {}}, if_match=value)
    assert reply.status == 400, reply.body
    assert reply.reason == "INVALID_IF_MATCH"


# Units --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([("If-Match", "*")], ANY),
        ([("If-Match", ' "abc" ')], "abc"),
        ([("if-match", '"a,b"')], "a,b"),
        ([("If-Match", '""')], ""),
    ],
    ids=["absent", "any", "spaces", "comma-inside", "empty-tag"],
)
def test_if_match(headers, expected):
    assert if_match(headers) == expected


def test_a_weak_tag_is_412_before_any_call():
    with pytest.raises(GatewayError) as refused:
        if_match([("If-Match", 'W/"abc"')])
    assert refused.value.http_status == 412


@pytest.mark.parametrize(
    ("etag", "header"), [("abc", '"abc"'), ("", None), ('a"b', None), ("a b", None)], ids=repr
)
def test_etag_header(etag, header):
    assert etag_header(etag) == header
