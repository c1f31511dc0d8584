"""A real Sundial server with its REST gateway on free loopback ports, on each database."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.settings import Settings
from tests.gateway.client import Reply, call
from tests.support.auth import ADMIN_SECRET, AUTHORIZATION

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def rest_server(database_url: str) -> Iterator[SundialServer]:
    settings = Settings(
        database_url=database_url,
        grpc_address="127.0.0.1:0",
        http_address="127.0.0.1:0",
        drain_delay=timedelta(0),
        shutdown_grace=timedelta(seconds=2),
        migrate=False,
        max_workers=8,
        bootstrap_api_key=ADMIN_SECRET,
    )
    server = SundialServer(settings, clock=FakeClock(START))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Rest:
    """Calls to one server's REST port, with the default workspace's paths at hand."""

    def __init__(self, server: SundialServer) -> None:
        self.port = server.http_port
        self.workspace = server.bootstrap.default_workspace.id

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Reply:
        """A call with the admin key, unless `authorization` is given (empty: none)."""
        sent = {"Authorization": AUTHORIZATION}
        sent.update({k.replace("_", "-").title(): v for k, v in headers.items()})
        return call(self.port, method, path, body, {k: v for k, v in sent.items() if v})

    def agents(self) -> str:
        return f"/v1/workspaces/{self.workspace}/agents"

    def schedules(self, agent_id: str) -> str:
        return f"{self.agents()}/{agent_id}/schedules"

    def create_agent(self, name: str = "helper") -> str:
        reply = self("POST", self.agents(), {"metadata": {"name": name}})
        assert reply.status == 200, reply.body
        return str(reply.json()["metadata"]["id"])


@pytest.fixture
def rest(rest_server: SundialServer) -> Rest:
    return Rest(rest_server)
