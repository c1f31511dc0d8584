"""What a write that meets a concurrent transaction's key raises, against real SQLite and
PostgreSQL databases: DuplicateKeyError for a duplicate key, nothing new for other
constraint violations."""

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from sundial.store.duplicate_keys import DuplicateKeyError
from sundial.store.models import IdempotencyKeyRow, ScheduleRow
from sundial.store.repositories.idempotency import IdempotencyRecord
from sundial.store.unit_of_work import UnitOfWork


def _request_key(tenant: Any, resource_id: str) -> IdempotencyKeyRow:
    return IdempotencyKeyRow(
        workspace_id=tenant.workspace_id,
        operation="CreateAgentSchedule",
        request_id="dup-1",
        fingerprint="f",
        resource_id=resource_id,
        created_at=tenant.clock.now(),
    )


def test_a_commit_that_meets_a_duplicate_key_raises_duplicate_key_error(database, tenant):
    with UnitOfWork(database, write=True) as uow:
        uow.session.add(_request_key(tenant, "sched_a"))
        uow.commit()
    with UnitOfWork(database, write=True) as uow:
        uow.session.add(_request_key(tenant, "sched_b"))
        with pytest.raises(DuplicateKeyError):
            uow.commit()


def test_a_commit_that_breaks_another_constraint_is_no_duplicate_key(database, tenant):
    schedule_id = tenant.schedule()
    with UnitOfWork(database, write=True) as uow:
        row = uow.session.get_one(ScheduleRow, schedule_id)
        row.agent_id = "agent_none"  # no such agent: a foreign key violation
        with pytest.raises(IntegrityError) as caught:
            uow.commit()
    assert not isinstance(caught.value, DuplicateKeyError)


def test_recording_a_request_id_twice_raises_duplicate_key_error_at_once(database, tenant):
    record = IdempotencyRecord("f", "sched_a", tenant.clock.now())
    with UnitOfWork(database, write=True) as uow:
        uow.idempotency.add(tenant.workspace_id, "CreateAgentSchedule", "dup-2", record)
        uow.commit()
    with UnitOfWork(database, write=True) as uow, pytest.raises(DuplicateKeyError):
        uow.idempotency.add(tenant.workspace_id, "CreateAgentSchedule", "dup-2", record)
