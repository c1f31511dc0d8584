"""The REST gateway on each candidate HTTP server, measured in one run: REST Get and Create
throughput, the front's CPU per call, and the abuse scenario of issue 13 (idle keep-alive
connections, slow-header clients, abandoned expensive requests) with a normal client's
latency under it. How waitress was chosen (BENCHMARKS.md, "HTTP server").

Run: .venv/bin/python bench/http_servers.py [--seconds 3] [--rounds 3] [--threads 8]
     [--servers stdlib,waitress,cheroot,granian] [--abuse-seconds 8]

One `sundial serve` (SQLite in a temporary directory) answers gRPC; each front is its own
process serving `sundial.gateway.wsgi.create_app()` (the WSGI factory) and calling that gRPC
server over loopback TCP, so every front does the same work: `stdlib` is the replaced
http.server listener (bench/legacy_http_server.py, kept here for this comparison),
`waitress` the one `sundial serve` embeds (gateway.http_server), `cheroot` and `granian`
(one worker process, its Rust HTTP/1 stack) with their own defaults except the thread
count and, for granian, the same header deadline. cheroot and granian are not dependencies:
`pip install cheroot granian` to run them. The gRPC targets of bench/gateway.py run in the
same turns, for the REST / gRPC ratios."""

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from gateway import SCHEDULE_BODY, Services, _client_process, _cpu_seconds, _setup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.http_abuse import Abuse, run_abuse  # noqa: E402

API_KEY = "sdl_bench-admin-key-0123456789abcdef"
SERVERS = ("waitress", "granian", "cheroot", "stdlib")
TARGETS = ("grpc-get", "rest-get", "grpc-create", "rest-create")
HEADER_TIMEOUT_SECONDS = 5
ABUSE_SCHEDULES = 100


def serve_front(kind: str, threads: int) -> None:
    """Serves the gateway on `kind` in this process; prints the port, stops on stdin EOF."""
    from sundial.gateway.wsgi import create_app

    app = create_app()
    if kind == "stdlib":
        from legacy_http_server import HttpServer as LegacyServer

        legacy = LegacyServer(app.app, "127.0.0.1:0")
        print(legacy.start(), flush=True)
        sys.stdin.read()
        legacy.stop(1)
    elif kind == "waitress":
        from sundial.gateway.http_server import HttpLimits, HttpServer

        limits = HttpLimits(threads=threads, header_timeout_seconds=HEADER_TIMEOUT_SECONDS)
        server = HttpServer(app.app, "127.0.0.1:0", limits)
        print(server.start(), flush=True)
        sys.stdin.read()
        server.stop(1)
    elif kind == "cheroot":
        from cheroot import wsgi

        cheroot_server = wsgi.Server(("127.0.0.1", 0), app, numthreads=threads)
        cheroot_server.prepare()
        thread = threading.Thread(target=cheroot_server.serve, daemon=True)
        thread.start()
        print(cheroot_server.bind_addr[1], flush=True)
        sys.stdin.read()
        cheroot_server.stop()
    else:
        raise SystemExit(f"unknown front {kind!r}")


class Front:
    """One front process in front of the gRPC server."""

    def __init__(self, kind: str, grpc_port: int, threads: int) -> None:
        self.kind = kind
        env = {**os.environ, "SUNDIAL_GRPC_TARGET": f"127.0.0.1:{grpc_port}"}
        if kind == "granian":
            self.port = _free_port()
            command = [
                sys.executable, "-m", "granian", "--interface", "wsgi", "--factory",
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                "--blocking-threads", str(threads), "--log-level", "warning",
                "--http1-header-read-timeout", str(HEADER_TIMEOUT_SECONDS * 1000),
                "sundial.gateway.wsgi:create_app",
            ]  # fmt: skip
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, env=env, text=True)
            _wait_listening(self.port)
            # The worker process serves; the parent only supervises it.
            self.pid = _child_pid(self.process.pid)
        else:
            command = [sys.executable, __file__, "--front", kind, str(threads)]
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
            )
            assert self.process.stdout is not None
            self.port = int(self.process.stdout.readline())
            self.pid = self.process.pid

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.terminate()
        self.process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _child_pid(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else pid


def _abuse_setup(config: dict[str, Any], grpc_port: int) -> tuple[str, bytes]:
    """An agent with ABUSE_SCHEDULES schedules: the GetAgent path and the List request."""
    from google.protobuf import json_format

    from sundial.api.client import authorized_channel
    from sundial.v1 import (
        agent_schedule_service_pb2,
        agent_schedule_service_pb2_grpc,
        agent_service_pb2,
        agent_service_pb2_grpc,
        metadata_pb2,
    )

    workspace = config["workspace"]
    with authorized_channel(f"127.0.0.1:{grpc_port}", API_KEY) as channel:
        agent = agent_service_pb2_grpc.AgentServiceStub(channel).CreateAgent(
            agent_service_pb2.CreateAgentRequest(
                workspace_id=workspace,
                metadata=metadata_pb2.CreateResourceMetadata(name="abuse"),
            )
        )
        stub = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
        body = {**SCHEDULE_BODY, "spec": {**SCHEDULE_BODY["spec"], "initialMessage": "x" * 2000}}
        request = json_format.ParseDict(
            body, agent_schedule_service_pb2.CreateAgentScheduleRequest()
        )
        request.workspace_id, request.agent_id = workspace, agent.metadata.id
        for _ in range(ABUSE_SCHEDULES):
            stub.CreateAgentSchedule(request)
    path = f"/v1/workspaces/{workspace}/agents/{agent.metadata.id}"
    expensive = (
        f"GET {path}/schedules?pageSize=1000 HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {API_KEY}\r\n\r\n"
    ).encode()
    return path, expensive


def _wait_quiet(grpc_port: int) -> float:
    """Seconds until health checks of the gRPC server answer within 10 ms five times running."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    started = time.monotonic()
    quick = 0
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while quick < 5 and time.monotonic() - started < 300:
            before = time.perf_counter()
            health.Check(health_pb2.HealthCheckRequest(), timeout=300)
            quick = quick + 1 if time.perf_counter() - before < 0.010 else 0
    return time.monotonic() - started


def abuse(front: Front, agent_path: str, expensive: bytes, seconds: float) -> str:
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def get_agent(connection: Any) -> int:
        connection.request("GET", agent_path, headers=headers)
        response = connection.getresponse()
        json.loads(response.read())
        return int(response.status)

    try:
        report = run_abuse(
            front.port,
            normal_call=get_agent,
            expensive_request=expensive,
            abuse=Abuse(seconds=seconds),
        )
    except OSError as error:
        return f"the abuse itself failed: {error!r}"
    return report.summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--client-threads", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="each front's worker threads")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--abuse-seconds", type=float, default=8.0)
    parser.add_argument("--front", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.front:
        serve_front(args.front[0], int(args.front[1]))
        return 0
    kinds = args.servers.split(",")
    with tempfile.TemporaryDirectory() as directory:
        services = Services(f"sqlite:///{Path(directory) / 'bench.db'}", 4, [])
        fronts: dict[str, Front] = {}
        try:
            config = _setup(services)
            config["floor_port"] = 0
            for kind in kinds:
                fronts[kind] = Front(kind, services.grpc_port, args.threads)
            rates: dict[tuple[str, str], list[float]] = {}
            cpu: dict[tuple[str, str], list[float]] = {}
            with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
                for _ in range(args.rounds):
                    for target in TARGETS:
                        for kind in kinds if target.startswith("rest") else ["grpc"]:
                            port = fronts[kind].port if kind in fronts else 0
                            pid = fronts[kind].pid if kind in fronts else services.pids["sundial"]
                            run = {**config, "http_port": port}
                            before = _cpu_seconds(pid)
                            calls = sum(
                                pool.starmap(
                                    _client_process,
                                    [(run, target, args.client_threads, args.seconds)]
                                    * args.processes,
                                )
                            )
                            key = (kind, target)
                            rates.setdefault(key, []).append(calls / args.seconds)
                            cpu.setdefault(key, []).append(
                                (_cpu_seconds(pid) - before) / max(calls, 1) * 1e6
                            )
            agent_path, expensive = _abuse_setup(config, services.grpc_port)
            abuse_reports = {}
            for kind in kinds:
                abuse_reports[kind] = abuse(fronts[kind], agent_path, expensive, args.abuse_seconds)
                # The gRPC server is shared: the next front starts once it has worked off
                # whatever abandoned calls this front passed on.
                abuse_reports[kind] += (
                    f"; gRPC server busy {_wait_quiet(services.grpc_port):.1f} s after"
                )
        finally:
            for front in fronts.values():
                front.close()
            services.close()
    _report(rates, cpu, abuse_reports, args)
    return 0


def _report(
    rates: dict[tuple[str, str], list[float]],
    cpu: dict[tuple[str, str], list[float]],
    abuse_reports: dict[str, str],
    args: argparse.Namespace,
) -> None:
    print(
        f"{args.rounds} rounds x {args.seconds:g}s, {args.processes * args.client_threads} "
        f"clients, fronts with {args.threads} threads, loopback"
    )
    print(f"{'server':<9} {'target':<12} {'req/s':>7} {'front CPU us/call':>18}   rounds")
    median = {key: statistics.median(values) for key, values in rates.items()}
    for (kind, target), values in rates.items():
        rounds = ", ".join(f"{value:.0f}" for value in values)
        cpu_median = statistics.median(cpu[(kind, target)])
        print(
            f"{kind:<9} {target:<12} {median[(kind, target)]:>7.0f} {cpu_median:>18.0f}   {rounds}"
        )
    print()
    for kind in {kind for kind, _ in rates if kind != "grpc"}:
        get = median[(kind, "rest-get")] / median[("grpc", "grpc-get")]
        create = median[(kind, "rest-create")] / median[("grpc", "grpc-create")]
        print(f"{kind}: REST/gRPC Get {get:.0%}, Create {create:.0%}")
    print(f"\nabuse ({args.abuse_seconds:g} s each):")
    for kind, summary in abuse_reports.items():
        print(f"{kind}: {summary}")


if __name__ == "__main__":
    sys.exit(main())
