"""Engines for SQLite (embedded, single writer) and PostgreSQL (scale-out)."""

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite copies its write-ahead log back into the database file (a checkpoint) inside the
# commit that makes the log this long. The engine checkpoints between passes instead
# (Database.checkpoint), so a burst's commit does not pay for it; this is the backstop.
SQLITE_AUTOCHECKPOINT_PAGES = 10_000


class Database:
    """The engines of one database: `writer` begins transactions that write, `reader` those
    that only read. On SQLite they differ (BEGIN IMMEDIATE takes the write lock up front, so
    two writers queue instead of failing mid-transaction); on PostgreSQL they are one engine."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            self.writer = _sqlite_engine(url, "BEGIN IMMEDIATE", echo=echo)
            self.reader = _sqlite_engine(url, "BEGIN", echo=echo)
        elif self.dialect == "postgresql":
            self.writer = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
            self.reader = self.writer
        else:
            raise ValueError(
                f"unsupported database URL {url!r}: use sqlite:/// or postgresql+psycopg://"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def checkpoint(self) -> None:
        """On SQLite, copies what the write-ahead log holds into the database file, without
        waiting for readers or writers (PASSIVE); nothing on PostgreSQL."""
        if not self.is_sqlite:
            return
        with self.reader.connect() as connection:
            # The DB-API connection: SQLAlchemy would wrap the PRAGMA in a transaction.
            dbapi = connection.connection.dbapi_connection
            assert dbapi is not None
            dbapi.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def _sqlite_engine(url: str, begin_statement: str, *, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, pool_size=8, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transactions away from the sqlite3 module so that we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_statement)

    return engine
