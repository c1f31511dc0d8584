"""Importing many schedules: BatchCreateAgentSchedules (batches of 1,000) against single
CreateAgentSchedule calls, in the same run, on SQLite and on PostgreSQL (issue 16: the batch
rate should be at least 10x the single-Create rate).

Run: .venv/bin/python bench/bulk.py [--schedules 100000] [--singles 2000] [--batch-size 1000]
     [--concurrency 4] [--rounds 10] [--databases sqlite,postgresql] [--distinct-rules 200]
     [--request-ids]

For each database, a fresh `sundial serve` (SQLite in a temporary directory, or a throwaway
PostgreSQL cluster started as the tests start one) runs in its own process with its default
roles (API and firing engine). The client, over gRPC on loopback, creates `--singles`
schedules one Create at a time and imports `--schedules` schedules in batches, each with
`--concurrency` calls in flight; the two take turns over `--rounds` rounds (a tenth of each
per round by default), so that the load of other processes on the machine weighs on both.

Importing 100,000 schedules one Create at a time takes long enough that only a sample is
timed: the single-Create rate is measured on `--singles` calls, and the time 100,000 of them
would take is extrapolated from it (the report says so). Both imports send the same mix of
schedules (`--distinct-rules` cron rules; names and external ids unique; with
`--request-ids` every call carries an idempotency key), and both times include what the
client builds and parses. The server's CPU per schedule is printed too: it moves less than
the rates when other processes load the machine. At the end the workspace is listed to
check that every schedule was stored."""

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sundial.api.client import authorized_channel  # noqa: E402
from sundial.v1 import agent_schedule_pb2 as sp  # noqa: E402
from sundial.v1 import agent_schedule_service_pb2 as pb  # noqa: E402
from sundial.v1 import (  # noqa: E402
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
)
from tests.support import postgres  # noqa: E402

API_KEY = "sdl_bench-bulk-admin-key-0123456789abcdef"
TARGET_RATIO = 10.0
# Every call may take this long (a batch of 1,000 on a loaded machine included).
CALL_TIMEOUT = 120.0


@dataclass(frozen=True)
class Import:
    """One way of importing: how many schedules it created, how long it took, and how much
    CPU the server spent on it (steadier than the rate when other processes load the
    machine)."""

    schedules: int
    seconds: float
    server_cpu_seconds: float

    def __add__(self, other: "Import") -> "Import":
        return Import(
            self.schedules + other.schedules,
            self.seconds + other.seconds,
            self.server_cpu_seconds + other.server_cpu_seconds,
        )

    @property
    def cpu_us_per_schedule(self) -> float:
        return self.server_cpu_seconds / self.schedules * 1e6

    @property
    def rate(self) -> float:
        return self.schedules / self.seconds


@dataclass(frozen=True)
class Target:
    """Where the schedules go, and what they are like."""

    workspace: str
    agent_id: str
    distinct_rules: int
    request_ids: bool


@dataclass(frozen=True)
class Result:
    database: str
    singles: Import
    batches: Import
    stored: int

    @property
    def ratio(self) -> float:
        return self.batches.rate / self.singles.rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=100_000, help="imported in batches")
    parser.add_argument("--singles", type=int, default=2_000, help="created one at a time")
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=4, help="calls in flight")
    parser.add_argument("--rounds", type=int, default=10, help="turns of singles and batches")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--distinct-rules", type=int, default=200, help="cron rules in the mix")
    parser.add_argument(
        "--request-ids", action="store_true", help="send a request_id with every call"
    )
    args = parser.parse_args()
    results = []
    for database in args.databases.split(","):
        if database == "postgresql" and not postgres.available():
            print(f"PostgreSQL: no binaries under {postgres.PG_BIN}; skipped")
            continue
        with (
            tempfile.TemporaryDirectory() as directory,
            _database_url(database, Path(directory)) as url,
        ):
            results.append(_run(database, url, args))
    _report(results, args)
    return 0 if results and all(r.ratio >= TARGET_RATIO for r in results) else 1


def _run(database: str, url: str, args: argparse.Namespace) -> Result:
    with (
        _serve(url) as (port, workspace, server_pid),
        authorized_channel(f"127.0.0.1:{port}", API_KEY) as channel,
    ):
        agent = agent_service_pb2_grpc.AgentServiceStub(channel).CreateAgent(
            agent_service_pb2.CreateAgentRequest(
                workspace_id=workspace, metadata=metadata_pb2.CreateResourceMetadata(name="bulk")
            ),
            timeout=CALL_TIMEOUT,
        )
        stub = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
        target = Target(workspace, agent.metadata.id, args.distinct_rules, args.request_ids)
        # Singles and batches take turns, a slice of each per round, so that a change in
        # the machine's load (other processes share it) weighs on both alike.
        singles, batches = Import(0, 0.0, 0.0), Import(0, 0.0, 0.0)
        single_ids = _slices(range(args.singles), args.rounds)
        batch_starts = _slices(
            range(args.singles, args.singles + args.schedules, args.batch_size), args.rounds
        )
        end = args.singles + args.schedules
        for round_number, (some_singles, some_starts) in enumerate(
            zip(single_ids, batch_starts, strict=True), 1
        ):
            singles += _timed(
                server_pid, args.concurrency, [_single(stub, target, i) for i in some_singles]
            )
            batches += _timed(
                server_pid,
                args.concurrency,
                [
                    _batch(stub, target, range(start, min(start + args.batch_size, end)))
                    for start in some_starts
                ],
            )
            print(
                f"{database}: round {round_number}/{args.rounds}: {singles.schedules} singles, "
                f"{batches.schedules} in batches",
                flush=True,
            )
        stored = _count(stub, workspace)
    if stored != end:
        raise RuntimeError(f"{database}: {stored} schedules stored, expected {end}")
    return Result(database, singles, batches, stored)


def _item(index: int, distinct_rules: int) -> pb.CreateAgentScheduleRequest:
    """The schedule of import line `index`: one of `distinct_rules` cron rules (the minute,
    hour and day of week vary), unique names."""
    rule = index % distinct_rules
    return pb.CreateAgentScheduleRequest(
        metadata=metadata_pb2.CreateResourceMetadata(
            name=f"import-{index}",
            bundle_key="bulk-import",
            external_id=f"line-{index}",
            labels={"team": f"team-{rule % 7}"},
        ),
        spec=sp.AgentScheduleSpec(
            initial_message="Summarize yesterday's tickets",
            schedule=sp.AgentScheduleSpecSchedule(
                cron_expressions=[f"{rule % 60} {rule // 60 % 24} * * {rule // 1440 % 7}-6"],
                timezone="America/New_York",
            ),
            overlap_policy=sp.OVERLAP_POLICY_SKIP,
        ),
    )


def _single(stub: Any, target: Target, index: int) -> Callable[[], int]:
    def call() -> int:
        request = _item(index, target.distinct_rules)
        request.workspace_id, request.agent_id = target.workspace, target.agent_id
        if target.request_ids:
            request.request_id = f"single-{index}"
        stub.CreateAgentSchedule(request, timeout=CALL_TIMEOUT)
        return 1

    return call


def _batch(stub: Any, target: Target, indexes: range) -> Callable[[], int]:
    def call() -> int:
        request = pb.BatchCreateAgentSchedulesRequest(
            workspace_id=target.workspace,
            agent_id=target.agent_id,
            requests=[_item(i, target.distinct_rules) for i in indexes],
            request_id=f"batch-{indexes.start}" if target.request_ids else "",
        )
        response = stub.BatchCreateAgentSchedules(request, timeout=CALL_TIMEOUT)
        if len(response.agent_schedules) != len(indexes):
            raise RuntimeError(f"{len(indexes)} requests, {len(response.agent_schedules)} made")
        return len(indexes)

    return call


def _slices(items: range, count: int) -> list[range]:
    """`items` cut into `count` consecutive slices of (nearly) equal length."""
    bounds = [len(items) * i // count for i in range(count + 1)]
    return [items[bounds[i] : bounds[i + 1]] for i in range(count)]


def _timed(server_pid: int, concurrency: int, calls: Sequence[Callable[[], int]]) -> Import:
    """Runs `calls` with `concurrency` in flight; how many schedules they made, how fast."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        cpu_before = _cpu_seconds(server_pid)
        started = time.perf_counter()
        created = sum(pool.map(lambda call: call(), calls))
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds(server_pid) - cpu_before
    return Import(created, seconds, cpu)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of process `pid`, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _count(stub, workspace: str) -> int:
    """Every schedule of the workspace, counted page by page."""
    count, token = 0, ""
    while True:
        page = stub.ListAgentSchedules(
            pb.ListAgentSchedulesRequest(
                workspace_id=workspace, agent_id="-", page_size=1000, page_token=token
            ),
            timeout=CALL_TIMEOUT,
        )
        count += len(page.agent_schedules)
        token = page.next_page_token
        if not token:
            return count


@contextlib.contextmanager
def _database_url(database: str, directory: Path) -> Iterator[str]:
    """A SQLite file in `directory`, or a PostgreSQL cluster started for the run."""
    if database == "sqlite":
        yield f"sqlite:///{directory / 'bulk.db'}"
        return
    if database != "postgresql":
        raise SystemExit(f"unknown database {database!r}: sqlite or postgresql")
    cluster = postgres.PostgresCluster()
    cluster.start()
    try:
        yield cluster.create_database("bulk")
    finally:
        cluster.stop()


@contextlib.contextmanager
def _serve(url: str) -> Iterator[tuple[int, str, int]]:
    """`sundial serve` on `url` in its own process: its gRPC port and default workspace."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sundial.cli.main", "--log-level", "WARNING", "serve",
         "--database-url", url, "--grpc-address", "127.0.0.1:0",
         "--http-address", "127.0.0.1:0", "--drain-delay", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "SUNDIAL_BOOTSTRAP_API_KEY": API_KEY},
    )  # fmt: skip
    try:
        found = _read_until(
            process,
            {"grpc": r"serving gRPC on [\d.]+:(\d+)", "workspace": r"default workspace: (\S+)"},
        )
        yield int(found["grpc"]), found["workspace"], process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


def _read_until(process: subprocess.Popen[str], patterns: dict[str, str]) -> dict[str, str]:
    assert process.stdout is not None
    found: dict[str, str] = {}
    while len(found) < len(patterns):
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"sundial serve exited early with {process.wait()}")
        for key, pattern in patterns.items():
            if match := re.search(pattern, line):
                found[key] = match[1]
    return found


def _report(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\n{args.schedules:,} schedules in batches of {args.batch_size:,} vs {args.singles:,} "
        f"single Creates, {args.concurrency} calls in flight, gRPC on loopback, "
        f"{args.distinct_rules} distinct rules, request ids {'on' if args.request_ids else 'off'}"
    )
    print(
        f"{'database':<11} {'single/s':>9} {'batch/s':>9} {'ratio':>7}  "
        f"{'batch import':>12}  {'singles (extrapolated)':>22}  "
        f"{'server CPU us/schedule':>22}  stored"
    )
    for r in results:
        extrapolated = args.schedules / r.singles.rate
        cpu = f"{r.singles.cpu_us_per_schedule:.0f} / {r.batches.cpu_us_per_schedule:.0f}"
        print(
            f"{r.database:<11} {r.singles.rate:>9.0f} {r.batches.rate:>9.0f} {r.ratio:>6.1f}x  "
            f"{r.batches.seconds:>11.1f}s  {extrapolated:>21.0f}s  {cpu:>22}  {r.stored:,}"
        )
    print("server CPU per schedule: single Create / batch")
    print(
        f"single-Create time for {args.schedules:,} is extrapolated from the {args.singles:,} "
        f"timed; target: batch >= {TARGET_RATIO:g}x the single-Create rate"
    )
    for r in results:
        verdict = "met" if r.ratio >= TARGET_RATIO else "MISSED"
        print(f"{r.database}: {r.ratio:.1f}x, target {verdict}")


if __name__ == "__main__":
    sys.exit(main())
