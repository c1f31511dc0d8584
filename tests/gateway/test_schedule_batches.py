"""BatchCreateAgentSchedules over REST (`POST .../schedules:batchCreate`), on both databases:
all or nothing with indexed violations, at most 1,000 requests, the parent rules, an
idempotent retry, the Create permission, and schedules the engine fires."""

from datetime import timedelta
from typing import Any

from google.rpc import code_pb2

from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Role
from sundial.domain.tenancy import ApiKeySpec
from sundial.server import SundialServer
from tests.gateway.conftest import Rest


def _item(name: str, every: str = "3600s", **fields: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"initialMessage": "summarize", "schedule": {"intervals": [{"every": every}]}},
        **fields,
    }


def _batch_path(rest: Rest, agent_id: str) -> str:
    return f"{rest.schedules(agent_id)}:batchCreate"


def _listed(rest: Rest) -> list[dict[str, Any]]:
    reply = rest("GET", f"/v1/workspaces/{rest.workspace}/schedules?pageSize=1000")
    assert reply.status == 200, reply.body
    return list(reply.json().get("agentSchedules", []))


def test_a_batch_creates_its_schedules_and_a_retry_returns_them(rest):
    agent_id = rest.create_agent()
    body = {"requests": [_item("a"), _item("b"), _item("c")], "requestId": "import-1"}
    reply = rest("POST", _batch_path(rest, agent_id), body)
    assert reply.status == 200, reply.body
    created = reply.json()["agentSchedules"]
    assert [s["metadata"]["name"] for s in created] == ["a", "b", "c"]
    assert all(s["info"]["agentId"] == agent_id for s in created)
    assert all(s["spec"]["status"] == "AGENT_SCHEDULE_STATUS_ACTIVE" for s in created)

    again = rest("POST", _batch_path(rest, agent_id), body)
    assert again.status == 200
    ids = [s["metadata"]["id"] for s in created]
    assert [s["metadata"]["id"] for s in again.json()["agentSchedules"]] == ids
    assert sorted(s["metadata"]["id"] for s in _listed(rest)) == sorted(ids)

    body["requests"][0]["spec"]["notes"] = "another batch"
    reused = rest("POST", _batch_path(rest, agent_id), body)
    assert reused.status == 409
    assert reused.reason == "REQUEST_ID_REUSED"
    assert len(_listed(rest)) == 3


def test_one_bad_request_is_400_naming_its_index_and_nothing_is_created(rest):
    agent_id = rest.create_agent()
    items = [_item(f"s{i}") for i in range(10)]
    items[7] = _item("zero", every="0s")
    items[2]["metadata"]["name"] = ""
    reply = rest("POST", _batch_path(rest, agent_id), {"requests": items})
    assert reply.status == 400
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert list(reply.violations) == [
        "requests[2].metadata.name",
        "requests[7].spec.schedule.intervals[0].every",
    ]
    assert _listed(rest) == []


def test_more_than_1000_requests_are_400_naming_requests(rest):
    agent_id = rest.create_agent()
    reply = rest("POST", _batch_path(rest, agent_id), {"requests": [_item("s")] * 1001})
    assert reply.status == 400
    assert list(reply.violations) == ["requests"]
    assert "at most 1000" in reply.violations["requests"]
    assert _listed(rest) == []


def test_a_request_naming_another_agent_is_400(rest):
    agent_id, other_id = rest.create_agent("one"), rest.create_agent("two")
    items = [_item("a"), _item("b", agentId=other_id)]
    reply = rest("POST", _batch_path(rest, agent_id), {"requests": items})
    assert reply.status == 400
    # The gRPC name of the field, or its JSON name where the gateway renames them.
    assert set(reply.violations) & {"requests[1].agent_id", "requests[1].agentId"}
    assert _listed(rest) == []


def test_agent_dash_takes_each_request_s_agent(rest):
    first, second = rest.create_agent("one"), rest.create_agent("two")
    items = [_item("a", agentId=first), _item("b", agentId=second)]
    reply = rest("POST", _batch_path(rest, "-"), {"requests": items})
    assert reply.status == 200, reply.body
    assert [s["info"]["agentId"] for s in reply.json()["agentSchedules"]] == [first, second]


def test_a_viewer_key_is_403(rest, rest_server: SundialServer):
    agent_id = rest.create_agent()
    viewer = rest_server.api_keys.create(
        rest_server.bootstrap.principal, MetadataInput(name="viewer"), ApiKeySpec(role=Role.VIEWER)
    )
    reply = rest(
        "POST",
        _batch_path(rest, agent_id),
        {"requests": [_item("a")]},
        authorization=f"Bearer {viewer.info.secret}",
    )
    assert reply.status == 403
    assert _listed(rest) == []


def test_the_created_schedules_fire(rest, rest_server: SundialServer):
    agent_id = rest.create_agent()
    items = [_item(f"s{i}", every="60s") for i in range(3)]
    reply = rest("POST", _batch_path(rest, agent_id), {"requests": items})
    assert reply.status == 200, reply.body
    ids = {s["metadata"]["id"] for s in reply.json()["agentSchedules"]}

    rest_server.clock.advance(timedelta(seconds=61))
    rest_server.engine.run_pass()
    objectives = rest("GET", f"{rest.agents()}/{agent_id}/objectives?pageSize=100").json()
    assert sorted(o["spec"]["scheduleId"] for o in objectives["objectives"]) == sorted(ids)
