"""PostgreSQL LISTEN/NOTIFY: one replica's change wakes every replica (their firing loops,
and workers long-polling for an agent's objectives)."""

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sundial.store.database import Database
from sundial.store.errors import describe

logger = logging.getLogger("sundial.notifications")

SCHEDULES_CHANNEL = "sundial_schedules"
OBJECTIVES_CHANNEL = "sundial_objectives"
CREDENTIALS_CHANNEL = "sundial_credentials"
DELIVERIES_CHANNEL = "sundial_deliveries"
CHANNELS = (SCHEDULES_CHANNEL, OBJECTIVES_CHANNEL, CREDENTIALS_CHANNEL, DELIVERIES_CHANNEL)
_RECONNECT_SECONDS = 1.0


class PostgresNotifications:
    """Publishes on, and listens to, Sundial's channels."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, channel: str, payload: str = "") -> None:
        with self._database.writer.connect() as connection:
            connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": channel, "payload": payload},
            )
            connection.commit()

    def listen(self, on_message: Callable[[str, str], None]) -> None:
        """Calls `on_message(channel, payload)` from a background thread until `close()`."""
        self._thread = threading.Thread(
            target=self._listen, args=(on_message,), name="pg-listen", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _listen(self, on_message: Callable[[str, str], None]) -> None:
        dsn = (
            make_url(self._database.url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        lost = False  # warned once per outage, not at every failed reconnection
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as connection:
                    for channel in CHANNELS:
                        connection.execute(f"LISTEN {channel}")
                    if lost:
                        lost = False
                        logger.info("LISTEN connection back")
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            on_message(notice.channel, notice.payload)
            except psycopg.Error as error:
                if not lost:
                    lost = True
                    # INFO: an outage of the database is warned of once, where it is watched
                    # (service.database_health); a lost wake-up only delays.
                    logger.info("LISTEN connection lost (%s); reconnecting", describe(error))
                self._stop.wait(_RECONNECT_SECONDS)
