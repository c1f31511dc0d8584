"""The bare baseline servers of bench/gateway.py, each run as its own process: the grpcio
echo server, and the floor server, whose methods are the least a call can cost in this
stack (grpcio, protobuf and the database; no validation, authentication, interceptors or
presentation): Create (one raw sqlite3 write transaction), Get (one raw sqlite3 read) and
Get through one SQLAlchemy session per call (what issue 12 asks every read to go through).
Each prints its port, then serves until its stdin closes."""

import sqlite3
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent import futures
from datetime import UTC, datetime
from typing import Any

import grpc

FLOOR_SERVICE = "sundial.v1.AgentScheduleService"
FLOOR_METHOD, FLOOR_GET_METHOD = "CreateAgentSchedule", "GetAgentSchedule"
# The session Get is the same request under a method of its own, on the same server.
FLOOR_SESSION_SERVICE, FLOOR_SESSION_METHOD = "bench.Floor", "GetAgentScheduleInSession"
FLOOR_SCHEMA = (
    "CREATE TABLE agents (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL)",
    "CREATE TABLE schedules (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL,"
    " agent_id TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,"
    " created_at TEXT NOT NULL, next_fire_at TEXT)",
)
FLOOR_INSERT = "INSERT INTO schedules VALUES (?, ?, ?, ?, ?, ?, ?)"


def serve_echo(max_workers: int) -> None:
    """A bare grpcio server answering every call with its request bytes."""
    _serve_bare(max_workers, {"bench.Echo": {"Echo": lambda request, context: request}})


def serve_floor(max_workers: int, database: str, agent_id: str, schedule: bytes) -> None:
    """The least a Create can cost in this stack: a bare grpcio server whose Create parses the
    request, runs one SQLite write transaction (read the agent, insert the schedule) and answers
    a copy of the prebuilt `schedule` with a new id. No validation, auth or ORM."""
    from sundial.v1 import agent_schedule_pb2

    template = agent_schedule_pb2.AgentSchedule.FromString(schedule)
    _floor_seed(database, agent_id, template)
    _serve_bare(
        max_workers,
        {
            FLOOR_SERVICE: {
                FLOOR_METHOD: _floor_create(database, template),
                FLOOR_GET_METHOD: _floor_get(database, template),
            },
            FLOOR_SESSION_SERVICE: {FLOOR_SESSION_METHOD: _floor_session_get(database, template)},
        },
    )


def _serve_bare(
    max_workers: int, services: dict[str, dict[str, Callable[[bytes, Any], bytes]]]
) -> None:
    """Serves each behavior on bytes in and out (no (de)serializers: the behavior does its
    own) until the parent closes our stdin; prints the port first."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
    server.add_generic_rpc_handlers(
        tuple(
            grpc.method_handlers_generic_handler(
                service,
                {m: grpc.unary_unary_rpc_method_handler(b) for m, b in methods.items()},
            )
            for service, methods in services.items()
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop(0)


def _floor_connect(database: str) -> sqlite3.Connection:
    """A raw sqlite3 connection in autocommit, so transactions are the statements we send."""
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


def _floor_seed(database: str, agent_id: str, template: Any) -> None:
    """Creates the floor's two tables in a fresh file, with the one agent Creates are for."""
    connection = _floor_connect(database)
    try:
        for statement in FLOOR_SCHEMA:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO agents VALUES (?, ?, ?)",
            (agent_id, template.metadata.workspace_id, "bench"),
        )
        # The schedule the Gets read: the benched server's, under its own id.
        connection.execute(
            FLOOR_INSERT,
            (
                template.metadata.id,
                template.metadata.workspace_id,
                agent_id,
                template.metadata.name,
                template.spec.SerializeToString(),
                datetime.now(UTC).isoformat(),
                None,
            ),
        )
    finally:
        connection.close()


def _floor_create(database: str, template: Any) -> Callable[[bytes, Any], bytes]:
    """The floor's Create: request bytes in, AgentSchedule bytes out, with a connection per
    server thread."""
    from sundial.v1 import agent_schedule_pb2
    from sundial.v1 import agent_schedule_service_pb2 as pb

    local = threading.local()
    info = template.info
    next_fire_at = info.next_fire_at.ToJsonString() if info.HasField("next_fire_at") else None

    def create(request_bytes: bytes, context: Any) -> bytes:
        request = pb.CreateAgentScheduleRequest.FromString(request_bytes)
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = _floor_connect(database)
        schedule_id = uuid.uuid4().hex
        row = (
            schedule_id,
            request.workspace_id,
            request.agent_id,
            request.metadata.name,
            request.spec.SerializeToString(),
            datetime.now(UTC).isoformat(),
            next_fire_at,
        )
        if not _floor_write(connection, request.agent_id, row):
            context.abort(grpc.StatusCode.NOT_FOUND, "no such agent")
        response = agent_schedule_pb2.AgentSchedule()
        response.CopyFrom(template)
        response.metadata.id = schedule_id
        return response.SerializeToString()

    return create


def _floor_write(connection: sqlite3.Connection, agent_id: str, row: tuple[Any, ...]) -> bool:
    """One write transaction: read the agent by primary key, insert the schedule `row`.
    False, and nothing written, when there is no such agent."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        agent = connection.execute(
            "SELECT id, workspace_id FROM agents WHERE id = ?", (agent_id,)
        ).fetchone()
        if agent is not None:
            connection.execute(FLOOR_INSERT, row)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return agent is not None


_FLOOR_SELECT = (
    "SELECT name, spec FROM schedules WHERE id = ? AND workspace_id = ? AND agent_id = ?"
)
_FLOOR_SESSION_SELECT = (
    "SELECT name, spec FROM schedules"
    " WHERE id = :id AND workspace_id = :workspace AND agent_id = :agent"
)


def _floor_get(database: str, template: Any) -> Callable[[bytes, Any], bytes]:
    """The floor's Get: one raw sqlite3 read of the row by primary key (no transaction), the
    answer built from the template and the stored spec."""
    local = threading.local()

    def get(request_bytes: bytes, context: Any) -> bytes:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = _floor_connect(database)
        request = _get_request(request_bytes)
        row = connection.execute(
            _FLOOR_SELECT, (request.schedule_id, request.workspace_id, request.agent_id)
        ).fetchone()
        return _floor_answer(template, row, context)

    return get


def _floor_session_get(database: str, template: Any) -> Callable[[bytes, Any], bytes]:
    """The floor's Get as issue 12 wants every read: a SQLAlchemy Session per call (from its
    pool) running one Core select on the same table; nothing else."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    engine = create_engine(f"sqlite:///{database}", pool_pre_ping=True)
    select = text(_FLOOR_SESSION_SELECT)

    def get(request_bytes: bytes, context: Any) -> bytes:
        request = _get_request(request_bytes)
        with Session(engine) as session:
            row = session.execute(
                select,
                {
                    "id": request.schedule_id,
                    "workspace": request.workspace_id,
                    "agent": request.agent_id,
                },
            ).first()
        return _floor_answer(template, row, context)

    return get


def _get_request(request_bytes: bytes) -> Any:
    from sundial.v1 import agent_schedule_service_pb2 as pb

    return pb.GetAgentScheduleRequest.FromString(request_bytes)


def _floor_answer(template: Any, row: Any, context: Any) -> bytes:
    """The template with the row's name and spec, serialized; NOT_FOUND without a row."""
    from sundial.v1 import agent_schedule_pb2

    if row is None:
        context.abort(grpc.StatusCode.NOT_FOUND, "no such schedule")
    response = agent_schedule_pb2.AgentSchedule()
    response.CopyFrom(template)
    response.metadata.name = row[0]
    response.spec.ParseFromString(row[1])
    return response.SerializeToString()
