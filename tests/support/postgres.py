"""A throwaway PostgreSQL cluster for tests: a temporary data directory, a loopback port,
run as the `postgres` user when the tests run as root, stopped and deleted afterwards."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("SUNDIAL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> bool:
    return (PG_BIN / "initdb").is_file() and (PG_BIN / "pg_ctl").is_file()


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    def __init__(self) -> None:
        self.port = 0
        self._root = Path(tempfile.mkdtemp(prefix="sundial-pg-"))
        self._data = self._root / "data"
        self._as_postgres = os.geteuid() == 0
        self.user = "postgres" if self._as_postgres else os.environ.get("USER", "postgres")

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if self._as_postgres:
            shutil.chown(self._root, "postgres", "postgres")
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self._data),
            "-U",
            self.user,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        self.port = _free_port()
        self.start_server()

    def start_server(self) -> None:
        """Starts PostgreSQL on the cluster's data directory and port (again, after
        `stop_server`)."""
        options = (
            f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self._data),
            "-l",
            str(self._root / "log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop_server(self) -> None:
        """Stops PostgreSQL as an operator would (`pg_ctl stop -m fast`: connections are
        closed, the data stays), for outage tests."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self._data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str = "template1") -> str:
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self._data), "-m", "immediate", "stop")
        shutil.rmtree(self._root, ignore_errors=True)
