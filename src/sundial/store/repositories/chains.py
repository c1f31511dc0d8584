"""Chains: their nodes and edges (the spec document) and the counters of their runs.

The runs themselves (chain_runs, chain_run_nodes) are written by the run use cases; this
repository reads them only for a chain's info (its last run) and to refuse deleting a chain
while a run of it is in flight."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from sundial.domain.chains import Chain, ChainInfo, ChainRunStatus, ChainSpec
from sundial.domain.listing import ListQuery
from sundial.store.codec import from_json, to_json
from sundial.store.models import ChainRow, ChainRunNodeRow, ChainRunRow, ProfileRow, ScheduleRow
from sundial.store.repositories.common import apply_listing, metadata_of, write_metadata
from sundial.store.repositories.tenancy import profile_of

_FILTERABLE: dict[str, Any] = {
    "name": ChainRow.name,
    "external_id": ChainRow.external_id,
    "bundle_key": ChainRow.bundle_key,
}

_LastRun = aliased(ChainRunRow, name="last_run")


class ChainRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, chain: Chain) -> None:
        meta = chain.metadata
        assert meta.created_at is not None
        row = ChainRow(
            id=meta.id,
            account_id=meta.account_id,
            workspace_id=meta.workspace_id,
            profile_id=meta.profile_id,
            spec=to_json(chain.spec),
            run_count=0,
            last_run_id="",
            revision=1,
            created_at=meta.created_at,
            updated_at=meta.created_at,
        )
        write_metadata(row, meta)
        self._session.add(row)
        self._session.flush()

    def get(self, workspace_id: str, chain_id: str, *, for_update: bool = False) -> Chain | None:
        statement = _GET_FOR_UPDATE if for_update else _GET
        found = self._session.execute(
            statement, {"workspace_id": workspace_id, "chain_id": chain_id}
        ).first()
        if found is None:
            return None
        row, profile, last_run = found
        schedules = self.referrers(workspace_id, [chain_id])
        return _chain_of(row, profile, last_run, schedules.get(chain_id, ()))

    def naming(self, workspace_id: str, resource_ids: Sequence[str]) -> list[str]:
        """The ids of the workspace's chains with a node whose `agent_id` or `schedule_id`
        is one of `resource_ids`, oldest first. As `referrers`: a text match on the
        (random) ids finds the candidates portably, then each document is checked exactly."""
        if not resource_ids:
            return []
        text = cast(ChainRow.spec, String)
        statement = (
            select(ChainRow.id, ChainRow.spec)
            .where(
                ChainRow.workspace_id == workspace_id,
                or_(*(text.contains(i, autoescape=True) for i in resource_ids)),
            )
            .order_by(ChainRow.id)
        )
        wanted = set(resource_ids)
        return [
            chain_id
            for chain_id, spec in self._session.execute(statement)
            if _names_node_target(spec, wanted)
        ]

    def naming_agent(self, workspace_id: str, agent_id: str) -> list[str]:
        """`naming` the agent or any of its schedules (what deleting the agent removes)."""
        schedules = select(ScheduleRow.id).where(
            ScheduleRow.workspace_id == workspace_id, ScheduleRow.agent_id == agent_id
        )
        return self.naming(workspace_id, [agent_id, *self._session.scalars(schedules)])

    def list(self, workspace_id: str, query: ListQuery) -> list[Chain]:
        statement = apply_listing(
            _select().where(ChainRow.workspace_id == workspace_id), ChainRow, query, _FILTERABLE
        )
        found = self._session.execute(statement).all()
        schedules = self.referrers(workspace_id, [row.id for row, _, _ in found])
        return [
            _chain_of(row, profile, last, schedules.get(row.id, ())) for row, profile, last in found
        ]

    def update(self, chain: Chain) -> None:
        """Writes the chain's metadata and spec and bumps its revision (the row is locked)."""
        row = self._session.get_one(ChainRow, chain.metadata.id)
        write_metadata(row, chain.metadata)
        row.spec = to_json(chain.spec)
        assert chain.metadata.updated_at is not None
        row.updated_at = chain.metadata.updated_at
        row.revision += 1
        self._session.flush()

    def note_run(self, chain_id: str, run_id: str) -> None:
        """Counts a new run and makes it the last one. Not a change of the chain: the
        revision (the etag) stays, so a schedule's fire never fails a user's guarded update."""
        self._session.execute(
            update(ChainRow)
            .where(ChainRow.id == chain_id)
            .values(run_count=ChainRow.run_count + 1, last_run_id=run_id)
        )

    def has_running_runs(self, chain_id: str) -> bool:
        statement = select(
            exists().where(
                ChainRunRow.chain_id == chain_id,
                ChainRunRow.status == ChainRunStatus.RUNNING.name,
            )
        )
        return bool(self._session.execute(statement).scalar())

    def delete(self, workspace_id: str, chain_id: str) -> None:
        """Deletes the chain and its (ended) runs with their nodes. Objectives the runs made
        stay, as an agent's objectives outlive a deleted schedule."""
        runs = select(ChainRunRow.id).where(ChainRunRow.chain_id == chain_id)
        self._session.execute(delete(ChainRunNodeRow).where(ChainRunNodeRow.chain_run_id.in_(runs)))
        self._session.execute(delete(ChainRunRow).where(ChainRunRow.chain_id == chain_id))
        self._session.execute(
            delete(ChainRow).where(ChainRow.workspace_id == workspace_id, ChainRow.id == chain_id)
        )

    def referrers(self, workspace_id: str, chain_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The ids of the workspace's schedules whose spec's `chain_id` is each of
        `chain_ids` (oldest first). As WebhookRepository.referrers: a text match on the
        (random) id finds the candidates portably, then each document is checked exactly."""
        if not chain_ids:
            return {}
        text = cast(ScheduleRow.spec, String)
        statement = (
            select(ScheduleRow.id, ScheduleRow.spec)
            .where(
                ScheduleRow.workspace_id == workspace_id,
                or_(*(text.contains(chain_id, autoescape=True) for chain_id in chain_ids)),
            )
            .order_by(ScheduleRow.id)
        )
        found: dict[str, list[str]] = {}
        wanted = set(chain_ids)
        for schedule_id, spec in self._session.execute(statement):
            chain_id = spec.get("chain_id") if isinstance(spec, dict) else None
            if chain_id in wanted:
                found.setdefault(chain_id, []).append(schedule_id)
        return {chain_id: tuple(ids) for chain_id, ids in found.items()}


def _names_node_target(spec: dict[str, Any], wanted: set[str]) -> bool:
    nodes = spec.get("nodes") or []
    return any(
        isinstance(node, dict)
        and (node.get("agent_id") in wanted or node.get("schedule_id") in wanted)
        for node in nodes
    )


def _select() -> Any:
    """A chain with its creator's profile and its last run (both may be missing)."""
    return (
        select(ChainRow, ProfileRow, _LastRun)
        .outerjoin(ProfileRow, ProfileRow.id == ChainRow.profile_id)
        .outerjoin(_LastRun, _LastRun.id == ChainRow.last_run_id)
    )


_GET = _select().where(
    ChainRow.workspace_id == bindparam("workspace_id"), ChainRow.id == bindparam("chain_id")
)
_GET_FOR_UPDATE = _GET.with_for_update(of=ChainRow)


def _chain_of(
    row: ChainRow,
    profile: ProfileRow | None,
    last_run: ChainRunRow | None,
    schedule_ids: tuple[str, ...],
) -> Chain:
    last_run_at: datetime | None = None if last_run is None else last_run.created_at
    return Chain(
        metadata=metadata_of(row),
        spec=from_json(ChainSpec, row.spec),
        info=ChainInfo(
            created_by=None if profile is None else profile_of(profile),
            run_count=row.run_count,
            last_run_id=row.last_run_id,
            last_run_status=(
                ChainRunStatus.UNSPECIFIED if last_run is None else ChainRunStatus[last_run.status]
            ),
            last_run_at=last_run_at,
            schedule_ids=schedule_ids,
        ),
    )
