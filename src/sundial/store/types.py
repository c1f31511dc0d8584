"""Column types that behave the same on SQLite and PostgreSQL."""

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator


@functools.lru_cache(maxsize=4096)
def _sqlite_text(value: datetime) -> str:
    """How UTCDateTime stores `value` on SQLite: naive UTC with microseconds, the text
    SQLAlchemy's SQLite DATETIME renders (equal instants give equal text, so the cache may
    answer for any zone)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} cannot be stored; use an aware UTC time")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime: timestamptz on PostgreSQL, ISO text on SQLite
    (which keeps no zone, so it is stored as naive UTC and given UTC back on the way out)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, process_bind_param and the dialect's rendering as text in one step, to
        the same text (the firing engine binds a dozen times per fire, mostly the same few
        instants, hence the cache)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            return None if value is None else _sqlite_text(value)

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
