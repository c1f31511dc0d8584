"""Real Sundial servers for tests, in this process, on free loopback ports."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sundial.domain.clock import Clock
from sundial.server import SundialServer
from sundial.settings import Settings
from tests.support.auth import ADMIN_SECRET


def server_settings(database_url: str, **overrides: Any) -> Settings:
    """Ports the system picks, no drain delay, a database migrated already, the api role only
    (tests drive the engine themselves, on a fake clock) and the known admin key's secret;
    `overrides` change any of it (`http_address="127.0.0.1:0"` adds the REST gateway)."""
    settings = Settings(
        database_url=database_url,
        grpc_address="127.0.0.1:0",
        drain_delay=timedelta(0),
        shutdown_grace=timedelta(seconds=2),
        migrate=False,
        max_workers=8,
        roles=frozenset({"api"}),
        bootstrap_api_key=ADMIN_SECRET,
    )
    return replace(settings, **overrides)


@contextmanager
def running(settings: Settings, clock: Clock) -> Iterator[SundialServer]:
    """The server, started, and stopped at the end."""
    server = SundialServer(settings, clock=clock)
    server.start()
    try:
        yield server
    finally:
        server.stop()
