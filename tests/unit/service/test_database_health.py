"""The database watcher: down on the first unavailable error, one warning per outage however
many calls fail, up again by itself once a ping succeeds."""

import threading
import time
from collections.abc import Callable

from sundial.service.database_health import DatabaseWatcher
from sundial.store.errors import DatabaseUnavailableError

DEADLINE_SECONDS = 30


class FakeDatabase:
    def __init__(self) -> None:
        self.down = False
        self.listeners: list[Callable[[DatabaseUnavailableError], None]] = []

    def add_unavailable_listener(self, listener: Callable[[DatabaseUnavailableError], None]):
        self.listeners.append(listener)

    def ping(self) -> None:
        if self.down:
            raise self.fail()

    def fail(self) -> DatabaseUnavailableError:
        """What the store does on a failed call: tell the listeners, then raise."""
        error = DatabaseUnavailableError("OperationalError: connection refused")
        for listener in self.listeners:
            listener(error)
        return error


def _wait_for(changes: list[bool], expected: list[bool]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while changes != expected:
        assert time.monotonic() < deadline, changes
        time.sleep(0.01)


def test_one_warning_per_outage_and_back_by_itself(caplog):
    database = FakeDatabase()
    watcher = DatabaseWatcher(database, down_poll_seconds=0.01, up_poll_seconds=0.01)  # type: ignore[arg-type]
    changes: list[bool] = []
    lock = threading.Lock()

    def changed(available: bool) -> None:
        with lock:
            changes.append(available)

    watcher.on_change(changed)
    with caplog.at_level("INFO", logger="sundial.database"):
        watcher.start()
        try:
            assert watcher.available
            database.down = True
            for _ in range(20):  # twenty calls fail during the outage
                database.fail()
            assert not watcher.available
            _wait_for(changes, [False])
            database.down = False
            _wait_for(changes, [False, True])
            assert watcher.available
        finally:
            watcher.stop()
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert caplog.records[0].getMessage().startswith("the database is unavailable")
    assert caplog.records[1].getMessage().startswith("the database is available again")
    assert "connection refused" in caplog.records[0].getMessage()


def test_a_database_down_at_start_is_reported_down():
    database = FakeDatabase()
    database.down = True
    watcher = DatabaseWatcher(database, down_poll_seconds=0.01)  # type: ignore[arg-type]
    watcher.start()
    try:
        assert not watcher.available
    finally:
        watcher.stop()
