"""A real Sundial server with its REST gateway on free loopback ports, on each database."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from tests.gateway.client import Reply, call
from tests.support.auth import AUTHORIZATION
from tests.support.servers import running, server_settings

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def rest_server(database_url: str) -> Iterator[SundialServer]:
    settings = server_settings(
        database_url, http_address="127.0.0.1:0", roles=frozenset({"api", "engine"})
    )
    with running(settings, FakeClock(START)) as server:
        yield server


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
