"""One transaction of one use case. The use case (never a repository) decides when to commit."""

from types import TracebackType
from typing import Self

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from sundial.store.database import Database
from sundial.store.duplicate_keys import duplicate_keys_raised
from sundial.store.repositories.agents import AgentRepository
from sundial.store.repositories.chain_runs import ChainRunRepository
from sundial.store.repositories.chains import ChainRepository
from sundial.store.repositories.deliveries import DeliveryRepository
from sundial.store.repositories.dispatch import DispatchRepository
from sundial.store.repositories.idempotency import IdempotencyRepository
from sundial.store.repositories.insight import InsightRepository
from sundial.store.repositories.objectives import ObjectiveRepository
from sundial.store.repositories.outbox import OutboxRepository
from sundial.store.repositories.schedules import ScheduleRepository
from sundial.store.repositories.tenancy import TenancyRepository
from sundial.store.repositories.webhooks import WebhookRepository


class UnitOfWork:
    """A session with the repositories bound to it. Rolls back unless `commit()` was called."""

    agents: AgentRepository
    schedules: ScheduleRepository
    tenancy: TenancyRepository
    idempotency: IdempotencyRepository
    objectives: ObjectiveRepository
    insight: InsightRepository
    dispatch: DispatchRepository
    outbox: OutboxRepository
    webhooks: WebhookRepository
    deliveries: DeliveryRepository
    chains: ChainRepository
    chain_runs: ChainRunRepository

    def __init__(self, database: Database, *, write: bool) -> None:
        self._engine = database.writer if write else database.reader
        self._turn = database.write_turn if write else None
        self._session: Session | None = None

    def __enter__(self) -> Self:
        if self._turn is not None:
            self._turn.__enter__()
        session = Session(self._engine, expire_on_commit=False, autoflush=True)
        self._session = session
        self.agents = AgentRepository(session)
        self.schedules = ScheduleRepository(session)
        self.tenancy = TenancyRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.objectives = ObjectiveRepository(session)
        self.insight = InsightRepository(session)
        self.dispatch = DispatchRepository(session)
        self.outbox = OutboxRepository(session)
        self.webhooks = WebhookRepository(session)
        self.deliveries = DeliveryRepository(session)
        self.chains = ChainRepository(session)
        self.chain_runs = ChainRunRepository(session)
        return self

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    def commit(self) -> None:
        """Commits; DuplicateKeyError if a row it flushes meets a concurrent one's key."""
        with duplicate_keys_raised():
            self.session.commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = None
            if self._turn is not None:
                self._turn.__exit__(None, None, None)


class JoinedWork:
    """The repositories an outbox writer reads with, on a connection whose transaction the
    caller owns (the firing pass's Core connection): they join that transaction, and
    committing it stays the caller's."""

    agents: AgentRepository
    schedules: ScheduleRepository
    objectives: ObjectiveRepository
    outbox: OutboxRepository
    chains: ChainRepository
    chain_runs: ChainRunRepository

    def __init__(self, connection: Connection) -> None:
        # Joins the connection's transaction: closing the session leaves it as it is.
        self._session = Session(bind=connection, join_transaction_mode="rollback_only")

    def __enter__(self) -> Self:
        session = self._session
        self.agents = AgentRepository(session)
        self.schedules = ScheduleRepository(session)
        self.objectives = ObjectiveRepository(session)
        self.outbox = OutboxRepository(session)
        self.chains = ChainRepository(session)
        self.chain_runs = ChainRunRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._session.close()
