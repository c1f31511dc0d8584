"""Errors over REST name fields by their JSON names, as REST clients write them: those the
gateway finds (an unknown field, a wrong type, a path id the body contradicts) and those the
service returns with proto paths (translated in the violations and the message)."""

import json

from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from sundial.gateway.rendering import with_json_names
from sundial.v1 import agent_schedule_service_pb2
from tests.gateway.test_rest_api import SEED_CREATE_BODY


def _schedule_body(**schedule: object) -> dict[str, object]:
    body = json.loads(json.dumps(SEED_CREATE_BODY))
    body["spec"]["schedule"] = schedule
    return body


def test_a_service_violation_is_named_in_camel_case(rest):
    agent_id = rest.create_agent()
    body = _schedule_body(cronExpressions=["0 9 * * *", "not a cron"], timezone="UTC")
    reply = rest("POST", rest.schedules(agent_id), body)
    assert reply.status == 400, reply.body
    assert list(reply.violations) == ["spec.schedule.cronExpressions[1]"]
    assert "spec.schedule.cronExpressions[1]" in reply.json()["message"]
    assert "cron_expressions" not in reply.body.decode()


def test_an_unknown_field_names_its_path_and_the_likely_one(rest):
    agent_id = rest.create_agent()
    reply = rest("POST", rest.schedules(agent_id), _schedule_body(cronExpresions=["0 9 * * *"]))
    assert reply.status == 400
    assert reply.reason == "UNKNOWN_FIELD"
    description = reply.violations["spec.schedule.cronExpresions"]
    assert 'did you mean "cronExpressions"?' in description


def test_an_unknown_field_in_a_list_item_names_the_item(rest):
    agent_id = rest.create_agent()
    body = _schedule_body(calendars=[{"hour": [{"start": 9}]}, {"hours": [{"start": 9}]}])
    reply = rest("POST", rest.schedules(agent_id), body)
    assert reply.status == 400
    assert "spec.schedule.calendars[1].hours" in reply.violations


def test_a_value_of_the_wrong_type_names_its_field(rest):
    agent_id = rest.create_agent()
    reply = rest("POST", rest.schedules(agent_id), _schedule_body(timezone=5))
    assert reply.status == 400
    assert reply.reason == "INVALID_BODY"
    assert "spec.schedule.timezone" in reply.violations


def test_a_workspace_id_in_the_body_other_than_the_paths_is_400(rest):
    reply = rest("POST", rest.agents(), {"workspaceId": "ws_other", "metadata": {"name": "a"}})
    assert reply.status == 400
    assert reply.reason == "PATH_BODY_MISMATCH"
    assert "ws_other" in reply.violations["workspaceId"]
    same = rest("POST", rest.agents(), {"workspaceId": rest.workspace, "metadata": {"name": "a"}})
    assert same.status == 200, same.body


def test_an_agent_id_in_a_patch_body_other_than_the_paths_is_400(rest):
    agent_id = rest.create_agent()
    path = f"{rest.agents()}/{agent_id}"
    reply = rest("PATCH", path, {"agentId": "agent_other", "spec": {"description": "x"}})
    assert reply.status == 400
    assert "agentId" in reply.violations
    assert rest("GET", path).json()["spec"].get("description") is None


# Units --------------------------------------------------------------------------------------


def _bad_request(message: str, *fields: tuple[str, str]) -> status_pb2.Status:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in fields
        ]
    )
    packed = any_pb2.Any()
    packed.Pack(bad_request)
    return status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[packed])


def _violations(status: status_pb2.Status) -> list[tuple[str, str]]:
    bad_request = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad_request)
    return [(v.field, v.description) for v in bad_request.field_violations]


def test_with_json_names_renames_paths_in_violations_and_messages():
    status = _bad_request(
        "invalid fields (spec.catchup_window, request_id)",
        ("spec.catchup_window", "catchup_window must be at most 1 day"),
        ("request_id", "request_id is too long"),
    )
    named = with_json_names(
        status, agent_schedule_service_pb2.CreateAgentScheduleRequest.DESCRIPTOR
    )
    assert named.message == "invalid fields (spec.catchupWindow, requestId)"
    assert _violations(named) == [
        ("spec.catchupWindow", "catchupWindow must be at most 1 day"),
        ("requestId", "requestId is too long"),
    ]


def test_with_json_names_keeps_what_is_no_field():
    status = _bad_request("bad key (spec.data.some_key)", ("spec.data.some_key", "some_key is bad"))
    named = with_json_names(
        status, agent_schedule_service_pb2.CreateAgentScheduleRequest.DESCRIPTOR
    )
    assert named == status
