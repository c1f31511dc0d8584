"""Seed 001 is the wire contract: its JSON is ProtoJSON of our protos."""

import json
from pathlib import Path

from google.protobuf import json_format

from sundial.v1 import agent_schedule_pb2, agent_schedule_service_pb2

SEED_EXAMPLE = Path(__file__).parents[1] / "fixtures" / "seed_001_agent_schedule.json"


def test_seed_example_response_parses_as_agent_schedule():
    """Every field name and enum value of seed 001's example is ours (no unknown fields)."""
    example = json.loads(SEED_EXAMPLE.read_text())
    message = json_format.ParseDict(example, agent_schedule_pb2.AgentSchedule())
    assert json_format.MessageToDict(message)["spec"]["schedule"]["intervals"][0]["every"] == (
        "-160513s"
    )


def test_seed_create_call_round_trips(schedules, workspace_id, agent):
    # Seed 001's create example, with the rule seed 001 requires added.
    body = {
        "metadata": {
            "name": "name",
            "bundleKey": "bundle",
            "externalId": "ext-1",
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
    request = json_format.ParseDict(body, agent_schedule_service_pb2.CreateAgentScheduleRequest())
    request.workspace_id = workspace_id
    request.agent_id = agent.metadata.id

    created = schedules.CreateAgentSchedule(request)
    got = schedules.GetAgentSchedule(
        agent_schedule_service_pb2.GetAgentScheduleRequest(
            workspace_id=workspace_id, agent_id=agent.metadata.id, schedule_id=created.metadata.id
        )
    )

    # Same values: the spec comes back exactly as sent (status defaults to ACTIVE, as seed
    # 001 says), and so do the user-written metadata fields.
    expected = agent_schedule_service_pb2.CreateAgentScheduleRequest()
    expected.CopyFrom(request)
    expected.spec.status = agent_schedule_pb2.AGENT_SCHEDULE_STATUS_ACTIVE
    assert got.spec == expected.spec
    out = json_format.MessageToDict(got)
    for key, value in body["metadata"].items():
        assert out["metadata"][key] == value
    # Same names: seed 001's camelCase JSON names and enum strings.
    assert set(out["spec"]) == set(body["spec"])
    assert out["spec"]["overlapPolicy"] == "OVERLAP_POLICY_ALLOW"
    assert out["spec"]["status"] == "AGENT_SCHEDULE_STATUS_ACTIVE"
    assert set(out["spec"]["schedule"]["calendars"][0]) == {
        "comment",
        "dayOfWeek",
        "hour",
        "minute",
    }
    assert set(out["metadata"]) >= {
        "id",
        "accountId",
        "createdAt",
        "name",
        "profileId",
        "workspaceId",
    }
    assert set(out["info"]) >= {"createdBy", "nextFireAt"}
    # Created with the bootstrap admin key, whose profile is an API_KEY one.
    assert out["info"]["createdBy"]["spec"]["type"] == "PROFILE_TYPE_API_KEY"
    assert got == created
