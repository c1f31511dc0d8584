"""Housekeeping after engine passes: expired request ids are deleted, live ones kept, on
SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest

from sundial.domain.agents import AgentSpec
from sundial.domain.clock import FakeClock
from sundial.domain.metadata import MetadataInput
from sundial.service.agents import AgentService
from sundial.service.housekeeping import Housekeeping
from sundial.service.idempotency import REQUEST_ID_LIFETIME, purge_expired
from sundial.service.notifier import Notifier
from sundial.service.objectives import ObjectiveService
from sundial.service.tenancy import TenancyService
from sundial.store import migrate
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

START = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)


@pytest.fixture
def database(database_url):
    migrate.upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _stored_request_ids(database: Database, workspace_id: str) -> set[str]:
    with UnitOfWork(database, write=False) as uow:
        return {
            request_id
            for request_id in ("old-1", "old-2", "new-1")
            if uow.idempotency.find(workspace_id, "CreateAgent", request_id) is not None
        }


def _create(agents: AgentService, principal, workspace: str, request_id: str) -> str:
    created = agents.create(
        principal, workspace, MetadataInput(name=request_id), AgentSpec(), request_id=request_id
    )
    return created.metadata.id


def test_expired_request_ids_are_purged_and_live_ones_kept(database):
    clock = FakeClock(START)
    boot = TenancyService(database, clock).bootstrap()
    principal, workspace = boot.principal, boot.default_workspace.id
    agents = AgentService(database, clock)
    first = _create(agents, principal, workspace, "old-1")
    _create(agents, principal, workspace, "old-2")
    clock.advance(REQUEST_ID_LIFETIME - timedelta(hours=1))
    _create(agents, principal, workspace, "new-1")
    clock.advance(timedelta(hours=2))  # old-* are 25 h old, new-1 is 2 h old

    assert purge_expired(database, clock, limit=1) == 1  # the limit holds
    assert purge_expired(database, clock) == 1
    assert purge_expired(database, clock) == 0
    assert _stored_request_ids(database, workspace) == {"new-1"}
    # The live key still answers a retry with the resource it made; an expired one makes anew.
    assert _create(agents, principal, workspace, "new-1") != first
    again = _create(agents, principal, workspace, "old-1")
    assert again != first


def test_housekeeping_purges_at_most_once_per_interval(database):
    clock = FakeClock(START)
    boot = TenancyService(database, clock).bootstrap()
    principal, workspace = boot.principal, boot.default_workspace.id
    agents = AgentService(database, clock)
    objectives = ObjectiveService(database, clock, Notifier())
    housekeeping = Housekeeping(database, clock, objectives, purge_every=timedelta(days=2))
    housekeeping()  # purges (nothing to purge yet) and starts the interval
    _create(agents, principal, workspace, "old-1")

    clock.advance(REQUEST_ID_LIFETIME + timedelta(hours=1))
    housekeeping()  # old-1 has expired, but the interval has not passed: no purge
    assert _stored_request_ids(database, workspace) == {"old-1"}

    clock.advance(timedelta(days=1))
    housekeeping()  # two days since the last purge: this pass purges
    assert _stored_request_ids(database, workspace) == set()


def test_housekeeping_checkpoints_sqlites_write_ahead_log(tmp_path):
    path = tmp_path / "wal.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    database = Database(url)
    try:
        clock = FakeClock(START)
        boot = TenancyService(database, clock).bootstrap()
        agents = AgentService(database, clock)
        for index in range(200):
            _create(agents, boot.principal, boot.default_workspace.id, f"r-{index}")
        # The writes wait in the log (far below the autocheckpoint backstop)...
        before = path.stat().st_size
        requested = []
        request = database.request_checkpoint
        database.request_checkpoint = lambda: requested.append(request()) or requested[-1]
        Housekeeping(database, clock, ObjectiveService(database, clock, Notifier()))()
        # ...until the checkpoint housekeeping asked for copies them into the database file.
        assert len(requested) == 1
        assert requested[0].wait(timeout=30)
        assert path.stat().st_size > before
    finally:
        database.dispose()
