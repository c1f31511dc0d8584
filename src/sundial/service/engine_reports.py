"""Each process running the firing engine reports its passes to the database (table
engine_replicas), so that engine status, answered by any replica (or an API-only one),
lists the replicas seen recently with their last pass. A report is one small upsert, made
at most once a second, after a pass."""

import os
import secrets
import socket
from datetime import datetime, timedelta

from sundial.domain.clock import Clock
from sundial.domain.insight import EngineReplica
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

REPORT_EVERY = timedelta(seconds=1)
# Reports of replicas gone this long are deleted (at a replica's first report).
FORGET_AFTER = timedelta(days=1)


def new_replica_id() -> str:
    """`host:pid:random`: distinct for every start, readable for the operator."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class EngineReporter:
    """Called after each pass with how many schedules it examined."""

    def __init__(self, database: Database, clock: Clock, replica_id: str) -> None:
        self._database = database
        self._clock = clock
        self.replica_id = replica_id
        self._started_at: datetime | None = None
        self._reported_at: datetime | None = None

    def __call__(self, schedules_examined: int) -> None:
        now = self._clock.now()
        if self._reported_at is not None and now - self._reported_at < REPORT_EVERY:
            return
        first = self._started_at is None
        if self._started_at is None:
            self._started_at = now
        with UnitOfWork(self._database, write=True) as uow:
            if first:
                uow.insight.forget_replicas_before(now - FORGET_AFTER)
            uow.insight.report_replica(
                EngineReplica(
                    replica_id=self.replica_id,
                    started_at=self._started_at,
                    last_seen_at=now,
                    last_pass_at=now,
                    schedules_examined=schedules_examined,
                )
            )
            uow.commit()
        self._reported_at = now
