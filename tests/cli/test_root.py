"""The command tree: every command is listed, and loading a client command does not load
the database layers (nor an admin command grpc)."""

import subprocess
import sys

from click.testing import CliRunner

from sundial.cli.root import cli

COMMANDS = ["serve", "migrate", "worker", "admin", "config", "workspaces", "agents", "schedules",
            "runs", "keys", "webhooks", "deliveries", "chains", "apply", "parse",
            "mcp"]  # fmt: skip


def test_help_lists_every_command_and_the_exit_codes():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    lines = result.stdout.split("Commands:")[1].splitlines()
    assert [line.split()[0] for line in lines if line.startswith("  ")] == COMMANDS
    assert "3 not found" in " ".join(result.stdout.split())


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["schedule", "list"])
    assert result.exit_code == 2
    assert "No such command 'schedule'" in result.stderr


def _loaded(modules: str, names: tuple[str, ...]) -> list[str]:
    probe = f"import sys, {modules}; print([n for n in {names!r} if n in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return eval(result.stdout)


def test_client_commands_do_not_load_the_database_layers():
    clients = "sundial.cli.root, sundial.cli.describe, sundial.cli.runs, sundial.cli.keys, " \
        "sundial.cli.workspaces, sundial.cli.agents, sundial.cli.config_commands, " \
        "sundial.cli.apply, sundial.api.json_client, sundial.cli.mcp, " \
        "sundial.mcp.tool_server, sundial.mcp.http_transport"  # fmt: skip
    assert _loaded(clients, ("sqlalchemy", "alembic", "sundial.store", "sundial.server")) == []


def test_admin_commands_do_not_load_grpc():
    assert _loaded("sundial.cli.root, sundial.cli.admin", ("grpc", "sundial.server")) == []
