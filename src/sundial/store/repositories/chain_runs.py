"""Chain runs and their nodes. A node leaves WAITING through `start_node`, an update that
only matches a WAITING row: whichever transaction gets there first starts it, and any other
changes nothing (the key (run, node name) is the row's primary key)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sundial.domain.chains import (
    ChainNodeStatus,
    ChainRun,
    ChainRunInfo,
    ChainRunNode,
    ChainRunSpec,
    ChainRunStatus,
)
from sundial.domain.listing import ListQuery
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.objectives import ObjectiveStatus
from sundial.store.codec import from_json, to_json
from sundial.store.models import ChainRow, ChainRunNodeRow, ChainRunRow, ProfileRow
from sundial.store.repositories.common import apply_listing, etag_of
from sundial.store.repositories.tenancy import profile_of

_FILTERABLE: dict[str, Any] = {
    "status": ChainRunRow.status,
    "schedule_id": ChainRunRow.schedule_id,
    "trigger_kind": ChainRunRow.trigger_kind,
}
_IN_FLIGHT = ChainRunStatus.RUNNING.name


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to insert, its nodes WAITING (the caller starts the roots)."""

    run_id: str
    account_id: str
    workspace_id: str
    chain_id: str
    profile_id: str
    trigger_kind: str
    schedule_id: str
    scheduled_time: datetime
    request_key: str
    spec: ChainRunSpec
    node_names: Sequence[str]


@dataclass(frozen=True, slots=True)
class RunNodeState:
    """A node row as the state machine reads it."""

    name: str
    status: ChainNodeStatus
    objective_ids: tuple[str, ...]
    data: Any


class ChainRunRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def insert(self, run: NewRun, now: datetime) -> None:
        self._session.add(
            ChainRunRow(
                id=run.run_id,
                account_id=run.account_id,
                workspace_id=run.workspace_id,
                chain_id=run.chain_id,
                profile_id=run.profile_id,
                status=ChainRunStatus.RUNNING.name,
                trigger_kind=run.trigger_kind,
                schedule_id=run.schedule_id,
                scheduled_time=run.scheduled_time,
                request_key=run.request_key,
                chain_revision=select(ChainRow.revision)
                .where(ChainRow.id == run.chain_id)
                .scalar_subquery(),
                spec=to_json(run.spec),
                created_at=now,
                updated_at=now,
                ended_at=None,
            )
        )
        # The run's row first: its nodes' foreign key names it.
        self._session.flush()
        self._session.add_all(
            ChainRunNodeRow(
                chain_run_id=run.run_id,
                node_name=name,
                position=position,
                status=ChainNodeStatus.WAITING.name,
                objective_ids=[],
                objective_status=ObjectiveStatus.UNSPECIFIED.name,
                error="",
                data=None,
                started_at=None,
                ended_at=None,
                updated_at=now,
            )
            for position, name in enumerate(run.node_names)
        )
        self._session.flush()

    def find_by_request(self, chain_id: str, request_key: str) -> str | None:
        """The run a start with this key made, if any."""
        statement = select(ChainRunRow.id).where(
            ChainRunRow.chain_id == chain_id, ChainRunRow.request_key == request_key
        )
        return self._session.execute(statement).scalar()

    def get(self, workspace_id: str, run_id: str, *, for_update: bool = False) -> ChainRun | None:
        """The run with its nodes; `for_update` locks its row, which serializes every step
        of the run (two upstream ends of one fan-in each see the other's)."""
        statement = select(ChainRunRow).where(
            ChainRunRow.workspace_id == workspace_id, ChainRunRow.id == run_id
        )
        if for_update:
            statement = statement.with_for_update()
        row = self._session.execute(statement).scalar()
        if row is None:
            return None
        return self._runs_of([row])[0]

    def list_page(self, workspace_id: str, chain_id: str, query: ListQuery) -> list[ChainRun]:
        statement = select(ChainRunRow).where(ChainRunRow.workspace_id == workspace_id)
        if chain_id:
            statement = statement.where(ChainRunRow.chain_id == chain_id)
        statement = apply_listing(statement, ChainRunRow, query, _FILTERABLE)
        return self._runs_of(list(self._session.execute(statement).scalars()))

    def in_flight_ids(self, chain_id: str) -> list[str]:
        """The chain's RUNNING runs, oldest first (the overlap policy's count)."""
        statement = (
            select(ChainRunRow.id)
            .where(ChainRunRow.chain_id == chain_id, ChainRunRow.status == _IN_FLIGHT)
            .order_by(ChainRunRow.id)
        )
        return list(self._session.execute(statement).scalars())

    def nodes(self, run_id: str) -> list[RunNodeState]:
        """The run's nodes in the chain's order."""
        statement = (
            select(ChainRunNodeRow)
            .where(ChainRunNodeRow.chain_run_id == run_id)
            .order_by(ChainRunNodeRow.position)
        )
        return [
            RunNodeState(
                name=row.node_name,
                status=ChainNodeStatus[row.status],
                objective_ids=tuple(row.objective_ids),
                data=row.data,
            )
            for row in self._session.execute(statement).scalars()
        ]

    def start_node(
        self, run_id: str, name: str, objective_id: str, data: Any, now: datetime
    ) -> bool:
        """WAITING -> RUNNING with its first objective; False (nothing changed) if the node
        had left WAITING already."""
        result = self._session.execute(
            update(ChainRunNodeRow)
            .where(
                ChainRunNodeRow.chain_run_id == run_id,
                ChainRunNodeRow.node_name == name,
                ChainRunNodeRow.status == ChainNodeStatus.WAITING.name,
            )
            .values(
                status=ChainNodeStatus.RUNNING.name,
                objective_ids=[objective_id],
                objective_status=ObjectiveStatus.PENDING.name,
                data=data,
                started_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def fail_unstartable(self, run_id: str, name: str, now: datetime) -> bool:
        """WAITING -> FAILED without an objective (its agent or schedule is gone)."""
        result = self._session.execute(
            update(ChainRunNodeRow)
            .where(
                ChainRunNodeRow.chain_run_id == run_id,
                ChainRunNodeRow.node_name == name,
                ChainRunNodeRow.status == ChainNodeStatus.WAITING.name,
            )
            .values(
                status=ChainNodeStatus.FAILED.name, started_at=now, ended_at=now, updated_at=now
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def add_attempt(
        self, run_id: str, name: str, objective_ids: Sequence[str], now: datetime
    ) -> None:
        """A retry of the node's objective joined it."""
        self._set_node(
            run_id,
            name,
            objective_ids=list(objective_ids),
            objective_status=ObjectiveStatus.PENDING.name,
            updated_at=now,
        )

    def end_node(
        self,
        run_id: str,
        name: str,
        status: ChainNodeStatus,
        objective_status: ObjectiveStatus,
        now: datetime,
    ) -> None:
        self._set_node(
            run_id,
            name,
            status=status.name,
            objective_status=objective_status.name,
            ended_at=now,
            updated_at=now,
        )

    def skip_nodes(
        self, run_id: str, names: Sequence[str], status: ChainNodeStatus, now: datetime
    ) -> None:
        """WAITING nodes that will never run: SKIPPED, or CANCELLED with their run."""
        if not names:
            return
        self._session.execute(
            update(ChainRunNodeRow)
            .where(
                ChainRunNodeRow.chain_run_id == run_id,
                ChainRunNodeRow.node_name.in_(list(names)),
                ChainRunNodeRow.status == ChainNodeStatus.WAITING.name,
            )
            .values(status=status.name, ended_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    def note_error(self, run_id: str, name: str, error: str, now: datetime) -> None:
        """Adds a line to the node's run-time errors (kept to the column's 4096 characters)."""
        statement = select(ChainRunNodeRow.error).where(
            ChainRunNodeRow.chain_run_id == run_id, ChainRunNodeRow.node_name == name
        )
        before = self._session.execute(statement).scalar() or ""
        text = f"{before}\n{error}" if before else error
        self._set_node(run_id, name, error=text[:4096], updated_at=now)

    def end_run(self, run_id: str, status: ChainRunStatus, now: datetime) -> None:
        self._session.execute(
            update(ChainRunRow)
            .where(ChainRunRow.id == run_id)
            .values(status=status.name, ended_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    def touch(self, run_id: str, now: datetime) -> None:
        """A node of the run moved (its etag changes)."""
        self._session.execute(
            update(ChainRunRow)
            .where(ChainRunRow.id == run_id)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )

    def _set_node(self, run_id: str, name: str, **values: Any) -> None:
        self._session.execute(
            update(ChainRunNodeRow)
            .where(ChainRunNodeRow.chain_run_id == run_id, ChainRunNodeRow.node_name == name)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    def _runs_of(self, rows: list[ChainRunRow]) -> list[ChainRun]:
        if not rows:
            return []
        ids = [row.id for row in rows]
        nodes: dict[str, list[ChainRunNode]] = {run_id: [] for run_id in ids}
        statement = (
            select(ChainRunNodeRow)
            .where(ChainRunNodeRow.chain_run_id.in_(ids))
            .order_by(ChainRunNodeRow.chain_run_id, ChainRunNodeRow.position)
        )
        for node in self._session.execute(statement).scalars():
            nodes[node.chain_run_id].append(
                ChainRunNode(
                    name=node.node_name,
                    status=ChainNodeStatus[node.status],
                    objective_ids=tuple(node.objective_ids),
                    started_at=node.started_at,
                    ended_at=node.ended_at,
                    objective_status=ObjectiveStatus[node.objective_status],
                    error=node.error,
                )
            )
        profile_ids = {row.profile_id for row in rows}
        profiles = {
            profile.id: profile_of(profile)
            for profile in self._session.execute(
                select(ProfileRow).where(ProfileRow.id.in_(profile_ids))
            ).scalars()
        }
        return [
            ChainRun(
                metadata=ResourceMetadata(
                    id=row.id,
                    account_id=row.account_id,
                    workspace_id=row.workspace_id,
                    profile_id=row.profile_id,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    etag=etag_of(row.id, int(row.updated_at.timestamp() * 1_000_000)),
                ),
                spec=from_json(ChainRunSpec, row.spec),
                info=ChainRunInfo(
                    status=ChainRunStatus[row.status],
                    nodes=tuple(nodes[row.id]),
                    started_at=row.created_at,
                    ended_at=row.ended_at,
                    created_by=profiles.get(row.profile_id),
                ),
            )
            for row in rows
        ]
