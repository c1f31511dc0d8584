"""Statements on the DB-API connection, for the hottest paths (GetAgentSchedule, Create).

A Get is one small indexed select. Through the ORM session it costs several times the query
itself (session and transaction bookkeeping, statement cache lookups, per-row result
processing), so here a statement is compiled once per dialect and run on a DB-API cursor,
with only the column types' own bind and result processing. A Get is one statement, not a
transaction of several: every call into SQLite lets go of the GIL, and under load each
hand-off costs far more than the query."""

import collections
import json
from typing import Any

from sqlalchemy import Connection, Dialect, Insert, Select

from sundial.store.database import Database
from sundial.store.errors import is_unavailable


class PreparedStatement:
    """A Core select or insert compiled for one dialect: its SQL text, how to lay out and
    process its parameters, and each selected column's result processor (UTCDateTime, JSON
    text on SQLite, ...)."""

    def __init__(self, statement: Select[Any] | Insert, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "postfetch", None):
            # Defaults Core would compute or fetch per execution: give every column instead.
            raise ValueError("columns left to defaults; not supported here")
        self._binds: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            if bind.expanding:
                raise ValueError(f"parameter {name!r} is expanding; not supported here")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self._binds[name] = process
        self.sql = compiled.string
        # Values the statement carries itself (a literal limit, say); the rest are given.
        self._defaults = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        self._positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        columns = statement.selected_columns if isinstance(statement, Select) else ()
        self._processors = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        self._make_row = _row_type([str(column.key) for column in columns])._make

    def parameters(self, values: dict[str, Any]) -> Any:
        merged = {**self._defaults, **values}
        for name, process in self._binds.items():
            merged[name] = process(merged[name])
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


_prepared: dict[tuple[int, str], tuple[Select[Any] | Insert, PreparedStatement]] = {}


def prepared(statement: Select[Any] | Insert, dialect: Dialect) -> PreparedStatement:
    """`statement` compiled for `dialect`, once (statements here are module constants)."""
    key = (id(statement), dialect.name)
    found = _prepared.get(key)
    if found is None or found[0] is not statement:
        found = (statement, PreparedStatement(statement, dialect))
        _prepared[key] = found
    return found[1]


def run_prepared(connection: Connection, statement: Select[Any], values: dict[str, Any]) -> Any:
    """The rows of `statement` on a unit of work's connection, as the driver returns them
    (unprocessed), without Core's per-execution work."""
    select = prepared(statement, connection.dialect)
    return _on_cursor(connection, select.sql, select.parameters(values), fetch=True)


def insert_prepared(connection: Connection, statement: Insert, values: dict[str, Any]) -> None:
    """Runs an insert that names every column on a unit of work's connection, without
    Core's per-execution work."""
    insert = prepared(statement, connection.dialect)
    _on_cursor(connection, insert.sql, insert.parameters(values), fetch=False)


def _on_cursor(connection: Connection, sql: str, parameters: Any, *, fetch: bool) -> Any:
    """Runs one statement on a cursor of the connection's DB-API connection, in the
    transaction the unit of work began. Core's execution (its context, result and cursor
    metadata) cost more than the statement; its events and logging are skipped too, and
    driver errors come unwrapped (any error fails the call: INTERNAL)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, parameters)
        return cursor.fetchall() if fetch else None
    finally:
        cursor.close()


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
    except BaseException as error:
        connection.close()  # in an unknown state: not to be used again
        if is_unavailable(error):
            raise database.unavailable(error) from error
        raise
    database.give_back_reader(connection)
    return rows


def processed(database: Database, statement: Select[Any], raw: tuple[Any, ...]) -> Any:
    """A row of `fetch`, processed as Core would, readable by column key."""
    return prepared(statement, database.reader.dialect).row(raw)


def row_key(raw: tuple[Any, ...]) -> tuple[Any, ...]:
    """A raw row as a dict key (for caches of what rows decode to): PostgreSQL's driver
    returns JSON columns decoded, and those are keyed by their canonical text."""
    try:
        hash(raw)
    except TypeError:
        return tuple(
            json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
            for value in raw
        )
    return raw
