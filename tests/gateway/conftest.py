"""A real Sundial server with its REST gateway on free loopback ports, on each database."""

from collections.abc import Iterator
from contextlib import contextmanager
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


# The web conventions' server: one page origin allowed, the loopback peer a trusted proxy,
# and a small failed-authentication burst so that the limiter shows which client it counts.
CORS_ORIGIN = "https://app.example.com"
AUTH_FAILURE_BURST = 2


@contextmanager
def _web_server(database_url: str, trusted_proxy: str) -> Iterator[Rest]:
    settings = server_settings(
        database_url,
        http_address="127.0.0.1:0",
        cors_origins=(CORS_ORIGIN,),
        trusted_proxies=(trusted_proxy,),
        auth_failure_burst=AUTH_FAILURE_BURST,
        auth_failure_per_minute=0.001,
    )
    with running(settings, FakeClock(START)) as server:
        yield Rest(server)


@pytest.fixture
def web_rest(database_url: str) -> Iterator[Rest]:
    """The tests' own loopback address is a trusted proxy."""
    with _web_server(database_url, "127.0.0.1/32") as rest:
        yield rest


@pytest.fixture
def untrusting_rest(database_url: str) -> Iterator[Rest]:
    """Only 10.0.0.0/8 is trusted: the tests' loopback address is not."""
    with _web_server(database_url, "10.0.0.0/8") as rest:
        yield rest
