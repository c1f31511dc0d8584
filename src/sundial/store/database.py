"""Engines for SQLite (embedded, single writer) and PostgreSQL (scale-out)."""

import logging
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import ExceptionContext, make_url

from sundial.store.errors import DatabaseUnavailableError, describe, is_unavailable

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
        self._unavailable_listeners: list[Callable[[DatabaseUnavailableError], None]] = []
        self._error_listeners: list[Callable[[str], None]] = []
        self._sqlite_file: SqliteFile | None = None
        if self.dialect == "sqlite":
            self.writer = _sqlite_engine(url, "BEGIN IMMEDIATE", echo=echo)
            # No BEGIN for reads: each statement is its own snapshot of the write-ahead log
            # (a read unit of work of several statements may see a commit between them).
            # A transaction would add two calls into SQLite per read, and every call lets go
            # of the interpreter lock (BENCHMARKS.md, "One simple API path").
            self.reader = _sqlite_engine(url, None, echo=echo)
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
        self._watch_availability()

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

    def add_unavailable_listener(
        self, listener: Callable[[DatabaseUnavailableError], None]
    ) -> None:
        """`listener` is called with every DatabaseUnavailableError this database raises."""
        self._unavailable_listeners.append(listener)

    def add_error_listener(self, listener: Callable[[str], None]) -> None:
        """`listener(kind)` is called for every error a statement meets: "unavailable" (the
        database is out of reach), "constraint" (an integrity violation, such as a duplicate
        key a caller turns into ALREADY_EXISTS) or "other"."""
        self._error_listeners.append(listener)

    def unavailable(self, error: BaseException) -> DatabaseUnavailableError:
        """The DatabaseUnavailableError for a driver or SQLAlchemy error that
        `store.errors.is_unavailable` accepts, its listeners told; for the caller to raise."""
        translated = (
            error
            if isinstance(error, DatabaseUnavailableError)
            else DatabaseUnavailableError(describe(error))
        )
        for listener in self._unavailable_listeners:
            listener(translated)
        return translated

    def ping(self) -> None:
        """Raises DatabaseUnavailableError unless the database answers a query (and, on
        SQLite, its file is still the one opened, and writable)."""
        if self._sqlite_file is not None:
            self._check_sqlite_file()
        try:
            with self.writer.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except DatabaseUnavailableError:
            raise
        except Exception as error:
            if is_unavailable(error):
                raise self.unavailable(error) from error
            raise

    def _watch_availability(self) -> None:
        """Connection-level failures, wherever SQLAlchemy meets them, become
        DatabaseUnavailableError; on SQLite, no write commits to a file that is no longer the
        one this process opened (deleted, replaced, made read-only), which would acknowledge
        writes that a restart does not find."""
        for engine in {id(self.writer): self.writer, id(self.reader): self.reader}.values():
            event.listen(engine, "handle_error", self._on_engine_error)
        if self.is_sqlite:
            path = make_url(self.url).database or ""
            if path and path != ":memory:" and not path.startswith("file:"):
                self._sqlite_file = SqliteFile(path)
                for engine in (self.writer, self.reader):
                    event.listen(engine, "connect", self._on_sqlite_connect)
                event.listen(self.writer, "commit", self._on_sqlite_commit)

    def _on_engine_error(self, context: ExceptionContext) -> None:
        # A failed pre-ping is SQLAlchemy's cue to reconnect, not a failure of the call.
        if context.is_pre_ping:
            return
        error = context.original_exception
        unavailable = is_unavailable(error) or context.is_disconnect
        kind = (
            "unavailable"
            if unavailable
            else "constraint"
            if isinstance(context.sqlalchemy_exception, exc.IntegrityError)
            else "other"
        )
        for listener in self._error_listeners:
            listener(kind)
        if unavailable:
            raise self.unavailable(context.sqlalchemy_exception or error) from error

    def _on_sqlite_connect(self, _dbapi_connection: Any, _record: Any) -> None:
        assert self._sqlite_file is not None
        self._sqlite_file.remember()

    def _on_sqlite_commit(self, _connection: Any) -> None:
        self._check_sqlite_file()

    def _check_sqlite_file(self) -> None:
        assert self._sqlite_file is not None
        problem = self._sqlite_file.problem()
        if problem is not None:
            raise self.unavailable(DatabaseUnavailableError(problem))

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


class SqliteFile:
    """The database file this process opened, told apart from whatever its path names now:
    SQLite keeps writing to an open file after its directory was removed or the file
    replaced, and those writes are lost to the next process that opens the path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._identity: tuple[int, int] | None = None

    def remember(self) -> None:
        """Called when a connection opens the file: the first one fixes its identity."""
        with self._lock:
            if self._identity is None:
                status = os.stat(self.path)
                self._identity = (status.st_dev, status.st_ino)

    def problem(self) -> str | None:
        """Why writes to the file would not be durable now, or None when they would be."""
        with self._lock:
            identity = self._identity
        if identity is None:
            return None  # not opened yet: the first connection creates or opens it
        try:
            status = os.stat(self.path)
        except OSError as error:
            return f"the SQLite file {self.path} is gone ({error.strerror})"
        if (status.st_dev, status.st_ino) != identity:
            return f"the SQLite file {self.path} was replaced since it was opened"
        # access(2) also refuses a file made immutable (chattr +i), which root may not write.
        if not os.access(self.path, os.W_OK):
            return f"the SQLite file {self.path} is no longer writable"
        return None


def _sqlite_engine(url: str, begin_statement: str | None, *, echo: bool) -> Engine:
    # No pre-ping: a SQLite connection is a file handle, with no server to drop it (a file
    # that changed under the server is what SqliteFile checks).
    engine = create_engine(url, echo=echo, pool_size=8, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _configure_sqlite(dbapi_connection)

    if begin_statement is not None:

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
