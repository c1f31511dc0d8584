"""The `sundial` client commands, run in-process with Click's CliRunner against a real
server (tests/api/conftest.py's `server`, on free ports), each with its own config file."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from sundial.api.client import authorized_channel
from sundial.cli.root import cli
from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.v1 import objective_service_pb2_grpc
from tests.support.auth import ADMIN_SECRET
from tests.support.servers import running, server_settings

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

Sundial = Callable[..., Result]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def server(database_url: str, clock: FakeClock) -> Iterator[SundialServer]:
    # Tests fire schedules themselves (server.engine.run_pass()) on the fake clock.
    with running(server_settings(database_url), clock) as instance:
        yield instance


@pytest.fixture
def objectives(server: SundialServer) -> Iterator[objective_service_pb2_grpc.ObjectiveServiceStub]:
    """What a worker calls (to claim and complete runs)."""
    with authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel:
        yield objective_service_pb2_grpc.ObjectiveServiceStub(channel)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "sundial.yaml"


@pytest.fixture
def env(server: SundialServer, config_path: Path) -> dict[str, str | None]:
    """What a user would export: the server, the admin key, the workspace and account."""
    return {
        "SUNDIAL_CONFIG": str(config_path),
        "SUNDIAL_ADDRESS": f"127.0.0.1:{server.port}",
        "SUNDIAL_API_KEY": ADMIN_SECRET,
        "SUNDIAL_WORKSPACE": server.bootstrap.default_workspace.id,
        "SUNDIAL_ACCOUNT": server.bootstrap.account.id,
        "SUNDIAL_CONTEXT": None,
        # The in-process server logs every call; the commands' stderr is what is checked.
        "SUNDIAL_LOG_LEVEL": "WARNING",
        "SUNDIAL_DEBUG": None,
    }


@pytest.fixture
def sundial(env: dict[str, str | None]) -> Sundial:
    """`sundial(*args, env_overrides={...})` runs the command; `env_overrides` values
    override (None unsets); `input_text` is its stdin."""

    def invoke(
        *args: str,
        env_overrides: dict[str, str | None] | None = None,
        input_text: str | None = None,
    ) -> Result:
        runner = CliRunner()
        return runner.invoke(
            cli, list(args), env={**env, **(env_overrides or {})}, input=input_text
        )

    return invoke


def ok(result: Result) -> str:
    """The stdout of a command that must have succeeded."""
    assert result.exit_code == 0, (result.exit_code, result.output, result.stderr)
    return result.stdout


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def as_yaml(result: Result) -> Any:
    return yaml.safe_load(ok(result))


def failed(result: Result, exit_code: int) -> str:
    """The one-line stderr of a command that must have failed with `exit_code`."""
    assert result.exit_code == exit_code, (result.exit_code, result.output, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]
