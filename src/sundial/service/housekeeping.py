"""What the engine does after each pass: time out objectives whose lease or deadline passed,
have SQLite's write-ahead log checkpointed in the background (not inside a commit), and now and
then delete request ids past their lifetime, so that table does not only grow."""

from datetime import datetime, timedelta

from sundial.domain.clock import Clock
from sundial.service.idempotency import purge_expired
from sundial.service.objectives import ObjectiveService
from sundial.store.database import Database

PURGE_EVERY = timedelta(minutes=1)


class Housekeeping:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        objectives: ObjectiveService,
        *,
        purge_every: timedelta = PURGE_EVERY,
    ) -> None:
        self._database = database
        self._clock = clock
        self._objectives = objectives
        self._purge_every = purge_every
        self._last_purge: datetime | None = None

    def __call__(self) -> None:
        self._objectives.reap()
        self._database.request_checkpoint()
        now = self._clock.now()
        if self._last_purge is None or now - self._last_purge >= self._purge_every:
            self._last_purge = now
            purge_expired(self._database, self._clock)
