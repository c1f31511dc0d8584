"""InsightService over REST (the gateway's routes from the google.api.http annotations), on
both databases, with the exact numbers of tests.support.insight_scenario."""

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from sundial.api.client import authorized_channel
from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.v1 import (
    access_pb2,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    metadata_pb2,
)
from tests.gateway.conftest import Rest
from tests.support.auth import ADMIN_SECRET
from tests.support.insight_scenario import START, Scenario, build
from tests.support.servers import running, server_settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def insight_server(database_url: str, clock: FakeClock) -> Iterator[SundialServer]:
    # The api role only: the tests drive the engine's passes on the fake clock.
    with running(server_settings(database_url, http_address="127.0.0.1:0"), clock) as server:
        yield server


@pytest.fixture
def scenario(insight_server: SundialServer, clock: FakeClock) -> Iterator[Scenario]:
    with authorized_channel(f"127.0.0.1:{insight_server.port}", ADMIN_SECRET) as channel:
        yield build(insight_server, clock, channel)


@pytest.fixture
def api(insight_server: SundialServer) -> Rest:
    return Rest(insight_server)


def _get(api: Rest, path: str, **query: str | list[str]) -> dict:
    suffix = f"?{urlencode(query, doseq=True)}" if query else ""
    reply = api("GET", f"/v1/workspaces/{api.workspace}{path}{suffix}")
    assert reply.status == 200, reply.body
    return reply.json()


def test_workspace_stats(api, scenario):
    stats = _get(api, "/stats", window="3600s")
    assert stats["schedules"] == {"active": 2, "paused": 1, "total": 3}
    assert stats["today"]["startTime"] == "2026-03-02T00:00:00Z"
    assert stats["today"]["endTime"] == "2026-03-02T14:01:40Z"
    assert stats["today"]["counts"] == {"pending": 1, "succeeded": 1, "failed": 1, "total": 3}
    assert stats["today"]["successRate"] == 0.5
    assert stats["today"]["averageDuration"] == "60s"
    assert stats["today"]["p95Duration"] == "90s"
    assert stats["window"]["counts"] == {"pending": 1, "failed": 1, "total": 2}
    assert stats["window"]["successRate"] == 0


def test_bad_time_zone_is_a_400_naming_the_field(api, scenario):
    reply = api("GET", f"/v1/workspaces/{api.workspace}/stats?timeZone=Mars%2FOlympus")
    assert reply.status == 400
    # Named as the client wrote it (the gateway's JSON names), not as the proto field.
    assert "timeZone" in reply.violations


def test_schedule_stats(api, scenario):
    stats = _get(api, f"/agents/{scenario.agent_id}/schedules/{scenario.hourly_id}/stats")
    assert stats["scheduleId"] == scenario.hourly_id
    assert stats["windowFires"] == {"scheduled": 2, "manual": 1}
    assert "windowMissedFires" not in stats  # zero, which ProtoJSON leaves out
    assert stats["window"]["counts"]["total"] == 3


def test_engine_status(api, scenario):
    status = _get(api, "/engineStatus")
    assert status["running"] is True
    assert len(status["replicas"]) == 1
    assert status["lastPassAt"] == "2026-03-02T14:01:40Z"
    assert status["nextWakeAt"] == "2026-03-02T14:01:45Z"
    assert status["recentFireLagP99"] == "10s"
    assert status["recentFires"] == 1


def test_heatmaps(api, scenario):
    past = _get(api, "/fireHeatmap", timeZone="Asia/Tokyo")
    assert past["source"] == "HEATMAP_SOURCE_PAST"
    assert past["total"] == 3
    monday = past["days"][1]
    assert monday["dayOfWeek"] == 1
    assert monday["hours"][22:] == [1, 2]
    future = _get(api, "/fireHeatmap", source="HEATMAP_SOURCE_FUTURE", window="86400s")
    assert future["total"] == 25
    assert future["days"][2]["hours"][9] == 2


def test_calendar_fires(api, scenario):
    query = {"startTime": "2026-03-02T12:00:00Z", "endTime": "2026-03-02T18:00:00Z"}
    first = _get(api, "/calendarFires", pageSize="4", **query)
    assert [f.get("objectiveId", "") for f in first["fires"]] == [
        scenario.first_id,
        scenario.second_id,
        scenario.manual_id,
        "",
    ]
    assert first["fires"][3]["time"] == "2026-03-02T15:00:00Z"
    assert first["fires"][3]["scheduleName"] == "hourly"
    second = _get(api, "/calendarFires", pageSize="4", pageToken=first["nextPageToken"], **query)
    assert [f["time"] for f in second["fires"]] == [
        "2026-03-02T16:00:00Z",
        "2026-03-02T17:00:00Z",
    ]
    assert not second.get("nextPageToken")


def test_suggestions(api, scenario):
    reply = _get(api, "/scheduleSuggestions", cadence="SUGGESTION_CADENCE_WEEKDAYS")
    assert reply["timeZone"] == "UTC"
    # Weekdays: 5 hourly fires in each hour, 10 at 09:00.
    assert [(s["cronExpression"], s["plannedFires"]) for s in reply["suggestions"]] == [
        ("0 0 * * 1-5", 5),
        ("0 1 * * 1-5", 5),
        ("0 2 * * 1-5", 5),
    ]


def test_compare_objectives(api, scenario):
    reply = _get(
        api,
        f"/agents/-/schedules/{scenario.hourly_id}/objectives:compare",
        objectiveIds=[scenario.first_id, scenario.second_id],
    )
    assert [o["status"] for o in reply["objectives"]] == [
        "OBJECTIVE_STATUS_SUCCEEDED",
        "OBJECTIVE_STATUS_FAILED",
    ]
    assert [o["duration"] for o in reply["objectives"]] == ["30s", "90s"]
    assert reply["differences"] == [
        {
            "path": "output",
            "values": [{"present": True, "value": {"score": 1, "tags": ["a"]}}, {}],
        }
    ]


def test_insight_needs_read_permission_on_the_workspace(api, scenario, insight_server):
    assert api("GET", f"/v1/workspaces/{api.workspace}/stats", authorization="").status == 401
    other = insight_server.tenancy.create_workspace(insight_server.bootstrap.principal, "other")
    with authorized_channel(f"127.0.0.1:{insight_server.port}", ADMIN_SECRET) as channel:
        secret = (
            api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
            .CreateApiKey(
                api_key_service_pb2.CreateApiKeyRequest(
                    account_id=other.account_id,
                    metadata=metadata_pb2.CreateResourceMetadata(name="viewer"),
                    spec=api_key_pb2.ApiKeySpec(
                        role=access_pb2.ROLE_VIEWER, workspace_ids=[other.id]
                    ),
                )
            )
            .info.secret
        )
    for path in ("/stats", "/engineStatus", "/fireHeatmap", "/scheduleSuggestions"):
        reply = api(
            "GET", f"/v1/workspaces/{api.workspace}{path}", authorization=f"Bearer {secret}"
        )
        assert reply.status == 403, path
    own = api("GET", f"/v1/workspaces/{other.id}/stats", authorization=f"Bearer {secret}")
    assert own.status == 200
