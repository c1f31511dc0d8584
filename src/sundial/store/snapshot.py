"""Selects on the DB-API connection, for the hottest reads (GetAgentSchedule).

A Get is one small indexed select. Through the ORM session it costs several times the query
itself (session and transaction bookkeeping, statement cache lookups, per-row result
processing), so here a select is compiled once per dialect and run on a DB-API cursor,
with only the column types' own result processing. It is one statement, not a transaction
of several: every call into SQLite lets go of the GIL, and under load each hand-off costs
far more than the query."""

import collections
from typing import Any

from sqlalchemy import Connection, Dialect, Select

from sundial.store.database import Database


class PreparedSelect:
    """A Core select compiled for one dialect: its SQL text, how to lay out its parameters,
    and each column's result processor (UTCDateTime, JSON text on SQLite, ...)."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        for name, bind in compiled.binds.items():
            if bind.expanding or bind.type.dialect_impl(dialect).bind_processor(dialect):
                # Values are passed to the driver as given: only plain ones are allowed.
                raise ValueError(f"parameter {name!r} needs processing; not supported here")
        self.sql = compiled.string
        # Values the statement carries itself (a literal limit, say); the rest are given.
        self._defaults = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        self._positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._processors = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        )
        keys = [str(column.key) for column in statement.selected_columns]
        self._make_row = _row_type(keys)._make

    def parameters(self, values: dict[str, Any]) -> Any:
        merged = {**self._defaults, **values}
        if self._positions is None:
            return merged
        return tuple(merged[name] for name in self._positions)

    def row(self, raw: tuple[Any, ...]) -> Any:
        """The row as Core would give it: processed values, readable by column key."""
        return self._make_row(
            value if process is None else process(value)
            for process, value in zip(self._processors, raw, strict=True)
        )


def _row_type(keys: list[str]) -> Any:
    return collections.namedtuple("PreparedRow", keys, rename=True)


_prepared: dict[tuple[int, str], tuple[Select[Any], PreparedSelect]] = {}


def prepared(statement: Select[Any], dialect: Dialect) -> PreparedSelect:
    """`statement` compiled for `dialect`, once (statements here are module constants)."""
    key = (id(statement), dialect.name)
    found = _prepared.get(key)
    if found is None or found[0] is not statement:
        found = (statement, PreparedSelect(statement, dialect))
        _prepared[key] = found
    return found[1]


def run_prepared(connection: Connection, statement: Select[Any], values: dict[str, Any]) -> Any:
    """The rows of `statement` on a unit of work's connection, as the driver returns them
    (unprocessed), without Core's per-execution work."""
    select = prepared(statement, connection.dialect)
    return connection.exec_driver_sql(select.sql, select.parameters(values)).fetchall()


def fetch(database: Database, statement: Select[Any], values: dict[str, Any]) -> list[Any]:
    """The rows of one select as the driver returns them (unprocessed: callers that cache
    what they decode from a row key the cache by these), on a connection of
    Database.take_reader. The connection is in autocommit, so the statement is its own
    transaction: one snapshot of the database."""
    select = prepared(statement, database.reader.dialect)
    connection = database.take_reader()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(select.sql, select.parameters(values))
            rows: list[Any] = cursor.fetchall()
        finally:
            cursor.close()
    except BaseException:
        connection.close()  # in an unknown state: not to be used again
        raise
    database.give_back_reader(connection)
    return rows


def processed(database: Database, statement: Select[Any], raw: tuple[Any, ...]) -> Any:
    """A row of `fetch`, processed as Core would, readable by column key."""
    return prepared(statement, database.reader.dialect).row(raw)
