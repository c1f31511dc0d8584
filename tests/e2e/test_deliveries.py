"""Webhook deliveries through a real `sundial serve` process: a webhook created over the API
hears, signed, of an objective a worker completed over the API; the engine role's dispatcher
posts outbox rows to a local receiver when `--allow-private-webhook-targets` (or its
environment variable) is on, and records the SSRF guard's refusal when it is off.

In the last two tests the rows are written into the server's SQLite file by the outbox
helpers; a write from another process wakes no one, so the server finds them at its next
poll. Every test waits with a bounded deadline."""

import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from sundial.api.client import authorized_channel
from sundial.domain.clock import FakeClock
from sundial.store.database import Database
from sundial.v1 import (
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
    webhook_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from tests.api.schedule_requests import create_request
from tests.e2e.test_serve import Process
from tests.support.auth import ADMIN_SECRET
from tests.support.outbox import add_delivery, add_webhook, delivery_row
from tests.support.tenants import Tenant
from tests.support.webhook_receiver import Receiver, receiving

DEADLINE_SECONDS = 60


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


RPC_TIMEOUT = 10


def _serve(database_url: str, *, allow_private: str) -> tuple[Process, str]:
    """The running server and its gRPC address; `allow_private`: "flag", "env" or "" (the
    SSRF guard refuses private targets)."""
    env = {"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET}
    flags = []
    if allow_private == "env":
        env["SUNDIAL_ALLOW_PRIVATE_WEBHOOK_TARGETS"] = "1"
    elif allow_private == "flag":
        flags.append("--allow-private-webhook-targets")
    process = Process(
        "serve",
        "--database-url",
        database_url,
        "--grpc-address",
        "127.0.0.1:0",
        "--http-address",
        "",
        "--drain-delay",
        "0",
        *flags,
        env=env,
    )
    port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
    process.workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
    return process, f"127.0.0.1:{port}"


def _stop(process: Process) -> None:
    if process.popen.poll() is None:
        process.popen.send_signal(signal.SIGTERM)
    assert process.popen.wait(timeout=60) == 0


def _eventually(condition: Callable[[], bool]) -> bool:
    pause = threading.Event()
    for _ in range(DEADLINE_SECONDS * 10):
        if condition():
            return True
        pause.wait(0.1)
    return False


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sundial.db'}"


def test_a_webhook_created_over_the_api_hears_of_an_objective_completed_over_the_api(
    database_url, receiver
):
    process, address = _serve(database_url, allow_private="env")
    workspace = process.workspace
    try:
        with authorized_channel(address, ADMIN_SECRET) as channel:
            agents = agent_service_pb2_grpc.AgentServiceStub(channel)
            schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
            objectives = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
            webhooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
            webhook = webhooks.CreateWebhook(
                webhook_service_pb2.CreateWebhookRequest(
                    workspace_id=workspace,
                    metadata=metadata_pb2.CreateResourceMetadata(name="ops"),
                    spec=webhook_pb2.WebhookSpec(
                        url=receiver.url("/events"),
                        event_types=[webhook_pb2.EVENT_TYPE_OBJECTIVE_SUCCEEDED],
                    ),
                ),
                timeout=RPC_TIMEOUT,
            )
            agent = agents.CreateAgent(
                agent_service_pb2.CreateAgentRequest(
                    workspace_id=workspace,
                    metadata=metadata_pb2.CreateResourceMetadata(name="reporter"),
                ),
                timeout=RPC_TIMEOUT,
            )
            agent_id = agent.metadata.id
            schedule = schedules.CreateAgentSchedule(
                create_request(workspace, agent_id), timeout=RPC_TIMEOUT
            )
            triggered = schedules.TriggerAgentSchedule(
                agent_schedule_service_pb2.TriggerAgentScheduleRequest(
                    workspace_id=workspace, agent_id=agent_id, schedule_id=schedule.metadata.id
                ),
                timeout=RPC_TIMEOUT,
            )
            [claimed] = objectives.ClaimObjectives(
                objective_service_pb2.ClaimObjectivesRequest(
                    workspace_id=workspace, agent_id=agent_id, worker_id="w1"
                ),
                timeout=RPC_TIMEOUT,
            ).objectives
            assert claimed.metadata.id == triggered.metadata.id
            objectives.CompleteObjective(
                objective_service_pb2.CompleteObjectiveRequest(
                    workspace_id=workspace,
                    agent_id=agent_id,
                    objective_id=claimed.metadata.id,
                    worker_id="w1",
                ),
                timeout=RPC_TIMEOUT,
            )

            assert _eventually(lambda: len(receiver.requests) == 1)

            [request] = receiver.requests
            event = Webhook(webhook.info.secret).verify(request.body.decode(), request.headers)
            assert event["type"] == "objective.succeeded"
            assert claimed.metadata.id in request.body.decode()
            listed = webhooks.ListDeliveries(
                webhook_service_pb2.ListDeliveriesRequest(
                    workspace_id=workspace, webhook_id=webhook.metadata.id
                ),
                timeout=RPC_TIMEOUT,
            )
            [delivery] = listed.deliveries
            assert request.headers["webhook-id"] == delivery.metadata.id
            assert _eventually(
                lambda: (
                    webhooks.GetDelivery(
                        webhook_service_pb2.GetDeliveryRequest(
                            workspace_id=workspace,
                            webhook_id=webhook.metadata.id,
                            delivery_id=delivery.metadata.id,
                        ),
                        timeout=RPC_TIMEOUT,
                    ).info.attempts
                    == 1
                )
            )
        _stop(process)
    finally:
        if process.popen.poll() is None:
            process.popen.kill()


def test_serve_delivers_an_outbox_row_signed_when_private_targets_are_allowed(
    database_url, receiver
):
    process, _ = _serve(database_url, allow_private="flag")
    database = Database(database_url)
    try:
        tenant = Tenant(database, FakeClock(datetime.now(UTC)))
        webhook_id, secret = add_webhook(tenant, receiver.url("/hook"))
        body = {"type": "objective.succeeded", "data": {"objective_id": "obj_1"}}
        delivery_id = add_delivery(tenant, webhook_id, body)

        assert _eventually(lambda: delivery_row(tenant, delivery_id).status == "DELIVERED")

        [request] = receiver.requests
        assert request.headers["webhook-id"] == delivery_id
        assert Webhook(secret).verify(request.body.decode(), request.headers) == body
        _stop(process)
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        database.dispose()


def test_serve_refuses_a_loopback_target_by_default_and_records_why(database_url, receiver):
    process, _ = _serve(database_url, allow_private="")
    database = Database(database_url)
    try:
        tenant = Tenant(database, FakeClock(datetime.now(UTC)))
        webhook_id, _ = add_webhook(tenant, receiver.url("/hook"))
        delivery_id = add_delivery(tenant, webhook_id)

        assert _eventually(lambda: delivery_row(tenant, delivery_id).attempts == 1)

        row = delivery_row(tenant, delivery_id)
        assert row.status == "PENDING"
        assert row.last_error.startswith("refused_by_guard: refused to connect to 127.0.0.1")
        assert receiver.requests == []
        _stop(process)
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        database.dispose()
