"""`sundial serve` and `sundial worker` refuse bad flags before starting anything (their
running is tested end to end in tests/e2e/test_serve.py)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from sundial.cli.root import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--roles", "api,web"), "roles must be api, engine, both, or rest, got 'api,web'"),
        (("--roles", "rest,api", "--grpc-target", "h:1"), "--roles rest runs alone"),
        (("--roles", "rest"), "--roles rest needs --grpc-target HOST:PORT"),
        (("--roles", "rest", "--grpc-target", "h:1", "--http-address", ""), "--http-address"),
        (("--grpc-target", "h:1"), "--grpc-target (SUNDIAL_GRPC_TARGET) is the upstream of"),
        (("--grpc-target", "h"), "address 'h' is not HOST:PORT"),
        (("--gateway-token", "tiny"), "the gateway token must be at least 32 characters"),
        (("--max-workers", "0"), "0 is not in the range x>=1"),
        (("--max-queued-calls", "many"), "'many' is not a valid integer"),
        (("--drain-delay", "soon"), "'soon' is not a valid float"),
        (("--metrics-address", "9090"), "address '9090' is not HOST:PORT"),
        (("--otlp-endpoint", "collector:4318"), "OTLP endpoint 'collector:4318' is not http(s)"),
        (("--push-concurrency", "0"), "0 is not in the range 1<=x<=256"),
    ],
    ids=[
        "roles",
        "rest-and-api",
        "rest-no-target",
        "rest-no-http",
        "stray-target",
        "bad-target",
        "short-token",
        "max-workers",
        "queued-calls",
        "drain-delay",
        "metrics-address",
        "otlp",
        "push",
    ],
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
    assert "roles must be api, engine, both, or rest, got 'nothing'" in result.stderr


def test_a_rest_front_reads_its_target_and_token_from_the_environment(tmp_path: Path):
    database = tmp_path / "never.db"
    result = CliRunner().invoke(
        cli,
        ["serve", "--database-url", f"sqlite:///{database}", "--roles", "rest"],
        env={"SUNDIAL_GRPC_TARGET": "api.internal", "SUNDIAL_GATEWAY_TOKEN": "tiny-secret"},
    )
    assert result.exit_code == 2
    assert "'api.internal' is not HOST:PORT" in result.stderr
    assert not database.exists()
    no_target = CliRunner().invoke(
        cli, ["serve", "--roles", "rest"], env={"SUNDIAL_GRPC_TARGET": None}
    )
    assert no_target.exit_code == 2
    assert "(or SUNDIAL_GRPC_TARGET)" in no_target.stderr
    short = CliRunner().invoke(
        cli,
        ["serve", "--roles", "rest"],
        env={"SUNDIAL_GRPC_TARGET": "api:50051", "SUNDIAL_GATEWAY_TOKEN": "tiny-secret"},
    )
    assert short.exit_code == 2
    assert "SUNDIAL_GATEWAY_TOKEN" in short.stderr
    assert "the gateway token must be at least 32 characters, got 11" in short.stderr
    assert "tiny-secret" not in short.stderr


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
