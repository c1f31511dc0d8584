"""Exactly once per edge across crashes: real `sundial serve` processes killed with SIGKILL
at random moments while more than 100 chain runs of 3-5 nodes run, with workers claiming,
completing and failing their objectives over the ObjectiveService API. Each node's outcome
follows from its name (`_ok` completes, `_bad` fails), so each chain's set of nodes that run
is known; afterwards every run has ended, with exactly one objective per node that should
have run and none for the others. On PostgreSQL two replicas serve, one killed again and
again. Each test kills at least 10 times, every 2-5 s, over at least 40 s, while the runs are
triggered and their nodes claimed and ended: every kill lands among steps in flight, so a
step taken twice or lost shows."""

import random
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import grpc
import pytest
from google.protobuf import duration_pb2
from sqlalchemy import text

from sundial.api.client import authorized_channel
from sundial.domain.agents import AgentSpec
from sundial.domain.chains import ChainEdge, ChainEdgeType, ChainNode, ChainSpec
from sundial.domain.clock import SystemClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import OverlapPolicy
from sundial.service.agents import AgentService
from sundial.service.chains import ChainService
from sundial.service.tenancy import TenancyService
from sundial.store import migrate
from sundial.store.database import Database
from sundial.v1 import chain_service_pb2, chain_service_pb2_grpc, objective_service_pb2_grpc
from sundial.v1 import objective_service_pb2 as ob
from tests.e2e.workload import SUNDIAL, kill, stop
from tests.support.auth import ADMIN_SECRET

pytestmark = pytest.mark.slow(seconds=90)

RUNS = 120
KILLS = 10
MIN_CHAOS_SECONDS = 40
SETTLE_SECONDS = 90  # for the last runs to end once the killing stopped
OK, FAIL, DONE = ChainEdgeType.ON_SUCCESS, ChainEdgeType.ON_FAILURE, ChainEdgeType.ON_COMPLETE
# A channel to a killed server reconnects within a second of its restart: gRPC's default
# backoff grows up to two minutes over repeated failures, and the calls would wait it out.
RECONNECT = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)
# A failed call is retried (with its request id, or knowing what a lost answer means).
_RETRIED = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def _edge(a: str, b: str, kind: ChainEdgeType = OK, **options: Any) -> ChainEdge:
    return ChainEdge(from_node=a, to_node=b, type=kind, **options)


# Each shape: its nodes, edges, the nodes that run and the run's final status.
SHAPES: list[tuple[list[str], list[ChainEdge], set[str], str]] = [
    (
        ["a_ok", "b_ok", "c_ok"],
        [_edge("a_ok", "b_ok"), _edge("b_ok", "c_ok")],
        {"a_ok", "b_ok", "c_ok"},
        "SUCCEEDED",
    ),
    (
        ["a_ok", "b_ok", "c_ok", "d_ok"],
        [
            _edge("a_ok", "b_ok"),
            _edge("a_ok", "c_ok"),
            _edge("b_ok", "d_ok"),
            _edge("c_ok", "d_ok"),
        ],
        {"a_ok", "b_ok", "c_ok", "d_ok"},
        "SUCCEEDED",
    ),
    (
        ["a_bad", "b_ok", "c_ok", "h_ok"],
        [_edge("a_bad", "b_ok"), _edge("b_ok", "c_ok"), _edge("a_bad", "h_ok", FAIL)],
        {"a_bad", "h_ok"},
        "SUCCEEDED",
    ),
    (
        ["a_ok", "b_ok", "c_bad", "d_ok", "e_ok"],
        [
            _edge("a_ok", "b_ok", condition="output.n > 5.0"),
            _edge("a_ok", "c_bad", DONE, output_mapping={"n": "output.n"}),
            _edge("c_bad", "d_ok", FAIL),
            _edge("c_bad", "e_ok"),
        ],
        {"a_ok", "c_bad", "d_ok"},
        "SUCCEEDED",
    ),
    (
        ["a_ok", "b_bad", "c_ok"],
        [_edge("a_ok", "c_ok"), _edge("b_bad", "c_ok")],
        {"a_ok", "b_bad", "c_ok"},
        "FAILED",
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _setup(url: str) -> tuple[str, str, list[str]]:
    """The workspace, its agent and one chain per shape (ALLOW: runs overlap)."""
    migrate.upgrade(url)
    database = Database(url)
    try:
        clock = SystemClock()
        boot = TenancyService(database, clock).bootstrap(ADMIN_SECRET)
        principal, workspace = boot.principal, boot.default_workspace.id
        agent = AgentService(database, clock).create(
            principal, workspace, MetadataInput(name="crash"), AgentSpec()
        )
        agent_id = agent.metadata.id
        chains = ChainService(database, clock)
        chain_ids = [
            chains.create(
                principal,
                workspace,
                MetadataInput(name=f"shape{index}"),
                ChainSpec(
                    nodes=tuple(
                        ChainNode(name=n, agent_id=agent_id, initial_message=f"do {n}")
                        for n in nodes
                    ),
                    edges=tuple(edges),
                    overlap_policy=OverlapPolicy.ALLOW,
                ),
            ).metadata.id
            for index, (nodes, edges, _, _) in enumerate(SHAPES)
        ]
        return workspace, agent_id, chain_ids
    finally:
        database.dispose()


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """A `sundial serve` on the port; its output is appended to `log`, for a failure's
    message."""
    with log.open("ab") as output:
        return _popen(url, port, output)


def _popen(url: str, port: int, output: BinaryIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            SUNDIAL,
            "--log-level",
            "WARNING",
            "serve",
            "--database-url",
            url,
            "--grpc-address",
            f"127.0.0.1:{port}",
            "--http-address",
            "127.0.0.1:0",
        ],
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def _retrying(call: Callable[..., Any], request: Any, done: threading.Event) -> Any:
    """The call's answer, retried while the server is down; its own errors raise."""
    while True:
        try:
            return call(request, timeout=10)
        except grpc.RpcError as error:
            if error.code() not in _RETRIED or done.is_set():
                raise
            time.sleep(0.2)


class Worker(threading.Thread):
    """Claims the agent's objectives on one server and ends each as its node's name says;
    after a crash it also finds the ones it holds whose claim answer was lost."""

    def __init__(self, address: str, workspace: str, agent_id: str, name: str) -> None:
        super().__init__(daemon=True)
        self.address, self.workspace, self.agent_id, self.worker_id = (
            address,
            workspace,
            agent_id,
            name,
        )
        self.stopping = threading.Event()
        self.ended = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with authorized_channel(self.address, ADMIN_SECRET, options=RECONNECT) as channel:
                stub = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
                while not self.stopping.is_set():
                    for objective in self._claimed(stub):
                        self._end(stub, objective)
                    # What it holds now are the claims whose answers a crash lost.
                    for objective in self._held(stub):
                        self._end(stub, objective)
        except BaseException as error:  # reported by the test
            self.error = error

    def _claimed(self, stub: Any) -> list[Any]:
        request = ob.ClaimObjectivesRequest(
            workspace_id=self.workspace,
            agent_id=self.agent_id,
            worker_id=self.worker_id,
            max_objectives=10,
            wait=duration_pb2.Duration(seconds=1),
            # Longer than any outage: a lease never expires and times a node out.
            lease_duration=duration_pb2.Duration(seconds=600),
        )
        try:
            return list(stub.ClaimObjectives(request, timeout=10).objectives)
        except grpc.RpcError as error:
            if error.code() not in _RETRIED:
                raise
            time.sleep(0.2)
            return []

    def _held(self, stub: Any) -> list[Any]:
        request = ob.ListObjectivesRequest(
            workspace_id=self.workspace,
            agent_id=self.agent_id,
            filter='status = "RUNNING"',
            page_size=1000,
        )
        listed = _retrying(stub.ListObjectives, request, self.stopping)
        return [o for o in listed.objectives if o.info.worker_id == self.worker_id]

    def _end(self, stub: Any, objective: Any) -> None:
        node = objective.spec.initial_message.removeprefix("do ")
        ids = {
            "workspace_id": self.workspace,
            "agent_id": self.agent_id,
            "objective_id": objective.metadata.id,
            "worker_id": self.worker_id,
        }
        if node.endswith("_bad"):
            call, request = stub.FailObjective, ob.FailObjectiveRequest(**ids, error="planned")
        else:
            request = ob.CompleteObjectiveRequest(**ids)
            request.output.struct_value.update({"n": 1})
            call = stub.CompleteObjective
        try:
            _retrying(call, request, self.stopping)
        except grpc.RpcError as error:
            # An answer lost in a crash: the end committed, and this retry finds it ended.
            if error.code() is not grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return
        self.ended += 1


class Triggers(threading.Thread):
    """Triggers RUNS runs, round robin over the shapes and the servers, each with a request
    id so that a retry after a crash starts it once."""

    def __init__(self, addresses: list[str], workspace: str, chain_ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.addresses, self.workspace, self.chain_ids = addresses, workspace, chain_ids
        self.stopping = threading.Event()
        self.triggered = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        channels = [authorized_channel(a, ADMIN_SECRET, options=RECONNECT) for a in self.addresses]
        try:
            stubs = [chain_service_pb2_grpc.ChainServiceStub(c) for c in channels]
            for index in range(RUNS):
                request = chain_service_pb2.TriggerChainRequest(
                    workspace_id=self.workspace,
                    chain_id=self.chain_ids[index % len(self.chain_ids)],
                    request_id=f"run-{index}",
                )
                _retrying(stubs[index % len(stubs)].TriggerChain, request, self.stopping)
                self.triggered += 1
                # Spread over the chaos, so that runs start while servers die: the calls and
                # the waits for a killed server to come back take most of it.
                time.sleep(MIN_CHAOS_SECONDS / RUNS / 4)
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            for channel in channels:
                channel.close()


def _running_runs(url: str) -> int:
    database = Database(url)
    try:
        with database.reader.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM chain_runs WHERE status = 'RUNNING'")
                ).scalar_one()
            )
    finally:
        database.dispose()


def _verify(url: str, chain_ids: list[str]) -> Counter[str]:
    """Checks every run against its shape; returns how many runs ended in each status."""
    database = Database(url)
    try:
        with database.reader.connect() as connection:
            runs = connection.execute(text("SELECT id, chain_id, status FROM chain_runs")).all()
            made = Counter(
                (row[0], row[1])
                for row in connection.execute(
                    text(
                        "SELECT chain_run_id, chain_node FROM objectives"
                        " WHERE chain_run_id IS NOT NULL"
                    )
                )
            )
            nodes = connection.execute(
                text("SELECT chain_run_id, node_name, status, objective_ids FROM chain_run_nodes")
            ).all()
    finally:
        database.dispose()
    shape_of = {chain_id: SHAPES[i] for i, chain_id in enumerate(chain_ids)}
    node_rows: dict[str, dict[str, str]] = {}
    for run_id, name, status, _ in nodes:
        node_rows.setdefault(run_id, {})[name] = status
    ended: Counter[str] = Counter()
    for run_id, chain_id, status in runs:
        names, _, expected, final = shape_of[chain_id]
        ran = {name for (r, name) in made if r == run_id}
        assert ran == expected, f"run {run_id}: objectives for {sorted(ran)}"
        for name in expected:
            assert made[(run_id, name)] == 1, f"run {run_id}: {made[(run_id, name)]} of {name}"
        assert status == final, f"run {run_id} ended {status}, not {final}"
        skipped = {n for n, s in node_rows[run_id].items() if s == "SKIPPED"}
        assert skipped == set(names) - expected, f"run {run_id}: skipped {sorted(skipped)}"
        ended[status] += 1
    return ended


def _chaos(
    url: str,
    ports: list[int],
    victim: int,
    seed: int,
    workload: tuple[str, str, list[str]],
    log: Path,
) -> tuple[int, float, list[Worker], Triggers]:
    """Serves on every port, runs the workload and kills the victim's server again and
    again; returns the kills, the seconds they took, and the finished threads."""
    addresses = [f"127.0.0.1:{port}" for port in ports]
    servers = [_serve(url, port, log) for port in ports]
    workspace, agent_id, chain_ids = workload
    workers = [Worker(a, workspace, agent_id, f"w{i}") for i, a in enumerate(addresses)]
    triggers = Triggers(addresses, workspace, chain_ids)
    for thread in (*workers, triggers):
        thread.start()
    chaos = random.Random(seed)
    started = time.monotonic()
    kills = 0
    # Real time is the point here: the servers take the steps while they are killed.
    while kills < KILLS or time.monotonic() - started < MIN_CHAOS_SECONDS:
        time.sleep(chaos.uniform(2.0, 5.0))
        kill(servers[victim])
        kills += 1
        servers[victim] = _serve(url, ports[victim], log)
    chaos_seconds = time.monotonic() - started
    triggers.join(timeout=SETTLE_SECONDS)
    deadline = time.monotonic() + SETTLE_SECONDS
    while _running_runs(url) and time.monotonic() < deadline:
        time.sleep(1)
    for worker in workers:
        worker.stopping.set()
    triggers.stopping.set()
    for worker in workers:
        worker.join(timeout=30)
    assert [stop(server) for server in servers] == [0] * len(servers)
    return kills, chaos_seconds, workers, triggers


def _run(url: str, ports: list[int], victim: int, seed: int, log: Path) -> None:
    workload = _setup(url)
    kills, seconds, workers, triggers = _chaos(url, ports, victim, seed, workload, log)
    servers_said = log.read_text(errors="replace")[-6000:]
    assert triggers.error is None, f"{triggers.error}; the servers' last output:\n{servers_said}"
    errors = [w.error for w in workers]
    assert errors == [None] * len(workers), f"{errors}; the servers' last output:\n{servers_said}"
    assert triggers.triggered == RUNS
    assert _running_runs(url) == 0
    ended = _verify(url, workload[2])
    print(
        f"chain crash test: {kills} SIGKILLs over {seconds:.0f}s, {sum(ended.values())} runs "
        f"{dict(ended)}, {sum(w.ended for w in workers)} objectives ended"
    )
    assert sum(ended.values()) == RUNS


def test_sigkill_at_random_moments_neither_loses_nor_duplicates_a_step_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'chains.db'}"
    _run(url, [_free_port()], victim=0, seed=20261203, log=tmp_path / "servers.log")


@pytest.mark.postgres
def test_two_replicas_on_postgresql_one_killed_again_and_again(postgres_cluster, tmp_path):
    url = postgres_cluster.create_database("chain_crash", template="sundial_template")
    ports = [_free_port(), _free_port()]
    _run(url, ports, victim=1, seed=20261204, log=tmp_path / "servers.log")
