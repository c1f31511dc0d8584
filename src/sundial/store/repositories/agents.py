"""Agents. A PUSH agent's signing secret is kept in its own column, never in the stored
spec (the field is INPUT_ONLY), and only PUSH agents have one: a non-empty `push_secret` is
how the pusher's claim query tells PUSH agents from PULL ones without reading specs."""

import typing
from dataclasses import replace
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.orm import Session

from sundial.domain.agents import Agent, AgentInfo, AgentSpec, push_secret_hint
from sundial.domain.listing import ListQuery
from sundial.store.codec import from_json, to_json
from sundial.store.models import AgentRow, ProfileRow, ScheduleRow
from sundial.store.repositories.common import apply_listing, metadata_of, write_metadata
from sundial.store.repositories.tenancy import profile_of

_FILTERABLE: dict[str, Any] = {
    "name": AgentRow.name,
    "external_id": AgentRow.external_id,
    "bundle_key": AgentRow.bundle_key,
}


class AgentRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, agent: Agent, *, push_secret: str = "") -> None:
        """Stores the agent; `push_secret` is its signing secret when it is a PUSH agent."""
        meta = agent.metadata
        assert meta.created_at is not None
        row = AgentRow(
            id=meta.id,
            account_id=meta.account_id,
            workspace_id=meta.workspace_id,
            profile_id=meta.profile_id,
            spec=to_json(without_secret(agent.spec)),
            push_secret=push_secret,
            revision=1,
            created_at=meta.created_at,
            updated_at=meta.created_at,
        )
        write_metadata(row, meta)
        self._session.add(row)
        self._session.flush()

    def get(self, workspace_id: str, agent_id: str, *, for_update: bool = False) -> Agent | None:
        statement = _GET_FOR_UPDATE if for_update else _GET
        found = self._session.execute(
            statement, {"workspace_id": workspace_id, "agent_id": agent_id}
        ).first()
        return None if found is None else _agent_of(*found)

    def spec_of(self, workspace_id: str, agent_id: str) -> AgentSpec | None:
        """Only the agent's spec (its variations): what a schedule is checked against."""
        document = self._session.execute(
            _SPEC_OF, {"workspace_id": workspace_id, "agent_id": agent_id}
        ).scalar()
        return None if document is None else from_json(AgentSpec, document)

    def list(self, workspace_id: str, query: ListQuery) -> list[Agent]:
        statement = apply_listing(
            _select().where(AgentRow.workspace_id == workspace_id),
            AgentRow,
            query,
            _FILTERABLE,
        )
        return [_agent_of(*found) for found in self._session.execute(statement)]

    def push_secret_of(self, agent_id: str) -> str:
        """The agent's push signing secret ("" for a PULL agent or none such)."""
        secret = self._session.execute(_PUSH_SECRET_OF, {"agent_id": agent_id}).scalar()
        return secret or ""

    def update(self, agent: Agent, *, push_secret: str | None = None) -> None:
        """Writes the agent's metadata and spec and bumps its revision (the row is locked);
        `push_secret` replaces the stored secret unless None ("" removes it)."""
        row = self._session.get_one(AgentRow, agent.metadata.id)
        write_metadata(row, agent.metadata)
        row.spec = to_json(without_secret(agent.spec))
        if push_secret is not None:
            row.push_secret = push_secret
        assert agent.metadata.updated_at is not None
        row.updated_at = agent.metadata.updated_at
        row.revision += 1
        self._session.flush()

    def delete(self, workspace_id: str, agent_id: str) -> None:
        self._session.execute(
            delete(ScheduleRow).where(
                ScheduleRow.workspace_id == workspace_id, ScheduleRow.agent_id == agent_id
            )
        )
        self._session.execute(
            delete(AgentRow).where(AgentRow.workspace_id == workspace_id, AgentRow.id == agent_id)
        )


def _select() -> Any:
    """An agent with its creator's profile and its number of schedules."""
    schedule_count = (
        select(func.count(ScheduleRow.id))
        .where(ScheduleRow.agent_id == AgentRow.id)
        .correlate(AgentRow)
        .scalar_subquery()
    )
    return select(AgentRow, ProfileRow, schedule_count).outerjoin(
        ProfileRow, ProfileRow.id == AgentRow.profile_id
    )


_GET = _select().where(
    AgentRow.workspace_id == bindparam("workspace_id"), AgentRow.id == bindparam("agent_id")
)
_GET_FOR_UPDATE = _GET.with_for_update(of=AgentRow)
_agents = typing.cast(Table, AgentRow.__table__)
_SPEC_OF: Any = select(_agents.c.spec).where(
    _agents.c.workspace_id == bindparam("workspace_id"), _agents.c.id == bindparam("agent_id")
)

_PUSH_SECRET_OF: Any = select(_agents.c.push_secret).where(_agents.c.id == bindparam("agent_id"))


def without_secret(spec: AgentSpec) -> AgentSpec:
    """The spec as stored and shown: the push secret (INPUT_ONLY) taken out."""
    if spec.push is None or not spec.push.secret:
        return spec
    return replace(spec, push=replace(spec.push, secret=""))


def _agent_of(row: AgentRow, profile: ProfileRow | None, schedule_count: int) -> Agent:
    return Agent(
        metadata=metadata_of(row),
        spec=from_json(AgentSpec, row.spec),
        info=AgentInfo(
            created_by=None if profile is None else profile_of(profile),
            schedule_count=schedule_count,
            push_secret_hint=push_secret_hint(row.push_secret),
        ),
    )
