"""AIP-158 pagination and AIP-160 filters on ListAgentSchedules."""

import base64

import grpc
import pytest

from sundial.v1 import agent_schedule_service_pb2
from tests.api.schedule_requests import create_request
from tests.support.rpc import failure_of

pb = agent_schedule_service_pb2


@pytest.fixture
def seven(schedules, workspace_id, agent):
    return [
        schedules.CreateAgentSchedule(
            create_request(
                workspace_id,
                agent.metadata.id,
                f"s{i}",
                labels={"parity": "even" if i % 2 == 0 else "odd"},
            )
        ).metadata.id
        for i in range(7)
    ]


def _list(schedules, workspace_id, **kwargs):
    kwargs.setdefault("agent_id", "-")
    return schedules.ListAgentSchedules(
        pb.ListAgentSchedulesRequest(workspace_id=workspace_id, **kwargs)
    )


def test_pages_cover_everything_once_in_creation_order(schedules, workspace_id, seven):
    seen, token, pages = [], "", 0
    while True:
        page = _list(schedules, workspace_id, page_size=3, page_token=token)
        seen += [s.metadata.id for s in page.agent_schedules]
        pages += 1
        token = page.next_page_token
        if not token:
            break
        assert len(page.agent_schedules) == 3
    assert seen == seven
    assert pages == 3


def test_an_exactly_full_last_page_has_no_token(schedules, workspace_id, seven):
    first = _list(schedules, workspace_id, page_size=4)
    last = _list(schedules, workspace_id, page_size=3, page_token=first.next_page_token)
    assert len(last.agent_schedules) == 3
    assert last.next_page_token == ""


def test_descending_order(schedules, workspace_id, seven):
    page = _list(schedules, workspace_id, page_size=5, order_by="created_at desc")
    following = _list(
        schedules,
        workspace_id,
        page_size=5,
        order_by="created_at desc",
        page_token=page.next_page_token,
    )
    assert [s.metadata.id for s in page.agent_schedules] + [
        s.metadata.id for s in following.agent_schedules
    ] == seven[::-1]


def test_page_token_is_opaque_and_bound_to_its_query(schedules, workspace_id, seven):
    token = _list(schedules, workspace_id, page_size=2).next_page_token
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert not decoded.strip().isdigit()

    for bad in ("not-a-token", base64.urlsafe_b64encode(b"2").decode(), token[:-3]):
        with pytest.raises(grpc.RpcError) as caught:
            _list(schedules, workspace_id, page_token=bad)
        assert failure_of(caught.value).violations.keys() == {"page_token"}
    with pytest.raises(grpc.RpcError) as caught:
        _list(schedules, workspace_id, page_token=token, filter="labels.parity = odd")
    assert failure_of(caught.value).violations.keys() == {"page_token"}


def test_page_size_bounds(schedules, workspace_id, agent, seven):
    with pytest.raises(grpc.RpcError) as caught:
        _list(schedules, workspace_id, page_size=-1)
    failure = failure_of(caught.value)
    assert (failure.code, set(failure.violations)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        {"page_size"},
    )

    huge = _list(schedules, workspace_id, page_size=5000)
    assert len(huge.agent_schedules) == 7
    assert huge.next_page_token == ""

    for i in range(50 - 7 + 1):
        schedules.CreateAgentSchedule(create_request(workspace_id, agent.metadata.id, f"more{i}"))
    default = _list(schedules, workspace_id)
    assert len(default.agent_schedules) == 50
    assert default.next_page_token
    rest = _list(schedules, workspace_id, page_size=1000, page_token=default.next_page_token)
    assert len(rest.agent_schedules) == 1


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("labels.parity = even", ["s0", "s2", "s4", "s6"]),
        ('labels.parity != "even"', ["s1", "s3", "s5"]),
        ('name = "s3"', ["s3"]),
        ("status = ACTIVE AND labels.parity = odd", ["s1", "s3", "s5"]),
        ("status = AGENT_SCHEDULE_STATUS_PAUSED", []),
        ("labels.missing = x", []),
    ],
    ids=["label-eq", "label-ne", "name", "and", "full-enum-name", "missing-label"],
)
def test_filters(schedules, workspace_id, seven, filter_text, expected):
    page = _list(schedules, workspace_id, filter=filter_text)
    assert [s.metadata.name for s in page.agent_schedules] == expected


@pytest.mark.parametrize(
    "filter_text",
    ["colour = red", "name =", "status = SLEEPING", "name = a OR name = b", 'name = "unterminated'],
    ids=["unknown-field", "no-value", "bad-status", "or", "unterminated-string"],
)
def test_bad_filters_are_invalid(schedules, workspace_id, filter_text):
    with pytest.raises(grpc.RpcError) as caught:
        _list(schedules, workspace_id, filter=filter_text)
    assert failure_of(caught.value).violations.keys() == {"filter"}


def test_bad_order_by_is_invalid(schedules, workspace_id):
    with pytest.raises(grpc.RpcError) as caught:
        _list(schedules, workspace_id, order_by="name")
    assert failure_of(caught.value).violations.keys() == {"order_by"}
