"""Engines for SQLite (embedded, single writer) and PostgreSQL (scale-out)."""

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

logger = logging.getLogger("sundial.store")

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite copies its write-ahead log back into the database file (a checkpoint) inside the
# commit that makes the log this long. The engine has it checkpointed in the background after
# each pass instead (Database.request_checkpoint), so no commit pays for it; this is the
# backstop.
SQLITE_AUTOCHECKPOINT_PAGES = 10_000


class Database:
    """The engines of one database: `writer` begins transactions that write, `reader` those
    that only read. On SQLite they differ (BEGIN IMMEDIATE takes the write lock up front, so
    two writers queue instead of failing mid-transaction); on PostgreSQL they are one engine.

    `write_turn` is held by each write transaction of this process. On SQLite, which takes
    one writer at a time, it is a lock: the process's writers queue on it rather than on
    SQLite's busy handler, which retries on a timer and, with several threads writing,
    cost more than the writes did (BENCHMARKS.md). Writers of other processes still meet
    the busy handler. On PostgreSQL, which takes concurrent writers, it does nothing."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            self.writer = _sqlite_engine(url, "BEGIN IMMEDIATE", echo=echo)
            self.reader = _sqlite_engine(url, "BEGIN", echo=echo)
            self._checkpointer: _Checkpointer | None = _Checkpointer(self.reader)
            # Reentrant: a thread may open a write transaction inside another, as before.
            self.write_turn: AbstractContextManager[object] = threading.RLock()
        elif self.dialect == "postgresql":
            self.writer = create_engine(
                url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
            self.reader = self.writer
            self._checkpointer = None
            self.write_turn = nullcontext()
        else:
            raise ValueError(
                f"unsupported database URL {url!r}: use sqlite:/// or postgresql+psycopg://"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def request_checkpoint(self) -> threading.Event:
        """On SQLite, asks a background thread to copy the write-ahead log into the database
        file (PASSIVE: it waits for no reader or writer, and its fsync holds up no commit);
        the event is set once that is done. Nothing to do on PostgreSQL."""
        if self._checkpointer is None:
            done = threading.Event()
            done.set()
            return done
        return self._checkpointer.request()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def _sqlite_engine(url: str, begin_statement: str, *, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, pool_size=8, max_overflow=8, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _configure_sqlite(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_statement)

    return engine


def _configure_sqlite(dbapi_connection: Any) -> None:
    # Take transactions away from the sqlite3 module so that we emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
    cursor.close()


class _Checkpointer:
    """One background thread that checkpoints SQLite's write-ahead log when asked; requests
    that arrive while it works are served by its next checkpoint."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._waiting: list[threading.Event] = []
        self._thread: threading.Thread | None = None
        self._stopped = False

    def request(self) -> threading.Event:
        done = threading.Event()
        with self._lock:
            if self._stopped:
                done.set()
                return done
            self._waiting.append(done)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sqlite-checkpoint", daemon=True
                )
                self._thread.start()
        self._wanted.set()
        return done

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._wanted.set()
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            with self._lock:
                waiting, self._waiting = self._waiting, []
                stopped = self._stopped
            if not stopped:
                self._checkpoint()
            for done in waiting:
                done.set()
            if stopped:
                return

    def _checkpoint(self) -> None:
        try:
            with self._engine.connect() as connection:
                # The DB-API connection: SQLAlchemy would wrap the PRAGMA in a transaction.
                dbapi = connection.connection.dbapi_connection
                assert dbapi is not None
                dbapi.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            # The log then waits for the next checkpoint (or SQLite's own, at the backstop).
            logger.warning("SQLite checkpoint failed", exc_info=True)
