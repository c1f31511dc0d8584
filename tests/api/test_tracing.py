"""OpenTelemetry tracing through the real server, with an in-memory span exporter and the
engine driven by hand on a fake clock: one trace from a REST trigger (its `traceparent`
header) through the fire to a worker's claim; a scheduled fire's span in its firing pass;
RPC spans with their method and status code; and nothing at all when tracing is off."""

from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from google.protobuf import duration_pb2
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.tracing import Tracing
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from sundial.v1 import objective_service_pb2 as ob
from tests.api.schedule_requests import create_request, schedule_spec
from tests.api.test_firing import Harness, _every
from tests.gateway.client import call
from tests.support.auth import AUTHORIZATION
from tests.support.servers import server_settings

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"
SCHEDULES = "sundial.v1.AgentScheduleService"
OBJECTIVES = "sundial.v1.ObjectiveService"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def server(database_url: str, clock: FakeClock, exporter) -> Iterator[SundialServer]:
    """The conftest's server, with the REST gateway and every span kept in `exporter`."""
    settings = server_settings(database_url, http_address="127.0.0.1:0")
    instance = SundialServer(settings, clock=clock, tracing=Tracing(exporter, batch=False))
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def _hex(number: int, width: int) -> str:
    return format(number, f"0{width}x")


def _trace_id(span: ReadableSpan) -> str:
    return _hex(span.context.trace_id, 32)


def _traceparent(span: ReadableSpan) -> str:
    flags = _hex(span.context.trace_flags, 2)
    return f"00-{_trace_id(span)}-{_hex(span.context.span_id, 16)}-{flags}"


def _named(exporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def _rest(server, method: str, path: str, body=None, **headers: str):
    sent = {"Authorization": AUTHORIZATION, **headers}
    reply = call(server.http_port, method, path, body, sent)
    assert reply.status == 200, reply.body
    return reply.json()


def test_a_rest_trigger_its_fire_and_the_workers_claim_are_one_trace(server, exporter):
    workspace = server.bootstrap.default_workspace.id
    agents = f"/v1/workspaces/{workspace}/agents"
    agent_id = _rest(server, "POST", agents, {"metadata": {"name": "helper"}})["metadata"]["id"]
    schedule = _rest(
        server,
        "POST",
        f"{agents}/{agent_id}/schedules",
        {
            "metadata": {"name": "hourly"},
            "spec": {"initialMessage": "go", "schedule": {"intervals": [{"every": "3600s"}]}},
        },
    )
    schedule_id = schedule["metadata"]["id"]
    exporter.clear()

    triggered = _rest(
        server,
        "POST",
        f"{agents}/{agent_id}/schedules/{schedule_id}:trigger",
        {},
        traceparent=TRACEPARENT,
        tracestate="vendor=1",
    )
    claimed = _rest(
        server,
        "POST",
        f"{agents}/{agent_id}/objectives:claim",
        {"workerId": "w1", "maxObjectives": 1},
    )

    [trigger_call] = _named(exporter, f"{SCHEDULES}/TriggerAgentSchedule")
    [fire] = _named(exporter, "sundial.fire")
    [claim_call] = _named(exporter, f"{OBJECTIVES}/ClaimObjectives")
    [claim] = _named(exporter, "sundial.claim")
    # The REST caller's trace: its span -> the trigger RPC -> the fire -> the claim.
    assert _trace_id(trigger_call) == TRACE_ID
    assert trigger_call.parent is not None
    assert trigger_call.parent.is_remote
    assert _hex(trigger_call.parent.span_id, 16) == CALLER_SPAN_ID
    assert trigger_call.kind is SpanKind.SERVER
    assert trigger_call.context.trace_state.get("vendor") == "1"
    assert fire.parent is not None
    assert fire.parent.span_id == trigger_call.context.span_id
    assert claim.parent is not None
    assert claim.parent.span_id == fire.context.span_id
    assert {_trace_id(trigger_call), _trace_id(fire), _trace_id(claim)} == {TRACE_ID}
    # The objective carries its fire's traceparent to the worker that claims it.
    objective_id = triggered["metadata"]["id"]
    assert triggered["info"]["traceParent"] == _traceparent(fire)
    [handed] = claimed["objectives"]
    assert handed["metadata"]["id"] == objective_id
    assert handed["info"]["traceParent"] == _traceparent(fire)
    assert fire.attributes["sundial.objective_id"] == objective_id
    assert fire.attributes["sundial.trigger_kind"] == "MANUAL"
    assert claim.attributes["sundial.objective_id"] == objective_id
    assert claim.attributes["sundial.worker_id"] == "w1"
    # The claim call itself is the worker's own trace (a new one here), linked from the claim.
    assert _trace_id(claim_call) != TRACE_ID
    assert [link.context.span_id for link in claim.links] == [claim_call.context.span_id]


def test_a_scheduled_fire_is_a_span_of_its_firing_pass_and_the_claim_continues_it(
    server, exporter, schedules, objectives, workspace_id, agent, clock
):
    request = create_request(
        workspace_id, agent.metadata.id, spec=schedule_spec(schedule=_every(60))
    )
    schedules.CreateAgentSchedule(request)
    server.engine.run_pass()  # nothing due yet: an idle pass, not exported
    assert _named(exporter, "sundial.firing_pass") == []
    clock.advance(timedelta(seconds=60))
    server.engine.run_pass()
    [claimed] = objectives.ClaimObjectives(
        ob.ClaimObjectivesRequest(
            workspace_id=workspace_id, agent_id=agent.metadata.id, worker_id="w1"
        )
    ).objectives

    [firing_pass] = _named(exporter, "sundial.firing_pass")
    [fire] = _named(exporter, "sundial.fire")
    [claim] = _named(exporter, "sundial.claim")
    assert firing_pass.parent is None
    assert firing_pass.attributes["sundial.schedules_examined"] == 1
    assert firing_pass.attributes["sundial.objectives_created"] == 1
    assert fire.parent is not None
    assert fire.parent.span_id == firing_pass.context.span_id
    assert fire.attributes["sundial.objective_id"] == claimed.metadata.id
    assert fire.attributes["sundial.trigger_kind"] == "SCHEDULED"
    assert fire.attributes["sundial.lag_seconds"] == 0.0
    assert claimed.info.trace_parent == _traceparent(fire)
    assert claim.parent is not None
    assert claim.parent.span_id == fire.context.span_id
    assert _trace_id(claim) == _trace_id(firing_pass)


def test_rpc_spans_have_the_method_and_the_status_code(
    server, exporter, schedules, workspace_id, agent
):
    missing = pb.GetAgentScheduleRequest(
        workspace_id=workspace_id, agent_id=agent.metadata.id, schedule_id="sch_missing"
    )
    with pytest.raises(grpc.RpcError):
        schedules.GetAgentSchedule(missing)

    [get] = _named(exporter, f"{SCHEDULES}/GetAgentSchedule")
    [create_agent] = _named(exporter, "sundial.v1.AgentService/CreateAgent")
    assert get.kind is SpanKind.SERVER
    assert get.parent is None  # the caller sent no traceparent: a trace of its own
    assert dict(get.attributes) == {
        "rpc.system": "grpc",
        "rpc.service": SCHEDULES,
        "rpc.method": "GetAgentSchedule",
        "rpc.grpc.status_code": grpc.StatusCode.NOT_FOUND.value[0],
    }
    # NOT_FOUND is the caller's error, not the server's.
    assert get.status.status_code is StatusCode.UNSET
    assert create_agent.attributes["rpc.grpc.status_code"] == 0
    assert get.resource.attributes["service.name"] == "sundial"


def test_with_tracing_off_no_span_is_made_and_objectives_carry_no_trace(
    database_url, clock, monkeypatch
):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    made = []
    real_init = sdk_trace.Span.__init__

    def counting_init(self, *args, **kwargs):
        made.append(args[0] if args else kwargs.get("name"))
        real_init(self, *args, **kwargs)

    # Any SDK span made in this process (by any provider) would be counted.
    monkeypatch.setattr(sdk_trace.Span, "__init__", counting_init)
    settings = server_settings(database_url, http_address="127.0.0.1:0")
    server = SundialServer(settings, clock=clock)
    server.start()
    try:
        assert not server.tracing.enabled
        workspace = server.bootstrap.default_workspace.id
        agents = f"/v1/workspaces/{workspace}/agents"
        agent_id = _rest(server, "POST", agents, {"metadata": {"name": "a"}})["metadata"]["id"]
        schedule_id = _rest(
            server,
            "POST",
            f"{agents}/{agent_id}/schedules",
            {
                "metadata": {"name": "minutely"},
                "spec": {
                    "initialMessage": "go",
                    "schedule": {"intervals": [{"every": "60s"}]},
                    "overlapPolicy": "OVERLAP_POLICY_ALLOW",
                },
            },
        )["metadata"]["id"]
        triggered = _rest(
            server,
            "POST",
            f"{agents}/{agent_id}/schedules/{schedule_id}:trigger",
            {},
            traceparent=TRACEPARENT,
        )
        clock.advance(timedelta(seconds=60))
        server.engine.run_pass()
        claimed = _rest(
            server,
            "POST",
            f"{agents}/{agent_id}/objectives:claim",
            {"workerId": "w", "maxObjectives": 2},
        )["objectives"]
    finally:
        server.stop()
    assert made == []
    assert "traceParent" not in triggered["info"]
    assert len(claimed) == 2
    assert all("traceParent" not in o["info"] for o in claimed)


def test_a_retry_stays_in_its_first_attempts_trace(
    server, exporter, schedules, objectives, workspace_id, agent, clock
):
    harness = Harness(server, schedules, objectives, workspace_id, agent, clock)
    harness.create(
        schedule=_every(3600),
        retry_policy=sp.RetryPolicy(
            max_attempts=2, initial_backoff=duration_pb2.Duration(seconds=10)
        ),
    )
    harness.tick(timedelta(hours=1))
    [first] = harness.claim()
    harness.fail(first, retryable=True)
    clock.advance(timedelta(seconds=10))
    [second] = harness.claim()

    assert second.info.retry_of == first.metadata.id
    assert first.info.trace_parent
    assert second.info.trace_parent == first.info.trace_parent
    [fire] = _named(exporter, "sundial.fire")
    claims = _named(exporter, "sundial.claim")
    assert [c.attributes["sundial.attempt"] for c in claims] == [1, 2]
    assert {c.parent.span_id for c in claims if c.parent} == {fire.context.span_id}
