"""Rows of the chain tables written directly, for the tests of the chain resource that need
a state only the run service makes (a run in flight, a schedule that fires a chain)."""

from datetime import datetime

from sqlalchemy import update

from sundial.domain.chains import ChainRunStatus, ChainTriggerKind
from sundial.domain.ids import IdPrefix, new_id
from sundial.store.database import Database
from sundial.store.models import ChainRunRow, ScheduleRow
from sundial.store.unit_of_work import UnitOfWork


def fire_chain_from(database: Database, schedule_id: str, chain_id: str) -> None:
    """Makes the schedule's stored spec name the chain in `chain_id`, as a schedule written
    to fire a chain stores it."""
    with UnitOfWork(database, write=True) as uow:
        row = uow.session.get_one(ScheduleRow, schedule_id)
        spec = dict(row.spec)
        spec["chain_id"] = chain_id
        uow.session.execute(
            update(ScheduleRow).where(ScheduleRow.id == schedule_id).values(spec=spec)
        )
        uow.commit()


def insert_run(
    database: Database,
    *,
    account_id: str,
    workspace_id: str,
    chain_id: str,
    at: datetime,
    status: ChainRunStatus = ChainRunStatus.RUNNING,
) -> str:
    """A manual run of the chain with no nodes, as its row alone; returns its id."""
    run_id = new_id(IdPrefix.CHAIN_RUN)
    with UnitOfWork(database, write=True) as uow:
        uow.session.add(
            ChainRunRow(
                id=run_id,
                account_id=account_id,
                workspace_id=workspace_id,
                chain_id=chain_id,
                profile_id="",
                status=status.name,
                trigger_kind=ChainTriggerKind.MANUAL.name,
                schedule_id="",
                scheduled_time=at,
                request_key=run_id,
                chain_revision=1,
                spec={},
                created_at=at,
                updated_at=at,
                ended_at=None if status is ChainRunStatus.RUNNING else at,
            )
        )
        uow.chains.note_run(chain_id, run_id)
        uow.commit()
    return run_id
