"""Fixtures of the integration tests: a fresh migrated database of each kind, a fake clock
and a workspace with one agent (tests/support/tenants.py)."""

from collections.abc import Iterator

import pytest

from sundial.domain.clock import FakeClock
from sundial.store.database import Database
from tests.support.tenants import START, Tenant


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def tenant(database: Database, clock: FakeClock) -> Tenant:
    return Tenant(database, clock)
