"""Repositories against real SQLite and PostgreSQL databases (migrated by Alembic)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sundial.domain.agents import Agent, AgentSpec
from sundial.domain.clock import FakeClock
from sundial.domain.listing import FilterOp, FilterTerm, ListQuery
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.principals import Role
from sundial.service.authentication import hash_secret
from sundial.service.tenancy import TenancyService
from sundial.store import migrate
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

NOW = datetime(2026, 6, 1, 8, 30, tzinfo=timezone(timedelta(hours=2)))


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def workspace(database):
    return TenancyService(database, FakeClock(NOW)).bootstrap().default_workspace


def _agent(workspace, agent_id, labels):
    return Agent(
        metadata=ResourceMetadata(
            id=agent_id,
            account_id=workspace.account_id,
            workspace_id=workspace.id,
            profile_id="prof_x",
            name=agent_id,
            labels=labels,
            created_at=NOW,
            updated_at=NOW,
        ),
        spec=AgentSpec(description="d"),
    )


def test_migrations_are_current(database):
    assert migrate.is_up_to_date(database)


def test_timestamps_come_back_as_the_same_utc_instant(database, workspace):
    with UnitOfWork(database, write=True) as uow:
        uow.agents.add(_agent(workspace, "agent_a", {}))
        uow.commit()
    with UnitOfWork(database, write=False) as uow:
        agent = uow.agents.get(workspace.id, "agent_a")
    assert agent is not None
    assert agent.metadata.created_at == NOW
    assert agent.metadata.created_at.tzinfo == UTC


def test_label_filters_handle_keys_with_punctuation(database, workspace):
    with UnitOfWork(database, write=True) as uow:
        uow.agents.add(_agent(workspace, "agent_a", {"app.example.com/tier": "gold", "team": "x"}))
        uow.agents.add(_agent(workspace, "agent_b", {"team": "y"}))
        uow.commit()

    def ids(*terms):
        with UnitOfWork(database, write=False) as uow:
            return [a.metadata.id for a in uow.agents.list(workspace.id, ListQuery(filters=terms))]

    assert ids(FilterTerm("labels", FilterOp.EQ, "gold", key="app.example.com/tier")) == ["agent_a"]
    assert ids(FilterTerm("labels", FilterOp.NE, "gold", key="app.example.com/tier")) == ["agent_b"]
    assert ids(FilterTerm("labels", FilterOp.EQ, "y", key="team")) == ["agent_b"]


def test_uncommitted_work_is_rolled_back(database, workspace):
    with UnitOfWork(database, write=True) as uow:
        uow.agents.add(_agent(workspace, "agent_a", {}))
    with UnitOfWork(database, write=False) as uow:
        assert uow.agents.get(workspace.id, "agent_a") is None


def test_bootstrap_happens_once(database):
    tenancy = TenancyService(database, FakeClock(NOW))
    first, second = tenancy.bootstrap(), tenancy.bootstrap()
    assert first.admin_key is not None
    assert first.admin_key.info.secret.startswith("sdl_")
    assert second.admin_key is None
    assert first.principal == second.principal
    assert first.default_workspace == second.default_workspace


def test_bootstrap_stores_only_the_digest_of_a_chosen_secret(database):
    secret = "sdl_chosen-by-the-operator-0123456789"
    bootstrap = TenancyService(database, FakeClock(NOW)).bootstrap(secret)
    assert bootstrap.admin_key is not None
    assert bootstrap.admin_key.info.secret == secret
    with UnitOfWork(database, write=False) as uow:
        found = uow.tenancy.find_api_key(hash_secret(secret))
    assert found is not None
    key, stored = found
    assert stored == hash_secret(secret) != secret
    assert key.info.secret == ""
    assert key.spec.role is Role.ADMIN


@pytest.mark.parametrize(
    "secret", ["short", "has a space in it 0123456789", "a.b.c-0123456789012345"]
)
def test_bootstrap_refuses_a_weak_or_ambiguous_secret(database, secret):
    with pytest.raises(ValueError, match="secret") as caught:
        TenancyService(database, FakeClock(NOW)).bootstrap(secret)
    assert secret not in str(caught.value)
