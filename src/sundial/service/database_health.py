"""Whether the database can be reached, in one place: gRPC health and /readyz follow it,
and the firing loop is woken when it is back."""

import logging
import threading
import time
from collections.abc import Callable

from sundial.store.database import Database
from sundial.store.errors import DatabaseUnavailableError

logger = logging.getLogger("sundial.database")

# While the database is down it is pinged often, so that service resumes soon after it is
# back; while it is up, seldom, so that an outage shows in health even without traffic.
DOWN_POLL_SECONDS = 0.5
UP_POLL_SECONDS = 5.0


class DatabaseWatcher:
    """Marks the database down on every DatabaseUnavailableError it raises (and when a
    ping fails), up again when a ping succeeds; tells its listeners of each change, and logs
    one WARNING per outage and one INFO when it ends."""

    def __init__(
        self,
        database: Database,
        *,
        down_poll_seconds: float = DOWN_POLL_SECONDS,
        up_poll_seconds: float = UP_POLL_SECONDS,
    ) -> None:
        self._database = database
        self._down_poll_seconds = down_poll_seconds
        self._up_poll_seconds = up_poll_seconds
        self._lock = threading.Lock()
        # Listeners run one change at a time and see the state as it is when they run, so a
        # quick down-up can never leave them believing "down".
        self._notify_lock = threading.Lock()
        self._available = True
        self._down_since = 0.0
        self._listeners: list[Callable[[bool], None]] = []
        self._poll_now = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        database.add_unavailable_listener(self._on_unavailable)

    @property
    def available(self) -> bool:
        return self._available

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """`listener(available)` is called after each change."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Pings once now, then keeps watching from a background thread."""
        self.check()
        self._thread = threading.Thread(target=self._run, name="database-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._poll_now.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def check(self) -> bool:
        """Pings the database and records the result; returns whether it is available."""
        try:
            self._database.ping()
        except DatabaseUnavailableError as error:
            self._mark(available=False, detail=error.detail)
        except Exception as error:
            # Not an outage as the store defines one, but no ping answered either.
            self._mark(available=False, detail=f"{type(error).__name__}: {error}")
        else:
            self._mark(available=True, detail="")
        return self._available

    def _on_unavailable(self, error: DatabaseUnavailableError) -> None:
        self._mark(available=False, detail=error.detail)
        self._poll_now.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._available:
                self._poll_now.wait(self._up_poll_seconds)
                self._poll_now.clear()
            else:
                # Not woken by failures while down: under load they come with every call.
                self._stop.wait(self._down_poll_seconds)
            if self._stop.is_set():
                return
            self.check()

    def _mark(self, *, available: bool, detail: str) -> None:
        with self._lock:
            if available == self._available:
                return
            self._available = available
            if available:
                logger.info(
                    "the database is available again after %.1f s",
                    time.monotonic() - self._down_since,
                )
            else:
                self._down_since = time.monotonic()
                logger.warning(
                    "the database is unavailable (%s): calls answer UNAVAILABLE and firing "
                    "waits until it is back",
                    detail,
                )
        with self._notify_lock:
            state = self._available
            for listener in self._listeners:
                listener(state)
