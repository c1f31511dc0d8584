"""Requests per second of GetAgentSchedule and CreateAgentSchedule over REST (the gateway
embedded in `sundial serve`, and a front apart, `sundial serve --roles rest`) and over gRPC,
of a bare grpcio echo server, and of a "floor" Create server, measured in the same run on
loopback.

Absolute numbers on shared machines are noise, so the run prints ratios against each other:
REST should reach 60% of gRPC, embedded or apart (issue #13); gRPC Get 40% and Create 10% of
the echo server (issue #12).
The floor is the least a Create can cost in this stack (grpcio, protobuf and one sqlite3 write
transaction, nothing else), so gRPC Create against it shows how much is reachable at all.
Each target's server CPU per call (from /proc, all its threads; for a front apart, the
front's and the server's together) is printed too: it moves less than the rates when other
processes load the machine.

Run: .venv/bin/python bench/gateway.py [--seconds 3] [--rounds 3] [--processes 2] [--threads 4]
     [--postgres]

`sundial serve` (SQLite in a temporary directory), the REST front before it (sharing its
gateway token, so that client addresses are forwarded as in production), the echo and the
floor server (both in bench/gateway_servers.py) each run in their own process; clients run
in `--processes` processes of `--threads` threads each, with one keep-alive HTTP connection
per thread or one gRPC channel per process. Targets take turns for `--rounds` rounds of
`--seconds` seconds, and each figure is the median of its rounds."""

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
from gateway_servers import (
    FLOOR_SESSION_METHOD,
    FLOOR_SESSION_SERVICE,
    serve_echo,
    serve_floor,
)
from google.protobuf import json_format

from sundial.settings import DEFAULT_MAX_WORKERS

ROOT = Path(__file__).resolve().parent.parent
ECHO_METHOD = "/bench.Echo/Echo"
# The bootstrap admin key of the server under test.
API_KEY = "sdl_bench-admin-key-0123456789abcdef"
# The gateway token `sundial serve` and its front share.
GATEWAY_TOKEN = "bench-gateway-token-0123456789abcdef0123"
TARGETS = (
    "echo",
    "grpc-get",
    "rest-get",
    "rest-get-apart",
    "grpc-create",
    "rest-create",
    "rest-create-apart",
    "floor-create",
    "floor-get",
    "floor-get-session",
)
# REST targets and the gRPC target each is the same request of.
REST_PAIRS = (
    ("rest-get", "grpc-get"),
    ("rest-get-apart", "grpc-get"),
    ("rest-create", "grpc-create"),
    ("rest-create-apart", "grpc-create"),
)
GOALS = (
    *((rest, grpc_target, 0.60) for rest, grpc_target in REST_PAIRS),
    ("grpc-get", "echo", 0.40),
    ("grpc-create", "echo", 0.10),
)
SCHEDULE_BODY: dict[str, Any] = {
    "metadata": {"name": "bench", "labels": {"team": "bench"}},
    "spec": {
        "initialMessage": "Summarize yesterday's tickets",
        "schedule": {
            "calendars": [{"dayOfWeek": [{"start": 1, "end": 5}], "hour": [{"start": 9}]}],
            "timezone": "America/New_York",
        },
        "data": {"ticket": 42},
        "overlapPolicy": "OVERLAP_POLICY_SKIP",
    },
}


class Services:
    """The servers under test, started as subprocesses."""

    def __init__(self, database_url: str, max_workers: int, serve_flags: list[str]) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.max_workers = max_workers
        try:
            self._start(database_url, max_workers, serve_flags)
        except BaseException:
            self.close()
            raise

    def _start(self, database_url: str, max_workers: int, serve_flags: list[str]) -> None:
        sundial = self._spawn(
            [sys.executable, "-m", "sundial.cli.main", "--log-level", "WARNING", "serve",
             "--database-url", database_url,
             "--grpc-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0",
             "--drain-delay", "0", "--max-workers", str(max_workers), *serve_flags]
        )  # fmt: skip
        found = _read_until(
            sundial,
            {
                "grpc": r"serving gRPC on [\d.]+:(\d+)",
                "rest": r"serving REST on [\d.]+:(\d+)",
                "workspace": r"default workspace: (\S+)",
            },
        )
        self.grpc_port, self.http_port = int(found["grpc"]), int(found["rest"])
        self.pids = {"sundial": [sundial.pid]}
        self.workspace = found["workspace"]
        front = self._spawn(
            [sys.executable, "-m", "sundial.cli.main", "--log-level", "WARNING", "serve",
             "--roles", "rest", "--grpc-target", f"127.0.0.1:{self.grpc_port}",
             "--http-address", "127.0.0.1:0", "--drain-delay", "0"]
        )  # fmt: skip
        self.front_port = int(_read_until(front, {"rest": r"serving REST on [\d.]+:(\d+)"})["rest"])
        # A request through the front costs the front's CPU and the server's.
        for target in ("rest-get-apart", "rest-create-apart"):
            self.pids[target] = [front.pid, sundial.pid]
        echo = self._spawn([sys.executable, __file__, "--echo-server", str(max_workers)])
        self.echo_port = int(_read_until(echo, {"port": r"^(\d+)$"})["port"])
        self.pids["echo"] = [echo.pid]

    def start_floor(self, database: Path, agent_id: str, schedule: bytes) -> int:
        """Starts the floor server, writing to a fresh SQLite file `database` with `agent_id`
        seeded and answering copies of `schedule`; returns its port."""
        floor = self._spawn(
            [sys.executable, __file__, "--floor-server", str(self.max_workers), str(database),
             agent_id, schedule.hex()]
        )  # fmt: skip
        for target in ("floor-create", "floor-get", "floor-get-session"):
            self.pids[target] = [floor.pid]
        return int(_read_until(floor, {"port": r"^(\d+)$"})["port"])

    def _spawn(self, command: list[str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "SUNDIAL_BOOTSTRAP_API_KEY": API_KEY,
                "SUNDIAL_GATEWAY_TOKEN": GATEWAY_TOKEN,
            },
        )
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()  # the echo and floor servers stop when their stdin closes
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def _read_until(process: subprocess.Popen[str], patterns: dict[str, str]) -> dict[str, str]:
    """The first group of each pattern, from the process's output lines."""
    assert process.stdout is not None
    found: dict[str, str] = {}
    while len(found) < len(patterns):
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{process.args!r} exited early with {process.wait()}")
        for key, pattern in patterns.items():
            if match := re.search(pattern, line.strip()):
                found[key] = match[1]
    return found


def _grpc_caller(config: dict[str, Any], target: str) -> Callable[[], None]:
    from sundial.v1 import agent_schedule_service_pb2 as pb

    floors = ("floor-create", "floor-get", "floor-get-session")
    ports = {"echo": config["echo_port"]} | dict.fromkeys(floors, config["floor_port"])
    channel = grpc.insecure_channel(f"127.0.0.1:{ports.get(target, config['grpc_port'])}")
    # Every call carries the key, the echo server's too, so both move the same bytes.
    metadata = (("authorization", f"Bearer {API_KEY}"),)
    if target == "echo":
        call = channel.unary_unary(ECHO_METHOD)
        payload = config["get_request"]
        return lambda: call(payload, metadata=metadata)
    service = "/sundial.v1.AgentScheduleService/"
    if target in ("grpc-get", "floor-get", "floor-get-session"):
        # The three Gets send the same bytes, the key included.
        method = (
            f"/{FLOOR_SESSION_SERVICE}/{FLOOR_SESSION_METHOD}"
            if target == "floor-get-session"
            else service + "GetAgentSchedule"
        )
        get = channel.unary_unary(method)
        payload = config["get_request"]
        return lambda: get(payload, metadata=metadata)
    # grpc-create and floor-create send the same bytes, the key included.
    create = channel.unary_unary(service + "CreateAgentSchedule")
    request = json_format.ParseDict(SCHEDULE_BODY, pb.CreateAgentScheduleRequest())
    request.workspace_id, request.agent_id = config["workspace"], config["agent"]
    # The client serializes on every call, as a real client would.
    return lambda: create(request.SerializeToString(), metadata=metadata)


def _rest_caller(config: dict[str, Any], target: str) -> Callable[[], None]:
    port = config["front_port"] if target.endswith("-apart") else config["http_port"]
    connection = http.client.HTTPConnection("127.0.0.1", port)
    schedules = f"/v1/workspaces/{config['workspace']}/agents/{config['agent']}/schedules"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}

    def call(method: str, path: str, body: bytes | None) -> None:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}")

    if target.startswith("rest-get"):
        path = f"{schedules}/{config['schedule']}"
        return lambda: call("GET", path, None)
    return lambda: call("POST", schedules, json.dumps(SCHEDULE_BODY).encode())


def _client_process(config: dict[str, Any], target: str, threads: int, seconds: float) -> int:
    """Runs `threads` callers flat out for `seconds`; returns how many calls succeeded."""
    make = _rest_caller if target.startswith("rest") else _grpc_caller
    counts = [0] * threads
    stop = threading.Event()

    def loop(index: int) -> None:
        # A channel per process is what a real client has; a connection per HTTP thread too.
        call = make(config, target) if target.startswith("rest") else shared
        while not stop.is_set():
            call()
            counts[index] += 1

    shared = _grpc_caller(config, target) if not target.startswith("rest") else None
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts)


def measure(
    pool: Any, config: dict[str, Any], target: str, processes: int, threads: int, seconds: float
) -> tuple[float, float]:
    """Calls per second of `target`, from `processes` client processes at once, and the
    microseconds of CPU its server spent per call."""
    args = [(config, target, threads, seconds)] * processes
    pids = config["pids"].get(target, config["pids"]["sundial"])
    cpu_before = _cpu_seconds(pids)
    # Calls in flight when the clients stop are not counted.
    calls = sum(pool.starmap(_client_process, args))
    return calls / seconds, (_cpu_seconds(pids) - cpu_before) / max(calls, 1) * 1e6


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of the processes `pids`, all their threads."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _setup(services: Services) -> dict[str, Any]:
    from sundial.api.client import authorized_channel
    from sundial.v1 import (
        agent_schedule_service_pb2 as schedules_pb,
    )
    from sundial.v1 import (
        agent_schedule_service_pb2_grpc,
        agent_service_pb2,
        agent_service_pb2_grpc,
        metadata_pb2,
    )

    with authorized_channel(f"127.0.0.1:{services.grpc_port}", API_KEY) as channel:
        agents = agent_service_pb2_grpc.AgentServiceStub(channel)
        agent = agents.CreateAgent(
            agent_service_pb2.CreateAgentRequest(
                workspace_id=services.workspace,
                metadata=metadata_pb2.CreateResourceMetadata(name="bench"),
            )
        )
        stub = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
        request = json_format.ParseDict(SCHEDULE_BODY, schedules_pb.CreateAgentScheduleRequest())
        request.workspace_id, request.agent_id = services.workspace, agent.metadata.id
        schedule = stub.CreateAgentSchedule(request)
        schedule = stub.GetAgentSchedule(
            schedules_pb.GetAgentScheduleRequest(
                workspace_id=services.workspace,
                agent_id=agent.metadata.id,
                schedule_id=schedule.metadata.id,
            )
        )
    get = schedules_pb.GetAgentScheduleRequest(
        workspace_id=services.workspace,
        agent_id=agent.metadata.id,
        schedule_id=schedule.metadata.id,
    )
    return {
        "grpc_port": services.grpc_port,
        "http_port": services.http_port,
        "front_port": services.front_port,
        "echo_port": services.echo_port,
        "workspace": services.workspace,
        "agent": agent.metadata.id,
        "schedule": schedule.metadata.id,
        "get_request": get.SerializeToString(),
        "schedule_bytes": schedule.SerializeToString(),
    }


def gateway_overhead(config: dict[str, Any], calls: int = 2000) -> dict[str, float]:
    """Microseconds of the gateway's own work per request (route, build the request, render
    ProtoJSON), with the gRPC hop replaced by a canned answer: what REST adds to a call."""
    from sundial.api.grpc_server import SERVICE_NAMES
    from sundial.gateway.app import GatewayApp
    from sundial.gateway.calls import CallResult
    from sundial.gateway.routes import find_services, routes_of

    answer = CallResult(config["schedule_bytes"], None, [("X-Request-Id", "req_bench")])

    class CannedForwarder:
        def call(self, *args: Any) -> CallResult:
            return answer

    app = GatewayApp(
        routes_of(find_services(SERVICE_NAMES)),
        CannedForwarder(),
        openapi_document=b"{}",
        readiness=lambda: True,
    )
    schedules = f"/v1/workspaces/{config['workspace']}/agents/{config['agent']}/schedules"
    headers = [
        ("Host", "127.0.0.1"),
        ("Content-Type", "application/json"),
        ("Authorization", f"Bearer {API_KEY}"),
    ]
    requests = {
        "GET": (f"{schedules}/{config['schedule']}", b""),
        "POST": (schedules, json.dumps(SCHEDULE_BODY).encode()),
    }
    result = {}
    for method, (path, body) in requests.items():
        assert app.handle(method, path, headers, body).status == 200
        started = time.perf_counter()
        for _ in range(calls):
            app.handle(method, path, headers, body)
        result[method] = (time.perf_counter() - started) / calls * 1e6
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="client threads per process")
    parser.add_argument(
        "--max-workers",
        type=int,
        default=DEFAULT_MAX_WORKERS,
        help="all servers' thread pools (default: sundial serve's)",
    )
    parser.add_argument(
        "--max-waiting-calls",
        type=int,
        help="sundial serve's threads for long-polling claims (default: its own)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="serve from a throwaway PostgreSQL cluster (as the tests start one) instead of SQLite",
    )
    parser.add_argument("--echo-server", type=int, help=argparse.SUPPRESS)
    # MAX_WORKERS DATABASE AGENT_ID SCHEDULE_HEX
    parser.add_argument("--floor-server", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        serve_echo(args.echo_server)
        return 0
    if args.floor_server:
        workers, database, agent_id, schedule = args.floor_server
        serve_floor(int(workers), database, agent_id, bytes.fromhex(schedule))
        return 0

    with tempfile.TemporaryDirectory() as directory, _database(args, Path(directory)) as url:
        serve_flags = [] if args.max_waiting_calls is None else [
            "--max-waiting-calls", str(args.max_waiting_calls)
        ]  # fmt: skip
        services = Services(url, args.max_workers, serve_flags)
        try:
            config = _setup(services)
            # The floor always writes to its own SQLite file, with --postgres too: it is the
            # least a Create costs in this stack, whatever database sundial serves from.
            config["floor_port"] = services.start_floor(
                Path(directory) / "floor.db", config["agent"], config["schedule_bytes"]
            )
            config["pids"] = services.pids
            rates: dict[str, list[float]] = {target: [] for target in TARGETS}
            cpu: dict[str, list[float]] = {target: [] for target in TARGETS}
            with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
                measure(pool, config, "echo", args.processes, args.threads, 0.5)  # warm-up
                for _ in range(args.rounds):
                    for target in TARGETS:
                        rate, cpu_per_call = measure(
                            pool, config, target, args.processes, args.threads, args.seconds
                        )
                        rates[target].append(rate)
                        cpu[target].append(cpu_per_call)
        finally:
            services.close()
    _report(rates, cpu, args)
    overhead = gateway_overhead(config)
    print(
        f"\ngateway work per request, in-process with the gRPC hop stubbed: "
        f"GET {overhead['GET']:.0f} us, POST (create) {overhead['POST']:.0f} us"
    )
    return 0


@contextlib.contextmanager
def _database(args: argparse.Namespace, directory: Path) -> Iterator[str]:
    """The URL of the database to serve from: SQLite in `directory`, or a PostgreSQL cluster
    started for the run and stopped after it."""
    if not args.postgres:
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.create_database("bench")
    finally:
        cluster.stop()


def _report(
    rates: dict[str, list[float]], cpu: dict[str, list[float]], args: argparse.Namespace
) -> None:
    median = {target: statistics.median(values) for target, values in rates.items()}
    cpu_median = {target: statistics.median(values) for target, values in cpu.items()}
    concurrency = args.processes * args.threads
    print(
        f"{args.rounds} rounds x {args.seconds:g}s per target, {concurrency} concurrent "
        f"clients ({args.processes} processes x {args.threads} threads), loopback"
    )
    print(f"{'target':<17} {'req/s (median)':>15} {'server CPU us/call':>19}   rounds")
    for target in TARGETS:
        rounds = ", ".join(f"{value:.0f}" for value in rates[target])
        print(f"{target:<17} {median[target]:>15.0f} {cpu_median[target]:>19.0f}   {rounds}")
    print()
    for numerator, denominator, goal in GOALS:
        ratio = median[numerator] / median[denominator]
        verdict = "ok" if ratio >= goal else "BELOW TARGET"
        print(f"{numerator} / {denominator}: {ratio:.0%} (target >= {goal:.0%}) {verdict}")
    for rest, grpc_target in REST_PAIRS:
        cpu_ratio = cpu_median[rest] / cpu_median[grpc_target]
        print(f"server CPU per call, {rest} / {grpc_target}: {cpu_ratio:.2f}x")
    _report_floor(median)


def _report_floor(median: dict[str, float]) -> None:
    """gRPC Create against the floor, and the floor against echo: how much of the Create
    target the stack allows at all."""
    floor = median["floor-create"] / median["echo"]
    print(f"grpc-create / floor-create: {median['grpc-create'] / median['floor-create']:.0%}")
    print(f"floor-create / echo: {floor:.0%}")
    goal = next(g for n, d, g in GOALS if (n, d) == ("grpc-create", "echo"))
    reach = (
        f"gRPC Create meets the {goal:.0%}-of-echo target at {goal / floor:.0%} of the floor's rate"
        if floor >= goal
        else f"the {goal:.0%}-of-echo target is above the floor, out of reach for any Create"
    )
    print(
        "floor-create is the least a Create can cost in this stack (grpcio + protobuf + one "
        f"sqlite3 write transaction; no validation, auth or ORM): {reach}"
    )
    goal = next(g for n, d, g in GOALS if (n, d) == ("grpc-get", "echo"))
    for floor_get in ("floor-get", "floor-get-session"):
        share = median[floor_get] / median["echo"]
        print(
            f"{floor_get} / echo: {share:.0%}; grpc-get / {floor_get}: "
            f"{median['grpc-get'] / median[floor_get]:.0%}; the {goal:.0%}-of-echo Get target "
            f"is {goal / share:.0%} of {floor_get}'s rate"
        )
    print(
        "floor-get is grpcio + protobuf + one raw sqlite3 read; floor-get-session the same read "
        "through a SQLAlchemy Session per call (no auth, interceptors, decoding or presenting)"
    )


if __name__ == "__main__":
    sys.exit(main())
