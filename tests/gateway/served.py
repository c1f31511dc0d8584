"""A real `sundial serve` in a subprocess, with its REST port read from its output."""

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.auth import ADMIN_SECRET

STARTUP_TIMEOUT = 60


@dataclass
class Served:
    popen: subprocess.Popen[str]
    rest_port: int
    grpc_port: int
    workspace: str
    account: str


@contextmanager
def sundial_serve(database_url: str, *extra: str) -> Iterator[Served]:
    """`sundial serve` on free loopback ports; killed at exit if still running."""
    popen = subprocess.Popen(
        [sys.executable, "-m", "sundial.cli.main", "--log-level", "WARNING", "serve",
         "--database-url", database_url, "--grpc-address", "127.0.0.1:0",
         "--http-address", "127.0.0.1:0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert popen.stdout is not None
        for line in popen.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        found: dict[str, str] = {}
        patterns = {
            "grpc": r"serving gRPC on 127\.0\.0\.1:(\d+)",
            "rest": r"serving REST on 127\.0\.0\.1:(\d+)",
            "workspace": r"default workspace: (ws_\w+)",
            "account": r"account: (acct_\w+)",
        }
        while len(found) < len(patterns):
            try:
                line = lines.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                popen.kill()
                raise AssertionError(
                    f"sundial serve did not start: {popen.stderr.read()}"
                ) from None
            for key, pattern in patterns.items():
                if match := re.search(pattern, line):
                    found[key] = match[1]
        yield Served(
            popen, int(found["rest"]), int(found["grpc"]), found["workspace"], found["account"]
        )
    finally:
        if popen.poll() is None:
            popen.kill()
        popen.wait(timeout=30)
