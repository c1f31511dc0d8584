"""Bad input over REST answers 400 naming the field (413 for a body too large), against a
real server on both databases: never a 500 or a dropped connection."""

import base64
import json
import socket

import pytest
from google.rpc import code_pb2

from sundial.domain.schedules import MAX_DATA_DEPTH
from sundial.gateway.http_server import MAX_BODY_BYTES
from tests.gateway.client import Reply
from tests.gateway.test_rest_api import SEED_CREATE_BODY


def _create_body(**spec: object) -> dict[str, object]:
    body = json.loads(json.dumps(SEED_CREATE_BODY))
    body["spec"].update(spec)
    return body


def _refused(reply: Reply, field: str) -> str:
    assert reply.status == 400, reply.body
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert field in reply.violations, reply.violations
    return reply.violations[field]


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_spec_too_costly_to_evaluate_is_refused(rest):
    schedule = {
        "intervals": [{"every": "1s"}],
        "excludeCalendars": [
            {"hour": [{"start": 0, "end": 11}]},
            {"hour": [{"start": 12, "end": 23}]},
        ],
        "timezone": "America/New_York",
    }
    agent_id = rest.create_agent()
    reply = rest("POST", rest.schedules(agent_id), _create_body(schedule=schedule))
    assert "too costly to evaluate" in _refused(reply, "spec.schedule")
    reply = rest("POST", "/v1/schedules:preview", {"schedule": schedule})
    assert "too costly to evaluate" in _refused(reply, "schedule")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"executionTimeout": "315576000000s"}, "spec.executionTimeout"),
        ({"catchupWindow": "315576000000s"}, "spec.catchupWindow"),
        ({"retryPolicy": {"initialBackoff": "315576000000s"}}, "spec.retryPolicy.initialBackoff"),
        ({"data": _nested(MAX_DATA_DEPTH + 1)}, "spec.data"),
        ({"data": _nested(36)}, "spec.data"),
    ],
    ids=["execution-timeout", "catchup-window", "backoff", "data-21", "data-36"],
)
def test_a_spec_field_out_of_bounds_is_refused(rest, spec, field):
    agent_id = rest.create_agent()
    _refused(rest("POST", rest.schedules(agent_id), _create_body(**spec)), field)


@pytest.mark.parametrize(("name", "field"), [("data", "spec.data"), ("bogus", "spec.bogus")])
def test_json_nested_1000_deep_is_refused_naming_the_field(rest, name, field):
    agent_id = rest.create_agent()
    deep = b'{"a": ' * 1000 + b'"leaf"' + b"}" * 1000
    body = json.dumps(_create_body(**{name: "DEEP"})).encode().replace(b'"DEEP"', deep)
    reply = rest("POST", rest.schedules(agent_id), body, content_type="application/json")
    _refused(reply, field)


def test_a_body_nested_past_the_json_parser_is_refused(rest):
    agent_id = rest.create_agent()
    body = b'{"spec": {"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    reply = rest("POST", rest.schedules(agent_id), body, content_type="application/json")
    assert reply.status == 400, reply.body
    assert reply.reason == "NESTED_TOO_DEEP"


NUL = "a\x00b"


def test_nul_characters_are_refused_naming_the_field(rest):
    agent_id = rest.create_agent()
    schedules = rest.schedules(agent_id)
    body = _create_body(data={"note": [NUL]})
    _refused(rest("POST", schedules, body), "spec.data")
    _refused(rest("POST", schedules, {**_create_body(), "requestId": NUL}), "requestId")
    _refused(rest("GET", f"{schedules}/sch%00x"), "scheduleId")
    _refused(rest("GET", f"{schedules}?filter=metadata.name%3D%22a%00%22"), "filter")
    _refused(rest("GET", f"{schedules}?pageToken=a%00"), "pageToken")
    _refused(rest("POST", f"{schedules}/sch_x:pause", {"reason": NUL}), "reason")


@pytest.mark.parametrize(
    "token",
    [
        base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode(),
        base64.urlsafe_b64encode(b'{"v": 1, "after": "\\udc00", "q": "x"}').decode(),
    ],
    ids=["deep-list", "lone-surrogate"],
)
def test_a_forged_page_token_is_refused(rest, token):
    agent_id = rest.create_agent()
    _refused(rest("GET", f"{rest.schedules(agent_id)}?pageToken={token}"), "pageToken")


@pytest.mark.parametrize("zone", ["posixrules", "Factory", "localtime", "right/UTC"])
def test_files_of_the_zoneinfo_directory_are_not_zones(rest, zone):
    body = {"schedule": {"cronExpressions": ["0 9 * * *"], "timezone": zone}}
    _refused(rest("POST", "/v1/schedules:preview", body), "schedule.timezone")


def test_preview_from_year_one_returns_the_first_representable_fires(rest):
    body = {
        "schedule": {
            "cronExpressions": ["0 9 * * *"],
            "at": ["2030-01-01T00:00:00Z"],
            "timezone": "America/New_York",
        },
        "startTime": "0001-01-01T00:00:00Z",
        "count": 2,
    }
    reply = rest("POST", "/v1/schedules:preview", body)
    assert reply.status == 200, reply.body
    # 09:00 in New York's local mean time (UTC-4:56:02).
    assert reply.json()["nominalTimes"] == ["0002-01-01T13:56:02Z", "0002-01-02T13:56:02Z"]


def test_a_body_over_4_mb_is_answered_413_with_a_status(rest):
    agent_id = rest.create_agent()
    body = json.dumps(_create_body(notes="x" * (MAX_BODY_BYTES + 1))).encode()
    head = (
        f"POST {rest.schedules(agent_id)} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {_authorization()}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", rest.port), timeout=30) as connection:
        connection.sendall(head + body)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    reply = b"".join(chunks)
    status_line, _, rest_of_reply = reply.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413 "), reply[:200]
    status = json.loads(rest_of_reply.partition(b"\r\n\r\n")[2])
    assert status["code"] == code_pb2.INVALID_ARGUMENT
    assert str(MAX_BODY_BYTES) in status["message"]


def _authorization() -> str:
    from tests.support.auth import AUTHORIZATION

    return AUTHORIZATION
