"""`sundial serve` and `sundial worker` refuse bad flags before starting anything (their
running is tested end to end in tests/e2e/test_serve.py)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from sundial.cli.root import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--roles", "api,web"), "roles must be api, engine or both, got 'api,web'"),
        (("--max-workers", "0"), "0 is not in the range x>=1"),
        (("--max-queued-calls", "many"), "'many' is not a valid integer"),
        (("--drain-delay", "soon"), "'soon' is not a valid float"),
        (("--metrics-address", "9090"), "address '9090' is not HOST:PORT"),
        (("--otlp-endpoint", "collector:4318"), "OTLP endpoint 'collector:4318' is not http(s)"),
        (("--push-concurrency", "0"), "0 is not in the range 1<=x<=256"),
    ],
    ids=["roles", "max-workers", "queued-calls", "drain-delay", "metrics-address", "otlp", "push"],
)
def test_a_bad_serve_flag_is_a_usage_error(tmp_path: Path, args: tuple[str, ...], message: str):
    database = tmp_path / "never.db"
    result = CliRunner().invoke(cli, ["serve", "--database-url", f"sqlite:///{database}", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not database.exists()


def test_serve_flags_read_their_environment_variables(tmp_path: Path):
    result = CliRunner().invoke(
        cli, ["serve", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
        env={"SUNDIAL_ROLES": "nothing"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "roles must be api, engine or both, got 'nothing'" in result.stderr


def test_worker_needs_a_command_and_a_key(tmp_path: Path):
    base = ["worker", "--workspace", "ws_1", "--agent", "agent_1", "--grpc-address", "127.0.0.1:1"]
    no_command = CliRunner().invoke(cli, [*base, "--"], env={"SUNDIAL_API_KEY": "k"})
    assert no_command.exit_code == 2
    assert no_command.stderr == "sundial worker: give the command to run after --\n"
    no_key = CliRunner().invoke(cli, [*base, "--", "true"], env={"SUNDIAL_API_KEY": None})
    assert no_key.exit_code == 2
    assert no_key.stderr == "sundial worker: set SUNDIAL_API_KEY (or --api-key-file) to a key\n"
    missing = CliRunner().invoke(cli, ["worker", "--agent", "agent_1", "--", "true"])
    assert missing.exit_code == 2
    assert "Missing option '--workspace'" in missing.stderr
    unreadable = CliRunner().invoke(
        cli, [*base, "--api-key-file", str(tmp_path / "no.key"), "true"]
    )
    assert unreadable.exit_code == 2
    assert unreadable.stderr == (
        f"sundial worker: cannot read {tmp_path / 'no.key'}: No such file or directory\n"
    )
