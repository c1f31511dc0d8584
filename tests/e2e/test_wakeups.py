"""Wake-ups through a real `sundial serve`: RedeliverDelivery wakes the dispatcher, which
posts the delivery to a local receiver, and the server's wake-up counter
(`sundial_loop_wakeups_total{loop="dispatcher"}` on /metrics) shows the wake-up. The dead
letter is written into the server's SQLite file by this process (which wakes no one), so
only the RPC's wake-up is counted. Waits are bounded deadlines, not timing thresholds."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sundial.api.client import authorized_channel
from sundial.store.database import Database
from sundial.v1 import metadata_pb2, webhook_pb2, webhook_service_pb2, webhook_service_pb2_grpc
from tests.e2e.test_deliveries import RPC_TIMEOUT, _eventually, _stop
from tests.e2e.test_serve import Process
from tests.gateway.client import call
from tests.support.auth import ADMIN_SECRET
from tests.support.deliveries import insert_delivery
from tests.support.webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def _wakeups(http_port: int, loop: str) -> float:
    reply = call(http_port, "GET", "/metrics")
    assert reply.status == 200
    [value] = [
        sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
        if sample.name == "sundial_loop_wakeups_total" and sample.labels["loop"] == loop
    ]
    return value


def test_redeliver_wakes_the_dispatcher_of_a_real_server(tmp_path: Path, receiver):
    database_url = f"sqlite:///{tmp_path / 'sundial.db'}"
    process = Process(
        "serve",
        "--database-url", database_url,
        "--grpc-address", "127.0.0.1:0",
        "--http-address", "127.0.0.1:0",
        "--drain-delay", "0",
        "--allow-private-webhook-targets",
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )  # fmt: skip
    database = Database(database_url)
    try:
        grpc_port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        http_port = int(process.wait_for_line(r"serving REST on 127\.0\.0\.1:(\d+)")[1])
        workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        with authorized_channel(f"127.0.0.1:{grpc_port}", ADMIN_SECRET) as channel:
            webhooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
            hook = webhooks.CreateWebhook(
                webhook_service_pb2.CreateWebhookRequest(
                    workspace_id=workspace,
                    metadata=metadata_pb2.CreateResourceMetadata(name="ops"),
                    spec=webhook_pb2.WebhookSpec(url=receiver.url("/hook")),
                ),
                timeout=RPC_TIMEOUT,
            )
            delivery_id = insert_delivery(
                database,
                account_id=hook.metadata.account_id,
                workspace_id=workspace,
                webhook_id=hook.metadata.id,
                at=datetime.now(UTC),
                status="DEAD_LETTER",
                next_attempt_at=None,
                attempts=3,
            )
            before = _wakeups(http_port, "dispatcher")

            webhooks.RedeliverDelivery(
                webhook_service_pb2.RedeliverDeliveryRequest(
                    workspace_id=workspace, webhook_id=hook.metadata.id, delivery_id=delivery_id
                ),
                timeout=RPC_TIMEOUT,
            )

            assert _wakeups(http_port, "dispatcher") == before + 1
            assert _eventually(lambda: len(receiver.requests) == 1)
            assert receiver.requests[0].headers["webhook-id"] == delivery_id
        _stop(process)
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        database.dispose()
