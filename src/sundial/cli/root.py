"""The `sundial` command tree. Subcommands are imported when they run (or `--help` lists
them), so that `sundial schedules list` does not load SQLAlchemy and `sundial admin`
does not load grpc: the lazy loading Click's documentation describes."""

import importlib
import logging
import os
import threading
from typing import Any

import click

from sundial.cli.errors import DEBUG_KEY, SundialGroup

# name -> "module:attribute" of the command.
_COMMANDS = {
    "serve": "sundial.cli.serve:serve",
    "migrate": "sundial.cli.serve:migrate_command",
    "worker": "sundial.cli.worker:worker",
    "admin": "sundial.cli.admin:admin",
    "config": "sundial.cli.config_commands:config",
    "workspaces": "sundial.cli.workspaces:workspaces",
    "agents": "sundial.cli.agents:agents",
    "schedules": "sundial.cli.describe:schedules",
    "runs": "sundial.cli.runs:runs",
    "keys": "sundial.cli.keys:keys",
    "webhooks": "sundial.cli.webhooks:webhooks",
    "deliveries": "sundial.cli.webhooks:deliveries",
    "chains": "sundial.cli.chains:chains",
    "apply": "sundial.cli.apply:apply_command",
    "parse": "sundial.cli.parse:parse_command",
    "mcp": "sundial.cli.mcp:mcp_command",
}


class LazyGroup(SundialGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")


@click.group(
    "sundial",
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--log-level", envvar="SUNDIAL_LOG_LEVEL", default="INFO", show_default=True)
@click.option(
    "--log-json", is_flag=True, default=lambda: _env_flag("SUNDIAL_LOG_JSON"), help="JSON lines"
)
@click.option("--debug", is_flag=True, help="tracebacks for errors [env SUNDIAL_DEBUG]")
@click.pass_context
def cli(ctx: click.Context, log_level: str, log_json: bool, debug: bool) -> None:
    """Sundial: schedules for agents. Exit codes: 0 ok, 1 failed or server error, 2 usage or
    invalid input, 3 not found, 4 unauthenticated or denied, 5 conflict or precondition."""
    from sundial.logs import configure_logging  # noqa: PLC0415

    stop = ctx.obj
    if isinstance(stop, threading.Event) and ctx.invoked_subcommand != "serve":
        from sundial.cli.main import restore_stop_signals  # noqa: PLC0415

        restore_stop_signals(stop)
    if debug:
        ctx.meta[DEBUG_KEY] = True
    configure_logging(log_level, json_lines=log_json)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Alembic reports every migration step at INFO: noise for a CLI command.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def run(argv: list[str], stop: threading.Event) -> int:
    """Runs `sundial ARGV`; returns the exit code."""
    try:
        cli.main(args=argv, prog_name="sundial", obj=stop, standalone_mode=True)
    except SystemExit as exit_:
        return _code(exit_.code)
    return 0


def _code(code: Any) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1
