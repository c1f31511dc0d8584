"""Webhook deliveries through a real `sundial serve` process: the engine role's dispatcher
posts an outbox row, signed, to a local receiver when `--allow-private-webhook-targets`
(here its environment variable) is on, and records the SSRF guard's refusal when it is off.

The rows are written into the server's SQLite file by the outbox helpers, as the outbox
writers would; a write from another process wakes no one, so the server finds them at its
next poll, and the test waits with a bounded deadline."""

import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from sundial.domain.clock import FakeClock
from sundial.store.database import Database
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


def _serve(database_url: str, *, allow_private: bool) -> Process:
    env = {"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET}
    if allow_private:
        env["SUNDIAL_ALLOW_PRIVATE_WEBHOOK_TARGETS"] = "1"
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
        env=env,
    )
    process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")
    process.wait_for_line(r"default workspace: (ws_\w+)")
    return process


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


def test_serve_delivers_an_outbox_row_signed_when_private_targets_are_allowed(
    database_url, receiver
):
    process = _serve(database_url, allow_private=True)
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
    process = _serve(database_url, allow_private=False)
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
