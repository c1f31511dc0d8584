"""PUSH agents through a real `sundial serve`: schedules firing every second post their
objectives to a local receiver, and the answers end them: a success completes them with the
answer as output, a failure is retried and then succeeds, a target that hangs past its
timeout times the attempt out. Statuses are read over the API, polled to a bounded deadline."""

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks import Webhook

from sundial.api.client import authorized_channel
from sundial.v1 import (
    agent_pb2,
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    objective_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
)
from tests.e2e.test_serve import Process
from tests.gateway.client import call
from tests.support.auth import ADMIN_SECRET
from tests.support.webhook_receiver import Receiver, Reply, receiving

DEADLINE_SECONDS = 60
Status = objective_pb2.ObjectiveStatus


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Process, grpc.Channel, int]]:
    process = Process(
        "serve",
        "--database-url",
        f"sqlite:///{tmp_path / 'sundial.db'}",
        "--grpc-address",
        "127.0.0.1:0",
        "--http-address",
        "127.0.0.1:0",
        "--drain-delay",
        "0",
        "--allow-private-webhook-targets",
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )
    try:
        port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        http_port = int(process.wait_for_line(r"serving REST on 127\.0\.0\.1:(\d+)")[1])
        process.workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        with authorized_channel(f"127.0.0.1:{port}", ADMIN_SECRET) as channel:
            yield process, channel, http_port
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait(timeout=30)


def _push_agent(
    channel: grpc.Channel,
    workspace: str,
    url: str,
    *,
    timeout_seconds: int = 10,
    max_attempts: int = 1,
    max_fires: int = 0,
) -> tuple[str, str]:
    """A PUSH agent posting to `url` with a schedule firing every second; (id, secret)."""
    agents = agent_service_pb2_grpc.AgentServiceStub(channel)
    agent = agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace,
            metadata=metadata_pb2.CreateResourceMetadata(name=url.rsplit("/", 1)[1]),
            spec=agent_pb2.AgentSpec(
                mode=agent_pb2.AGENT_MODE_PUSH,
                push=agent_pb2.PushTarget(
                    url=url, timeout=duration_pb2.Duration(seconds=timeout_seconds)
                ),
            ),
        )
    )
    schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
    schedules.CreateAgentSchedule(
        agent_schedule_service_pb2.CreateAgentScheduleRequest(
            workspace_id=workspace,
            agent_id=agent.metadata.id,
            metadata=metadata_pb2.CreateResourceMetadata(name="every-second"),
            spec=agent_schedule_pb2.AgentScheduleSpec(
                initial_message="work",
                schedule=agent_schedule_pb2.AgentScheduleSpecSchedule(
                    intervals=[
                        agent_schedule_pb2.ScheduleInterval(every=duration_pb2.Duration(seconds=1))
                    ]
                ),
                overlap_policy=agent_schedule_pb2.OVERLAP_POLICY_ALLOW,
                retry_policy=agent_schedule_pb2.RetryPolicy(
                    max_attempts=max_attempts, initial_backoff=duration_pb2.Duration(seconds=1)
                ),
                max_fires=max_fires,
            ),
        )
    )
    return agent.metadata.id, agent.info.push_secret


def _objectives(channel: grpc.Channel, workspace: str, agent_id: str) -> list:
    stub = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
    listed = stub.ListObjectives(
        objective_service_pb2.ListObjectivesRequest(
            workspace_id=workspace, agent_id=agent_id, page_size=1000
        )
    )
    return sorted(listed.objectives, key=lambda o: o.info.attempt)


def _eventually(check: Callable[[], object]) -> object:
    """Polls `check` until it returns something true, up to DEADLINE_SECONDS."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"not so within {DEADLINE_SECONDS} s: {check.__doc__}")


def test_push_agents_are_posted_their_objectives_and_the_answers_end_them(served, receiver):
    process, channel, http_port = served
    workspace = process.workspace
    receiver.reply("/ok", status=200, body=b'{"summary": "done"}')
    receiver.reply("/flaky", status=500, body=b"not yet", then=Reply(body=b'{"second": "try"}'))
    receiver.reply("/hang", hold=threading.Event())
    ok, secret = _push_agent(channel, workspace, receiver.url("/ok"))
    flaky, _ = _push_agent(channel, workspace, receiver.url("/flaky"), max_attempts=2, max_fires=1)
    hang, _ = _push_agent(channel, workspace, receiver.url("/hang"), timeout_seconds=1, max_fires=1)

    def two_succeeded() -> list:
        """two objectives of the succeeding agent ended SUCCEEDED"""
        done = [
            o
            for o in _objectives(channel, workspace, ok)
            if o.info.status == Status.OBJECTIVE_STATUS_SUCCEEDED
        ]
        return done if len(done) >= 2 else []

    done = _eventually(two_succeeded)
    assert all(o.info.output.struct_value["summary"] == "done" for o in done)
    request = next(r for r in receiver.requests if r.path == "/ok")
    assert Webhook(secret).verify(request.body.decode(), request.headers)["spec"]["agentId"] == ok

    def retried_and_succeeded() -> list:
        """the flaky agent's objective failed once, then its retry succeeded"""
        attempts = _objectives(channel, workspace, flaky)
        statuses = [o.info.status for o in attempts]
        return (
            attempts
            if statuses == [Status.OBJECTIVE_STATUS_FAILED, Status.OBJECTIVE_STATUS_SUCCEEDED]
            else []
        )

    failed, retried = _eventually(retried_and_succeeded)
    assert failed.info.error == "push: HTTP 500: not yet"
    assert retried.info.attempt == 2
    assert retried.info.output.struct_value["second"] == "try"

    def timed_out() -> list:
        """the hanging agent's objective timed out"""
        attempts = _objectives(channel, workspace, hang)
        return (
            attempts
            if [o.info.status for o in attempts] == [Status.OBJECTIVE_STATUS_TIMED_OUT]
            else []
        )

    [hung] = _eventually(timed_out)
    assert hung.info.error == "push: no response within 1 s"

    def counted() -> dict[str, float]:
        """the pushes are counted by outcome (each just after its attempt ended)"""
        pushes = _pushes(http_port)
        # Two of the succeeding agent's and the flaky one's retry; its first; the hang.
        enough = pushes["succeeded"] >= 3 and pushes["http_status"] >= 1
        return pushes if enough and pushes["timeout"] >= 1 else {}

    _eventually(counted)


def _pushes(http_port: int) -> dict[str, float]:
    """sundial_pushes_total by outcome, scraped from the server's /metrics."""
    reply = call(http_port, "GET", "/metrics")
    assert reply.status == 200
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
        if sample.name == "sundial_pushes_total"
    }
