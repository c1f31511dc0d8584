"""Result deliveries over gRPC: a schedule's or agent's `deliveries` are checked when written
(the webhook exists in the workspace, no webhook twice, at most ten, the condition compiles)
with INVALID_ARGUMENT naming each bad field, and a good list reads back as written."""

import grpc
import pytest
from google.protobuf import field_mask_pb2

from sundial.domain.webhooks import EventType, WebhookSpec
from sundial.server import SundialServer
from sundial.v1 import agent_pb2, agent_service_pb2, metadata_pb2, webhook_pb2
from sundial.v1 import agent_schedule_service_pb2 as pb
from tests.api.conftest import START
from tests.api.schedule_requests import create_request, schedule_spec
from tests.api.test_firing import Harness
from tests.support.rpc import failure_of
from tests.support.webhook_rows import add_webhook, delivery_rows


def webhook_in(server: SundialServer, workspace_id: str) -> str:
    return add_webhook(
        server.database,
        server.bootstrap.principal,
        workspace_id,
        WebhookSpec(url="https://example.com/hook"),
        now=START,
    )


@pytest.fixture
def webhook_id(server, workspace_id) -> str:
    return webhook_in(server, workspace_id)


def delivery(webhook_id: str = "", **fields: object) -> webhook_pb2.ResultDelivery:
    return webhook_pb2.ResultDelivery(webhook_id=webhook_id, **fields)


def bad_deliveries(server, workspace_id, other_workspace_id, webhook_id):
    """Each bad entry and the violation it gets, by field."""
    elsewhere = webhook_in(server, other_workspace_id)
    deliveries = [
        delivery(webhook_id),
        delivery("whk_nosuch"),
        delivery(elsewhere),
        delivery(webhook_id),
        delivery(),
        delivery(webhook_in(server, workspace_id), condition="output.ok &&\n  nosuch > 1"),
    ]
    expected = {
        "spec.deliveries[1].webhook_id": "the workspace has no webhook 'whk_nosuch'",
        "spec.deliveries[2].webhook_id": f"the workspace has no webhook {elsewhere!r}",
        "spec.deliveries[3].webhook_id": f"webhook {webhook_id!r} is listed twice",
        "spec.deliveries[4].webhook_id": "webhook_id is required",
        "spec.deliveries[5].condition": "line 2, column 3: undeclared variable 'nosuch'",
    }
    return deliveries, expected


def violations_of(call, request) -> dict[str, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    return failure.violations


def assert_named(violations: dict[str, str], expected: dict[str, str]) -> None:
    assert set(violations) == set(expected)
    for field, text in expected.items():
        assert violations[field].startswith(text), field


def test_a_schedule_with_bad_deliveries_is_refused_with_each_field_named(
    server, schedules, workspace_id, other_workspace_id, agent, webhook_id
):
    deliveries, expected = bad_deliveries(server, workspace_id, other_workspace_id, webhook_id)
    request = create_request(
        workspace_id, agent.metadata.id, spec=schedule_spec(deliveries=deliveries)
    )
    assert_named(violations_of(schedules.CreateAgentSchedule, request), expected)
    request.validate_only = True
    assert_named(violations_of(schedules.CreateAgentSchedule, request), expected)


def test_an_update_with_bad_deliveries_is_refused_and_changes_nothing(
    server, schedules, workspace_id, other_workspace_id, agent, webhook_id
):
    good = [delivery(webhook_id, format=webhook_pb2.WEBHOOK_FORMAT_SLACK_PLAIN)]
    created = schedules.CreateAgentSchedule(
        create_request(workspace_id, agent.metadata.id, spec=schedule_spec(deliveries=good))
    )
    assert list(created.spec.deliveries) == good
    deliveries, expected = bad_deliveries(server, workspace_id, other_workspace_id, webhook_id)
    request = pb.UpdateAgentScheduleRequest(
        workspace_id=workspace_id,
        agent_id=agent.metadata.id,
        schedule_id=created.metadata.id,
        spec=schedule_spec(deliveries=deliveries),
        update_mask=field_mask_pb2.FieldMask(paths=["spec.deliveries"]),
    )
    assert_named(violations_of(schedules.UpdateAgentSchedule, request), expected)
    read = schedules.GetAgentSchedule(
        pb.GetAgentScheduleRequest(
            workspace_id=workspace_id,
            agent_id=agent.metadata.id,
            schedule_id=created.metadata.id,
        )
    )
    assert list(read.spec.deliveries) == good


def test_at_most_ten_deliveries(server, schedules, workspace_id, agent):
    many = [delivery(webhook_in(server, workspace_id)) for _ in range(11)]
    request = create_request(workspace_id, agent.metadata.id, spec=schedule_spec(deliveries=many))
    violations = violations_of(schedules.CreateAgentSchedule, request)
    assert violations == {"spec.deliveries": "at most 10 deliveries, got 11"}
    request.spec.deliveries.pop()
    assert len(schedules.CreateAgentSchedule(request).spec.deliveries) == 10


def test_a_batch_names_the_request_of_each_bad_delivery(schedules, workspace_id, agent):
    good = pb.CreateAgentScheduleRequest(
        metadata=metadata_pb2.CreateResourceMetadata(name="good"), spec=schedule_spec()
    )
    bad = pb.CreateAgentScheduleRequest(
        metadata=metadata_pb2.CreateResourceMetadata(name="bad"),
        spec=schedule_spec(deliveries=[delivery("whk_nosuch")]),
    )
    request = pb.BatchCreateAgentSchedulesRequest(
        workspace_id=workspace_id, agent_id=agent.metadata.id, requests=[good, bad]
    )
    assert_named(
        violations_of(schedules.BatchCreateAgentSchedules, request),
        {"requests[1].spec.deliveries[0].webhook_id": "the workspace has no webhook"},
    )


def test_an_agent_with_bad_deliveries_is_refused_on_create_and_update(
    server, agents, workspace_id, other_workspace_id, webhook_id
):
    deliveries, expected = bad_deliveries(server, workspace_id, other_workspace_id, webhook_id)
    create = agent_service_pb2.CreateAgentRequest(
        workspace_id=workspace_id,
        metadata=metadata_pb2.CreateResourceMetadata(name="reporter"),
        spec=agent_pb2.AgentSpec(deliveries=deliveries),
    )
    assert_named(violations_of(agents.CreateAgent, create), expected)

    good = [delivery(webhook_id, condition='status == "FAILED"')]
    del create.spec.deliveries[:]
    create.spec.deliveries.extend(good)
    created = agents.CreateAgent(create)
    assert list(created.spec.deliveries) == good
    update = agent_service_pb2.UpdateAgentRequest(
        workspace_id=workspace_id,
        agent_id=created.metadata.id,
        spec=agent_pb2.AgentSpec(deliveries=deliveries),
        update_mask=field_mask_pb2.FieldMask(paths=["spec.deliveries"]),
    )
    assert_named(violations_of(agents.UpdateAgent, update), expected)
    read = agents.GetAgent(
        agent_service_pb2.GetAgentRequest(workspace_id=workspace_id, agent_id=created.metadata.id)
    )
    assert list(read.spec.deliveries) == good


def test_the_server_renders_objectives_as_the_api_shows_them(
    server, schedules, objectives, workspace_id, agent, clock
):
    """The outbox of a real server: the event's body holds the objective's ProtoJSON (as
    GET .../objectives/{id} answers), and the decisions are counted."""
    listener = add_webhook(
        server.database,
        server.bootstrap.principal,
        workspace_id,
        WebhookSpec(
            url="https://example.com/hook",
            event_types=(EventType.OBJECTIVE_FAILED,),
            # An event's condition sees the objective as the body shows it.
            condition='objective.info.status == "OBJECTIVE_STATUS_FAILED"',
        ),
        now=START,
    )
    filtered = webhook_in(server, workspace_id)
    harness = Harness(server, schedules, objectives, workspace_id, agent, clock)
    harness.create(deliveries=[delivery(filtered, condition='status == "SUCCEEDED"')])
    harness.tick()
    [objective] = harness.claim()
    harness.fail(objective)

    [row] = delivery_rows(server.database)
    assert row.webhook_id == listener
    rendered = row.body["data"]["objective"]
    assert rendered["metadata"]["id"] == objective.metadata.id
    assert rendered["info"]["status"] == "OBJECTIVE_STATUS_FAILED"
    assert rendered["info"]["error"] == "boom"
    assert rendered["spec"]["scheduleId"] == harness.schedule.metadata.id

    def decisions(kind: str, outcome: str) -> float:
        labels = {"kind": kind, "outcome": outcome}
        value = server.metrics.registry.get_sample_value("sundial_outbox_decisions_total", labels)
        return value or 0.0

    assert decisions("event", "written") == 1
    assert decisions("result", "filtered") == 1
