"""Sundial's REST API over real HTTP, against a real server on SQLite and PostgreSQL: seed
001's wire contract, the standard and custom methods, errors, and proof that REST calls
pass through the gRPC interceptors."""

import http.client
import json
import logging
from pathlib import Path

from google.protobuf import json_format
from google.rpc import code_pb2

from sundial.v1 import agent_schedule_pb2
from tests.support.auth import AUTHORIZATION

SEED_EXAMPLE = Path(__file__).parents[1] / "fixtures" / "seed_001_agent_schedule.json"
SEED = json.loads(SEED_EXAMPLE.read_text())
# Fields Sundial adds to seed 001's resource (DESIGN.md, "then ours").
OUR_METADATA = {"updatedAt", "etag"}
OUR_INFO = {
    "agentId",
    "missedFires",
    "skippedFires",
    "futureFireTimes",
    "recentFires",
    "runningObjectiveIds",
    "consecutiveFailureCount",
    "lastObjectiveStatus",
    "remainingFires",
    "description",
}
OUR_PROFILE_METADATA = {"createdAt"}

# Seed 001's create example with the rule seed 001 requires added.
SEED_CREATE_BODY = {
    "metadata": {
        "name": "name",
        "bundleKey": "bundleKey",
        "externalId": "externalId",
        "labels": {"foo": "string"},
    },
    "spec": {
        "initialMessage": "initialMessage",
        "schedule": {
            "calendars": [
                {
                    "comment": "weekdays at nine",
                    "dayOfWeek": [{"start": 1, "end": 5}],
                    "hour": [{"start": 9}],
                    "minute": [{"start": 0}],
                }
            ],
            "intervals": [{"every": "5400s", "offset": "60s"}],
            "timezone": "America/New_York",
        },
        "data": {"ticket": 42, "tags": ["a", "b"]},
        "overlapPolicy": "OVERLAP_POLICY_ALLOW",
        "status": "AGENT_SCHEDULE_STATUS_UNSPECIFIED",
    },
}


def _create_schedule(rest, agent_id, **overrides):
    body = json.loads(json.dumps(SEED_CREATE_BODY))
    body["metadata"].update(overrides.pop("metadata", {}))
    body.update(overrides)
    reply = rest("POST", rest.schedules(agent_id), body)
    assert reply.status == 200, reply.body
    return reply.json()


def test_seed_001_create_answers_with_seed_001_names(rest):
    agent_id = rest.create_agent()
    created = _create_schedule(rest, agent_id)

    assert set(created) == {"metadata", "spec", "info"}
    assert set(created["metadata"]) == set(SEED["metadata"]) | OUR_METADATA
    for key, value in SEED_CREATE_BODY["metadata"].items():
        assert created["metadata"][key] == value
    # The spec comes back as sent (in ProtoJSON, `"start": 0` is left out), with the status
    # seed 001 says it defaults to.
    sent = dict(SEED_CREATE_BODY["spec"], status="AGENT_SCHEDULE_STATUS_ACTIVE")
    expected_spec = json_format.MessageToDict(
        json_format.ParseDict(sent, agent_schedule_pb2.AgentScheduleSpec())
    )
    assert created["spec"] == expected_spec
    assert set(created["spec"]) == set(SEED_CREATE_BODY["spec"])
    assert set(created["spec"]["schedule"]) == set(SEED["spec"]["schedule"])
    assert set(created["info"]) - OUR_INFO <= set(SEED["info"])
    assert {"createdBy", "nextFireAt"} <= set(created["info"])
    created_by = created["info"]["createdBy"]
    assert set(created_by["metadata"]) <= set(SEED["info"]["createdBy"]["metadata"]) | (
        OUR_PROFILE_METADATA
    )
    assert set(created_by["spec"]) <= set(SEED["info"]["createdBy"]["spec"])
    assert created_by["spec"]["type"] == "PROFILE_TYPE_API_KEY"  # the bootstrap admin key

    schedule_id = created["metadata"]["id"]
    fetched = rest("GET", f"{rest.schedules(agent_id)}/{schedule_id}")
    assert fetched.status == 200
    assert fetched.json() == created


def test_proto_field_names_are_accepted_in_bodies(rest):
    reply = rest("POST", rest.agents(), {"metadata": {"name": "snake", "external_id": "e-1"}})
    assert reply.status == 200
    assert reply.json()["metadata"]["externalId"] == "e-1"


def test_list_with_query_parameters_and_the_additional_binding(rest):
    first, second = rest.create_agent("first"), rest.create_agent("second")
    a = _create_schedule(rest, first, metadata={"name": "a", "labels": {"team": "x"}})
    b = _create_schedule(rest, first, metadata={"name": "b", "labels": {"team": "y"}})
    c = _create_schedule(rest, second, metadata={"name": "c", "labels": {"team": "x"}})

    page = rest("GET", f"{rest.schedules(first)}?pageSize=1").json()
    assert [s["metadata"]["id"] for s in page["agentSchedules"]] == [a["metadata"]["id"]]
    rest_of = rest("GET", f"{rest.schedules(first)}?page_size=1&pageToken={page['nextPageToken']}")
    assert [s["metadata"]["id"] for s in rest_of.json()["agentSchedules"]] == [b["metadata"]["id"]]

    everywhere = rest("GET", f"/v1/workspaces/{rest.workspace}/schedules?filter=labels.team%3Dx")
    assert [s["metadata"]["id"] for s in everywhere.json()["agentSchedules"]] == [
        a["metadata"]["id"],
        c["metadata"]["id"],
    ]
    newest_first = rest("GET", f"{rest.schedules('-')}?orderBy=created_at%20desc")
    assert [s["metadata"]["name"] for s in newest_first.json()["agentSchedules"]] == ["c", "b", "a"]


def test_update_with_mask_then_etag_mismatch_is_409(rest):
    agent_id = rest.create_agent()
    created = _create_schedule(rest, agent_id)
    path = f"{rest.schedules(agent_id)}/{created['metadata']['id']}"

    updated = rest(
        "PATCH",
        path,
        {
            "spec": {"notes": "hello"},
            "updateMask": "spec.notes",
            "etag": created["metadata"]["etag"],
        },
    )
    assert updated.status == 200, updated.body
    assert updated.json()["spec"]["notes"] == "hello"

    stale = rest("PATCH", path, {"spec": {"notes": "again"}, "etag": created["metadata"]["etag"]})
    assert stale.status == 409
    assert stale.json()["code"] == code_pb2.ABORTED
    assert stale.reason == "ETAG_MISMATCH"


def test_custom_methods_with_and_without_body(rest):
    agent_id = rest.create_agent()
    created = _create_schedule(rest, agent_id)
    path = f"{rest.schedules(agent_id)}/{created['metadata']['id']}"

    paused = rest("POST", f"{path}:pause", {"reason": "maintenance"}).json()
    assert paused["spec"]["status"] == "AGENT_SCHEDULE_STATUS_PAUSED"
    assert paused["spec"]["notes"] == "maintenance"
    assert "nextFireAt" not in paused["info"]
    resumed = rest("POST", f"{path}:resume")  # no body at all, as `curl -X POST` sends
    assert resumed.json()["spec"]["status"] == "AGENT_SCHEDULE_STATUS_ACTIVE"
    archived = rest("POST", f"{path}%3Aarchive", {})  # the colon percent-encoded
    assert archived.json()["spec"]["status"] == "AGENT_SCHEDULE_STATUS_ARCHIVED"


def test_delete_answers_empty_then_get_is_404(rest):
    agent_id = rest.create_agent()
    created = _create_schedule(rest, agent_id)
    path = f"{rest.schedules(agent_id)}/{created['metadata']['id']}"

    deleted = rest("DELETE", path)
    assert (deleted.status, deleted.json()) == (200, {})
    gone = rest("GET", path)
    assert gone.status == 404
    assert gone.json()["code"] == code_pb2.NOT_FOUND
    assert gone.reason == "SCHEDULE_NOT_FOUND"


def test_preview_schedule(rest):
    reply = rest(
        "POST",
        "/v1/schedules:preview",
        {
            "schedule": {"cronExpressions": ["0 9 * * *"]},
            "startTime": "2026-03-02T12:00:00Z",
            "count": 2,
        },
    )
    assert reply.json()["fireTimes"] == ["2026-03-03T09:00:00Z", "2026-03-04T09:00:00Z"]


def test_parse_schedule(rest):
    reply = rest(
        "POST",
        "/v1/schedules:parse",
        {
            "text": "every weekday at 9am",
            "timezone": "Berlin",
            "referenceTime": "2026-03-27T12:00:00Z",
        },
    )
    assert reply.status == 200
    body = reply.json()
    assert body["method"] == "PARSE_METHOD_GRAMMAR"
    assert body["confidence"] == 1.0
    assert body["description"] == "at 09:00 on Monday through Friday, in Europe/Berlin"
    preview = rest(
        "POST",
        "/v1/schedules:preview",
        {"schedule": body["schedule"], "startTime": "2026-03-27T12:00:00Z", "count": 2},
    )
    # Friday 09:00 CET has passed; Monday is 09:00 CEST, after Sunday's change.
    assert preview.json()["fireTimes"] == ["2026-03-30T07:00:00Z", "2026-03-31T07:00:00Z"]
    assert preview.json()["description"] == body["description"]


def test_parse_schedule_text_it_cannot_read_is_400_naming_text(rest):
    reply = rest("POST", "/v1/schedules:parse", {"text": "every weekday at 9 on mars"})
    assert reply.status == 400
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert '"on mars" at character 20' in reply.violations["text"]


def test_validation_error_is_400_naming_the_field(rest):
    agent_id = rest.create_agent()
    body = json.loads(json.dumps(SEED_CREATE_BODY))
    body["spec"]["schedule"]["calendars"][0]["hour"] = [{"start": 25}]
    reply = rest("POST", rest.schedules(agent_id), body)
    assert reply.status == 400
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert "spec.schedule.calendars[0].hour[0].start" in reply.violations
    assert reply.json()["details"][0]["domain"] == "sundial.dev"


def test_request_id_reuse_is_409(rest):
    agent_id = rest.create_agent()
    _create_schedule(rest, agent_id, requestId="key-1")
    again = rest("POST", rest.schedules(agent_id), {**SEED_CREATE_BODY, "requestId": "key-1"})
    assert again.status == 200  # same request: the original resource
    other = json.loads(json.dumps(SEED_CREATE_BODY))
    other["metadata"]["name"] = "different"
    reused = rest("POST", rest.schedules(agent_id), {**other, "requestId": "key-1"})
    assert reused.status == 409
    assert reused.json()["code"] == code_pb2.ALREADY_EXISTS


def test_failed_precondition_is_400(rest):
    agent_id = rest.create_agent()
    _create_schedule(rest, agent_id)
    reply = rest("DELETE", f"{rest.agents()}/{agent_id}")
    assert reply.status == 400
    assert reply.json()["code"] == code_pb2.FAILED_PRECONDITION
    assert rest("DELETE", f"{rest.agents()}/{agent_id}?force=true").status == 200


def test_expired_deadline_is_504(rest):
    reply = rest("GET", rest.agents(), Grpc_Timeout="1n")
    assert reply.status == 504
    assert reply.json()["code"] == code_pb2.DEADLINE_EXCEEDED


# The interceptor chain ---------------------------------------------------------------------


def test_rest_calls_pass_through_the_request_id_and_logging_interceptors(rest, caplog):
    caplog.set_level(logging.DEBUG, logger="sundial.rpc")
    reply = rest("GET", rest.agents(), X_Request_Id="trace-123")
    assert reply.status == 200
    # RequestIdInterceptor echoed our id as response metadata, which REST returns as headers.
    assert reply.headers["x-request-id"] == "trace-123"
    assert reply.headers["grpc-metadata-x-request-id"] == "trace-123"
    # LoggingInterceptor wrote its line for the call.
    lines = [r for r in caplog.records if getattr(r, "request_id", "") == "trace-123"]
    assert [(r.method, r.code) for r in lines] == [("/sundial.v1.AgentService/ListAgents", "OK")]

    generated = rest("GET", rest.agents())
    assert generated.headers["x-request-id"].startswith("req_")


def test_unexpected_exception_is_500_with_request_id_and_no_trace(
    rest_server, rest, monkeypatch, caplog
):
    def explode(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(rest_server.agents, "list_agents", explode)
    reply = rest("GET", rest.agents(), X_Request_Id="trace-boom")
    assert reply.status == 500
    body = reply.json()
    assert body["code"] == code_pb2.INTERNAL
    assert "trace-boom" in body["message"]
    assert "hunter2" not in reply.body.decode()
    assert "Traceback" not in reply.body.decode()
    assert "hunter2" in caplog.text  # ErrorMappingInterceptor logged it instead


# Health and the document -------------------------------------------------------------------


def test_health_and_readiness(rest):
    assert rest("GET", "/healthz").json() == {"status": "SERVING"}
    ready = rest("GET", "/readyz")
    assert (ready.status, ready.json()) == (200, {"status": "SERVING"})


def test_openapi_document_is_served(rest_server, rest):
    reply = rest("GET", "/openapi.json")
    assert reply.status == 200
    document = reply.json()
    assert document["openapi"].startswith("3.")
    operations = {
        op["operationId"]
        for path in document["paths"].values()
        for op in path.values()
        if "operationId" in op
    }
    assert "AgentScheduleService_CreateAgentSchedule" in operations
    assert "/v1/workspaces/{workspaceId}/agents/{agentId}/schedules" in document["paths"]


def test_a_401_challenges_with_bearer_and_says_when_the_token_was_refused(rest):
    missing = rest("GET", rest.agents(), authorization="")
    assert missing.status == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="sundial"'
    refused = rest("GET", rest.agents(), authorization="Bearer sdl_not_a_key_of_anyone_here")
    assert refused.status == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="sundial", error="invalid_token"'
    assert "www-authenticate" not in rest("GET", rest.agents()).headers


def test_whole_numbers_in_data_come_back_as_written(rest):
    agent_id = rest.create_agent()
    created = _create_schedule(
        rest, agent_id, spec={**SEED_CREATE_BODY["spec"], "data": {"ticket": 42, "ratio": 0.25}}
    )
    path = f"{rest.schedules(agent_id)}/{created['metadata']['id']}"
    data = rest("GET", path).json()["spec"]["data"]  # json reads `42` as int, `42.0` as float
    assert data == {"ticket": 42, "ratio": 0.25}
    assert type(data["ticket"]) is int
    assert type(data["ratio"]) is float


def test_two_authorization_headers_are_a_401(rest):
    connection = http.client.HTTPConnection("127.0.0.1", rest.port, timeout=30)
    try:
        connection.putrequest("GET", rest.agents())
        connection.putheader("Authorization", AUTHORIZATION)
        connection.putheader("Authorization", AUTHORIZATION)
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 401
        assert b"send one authorization credential, not several" in response.read()
    finally:
        connection.close()
