"""`sundial worker`: claims an agent's objectives and runs a command for each
(sundial.api.worker does the work)."""

import os
import signal
import socket

import click

from sundial.cli.errors import SundialCommand
from sundial.settings import DEFAULT_GRPC_ADDRESS


@click.command(
    "worker",
    cls=SundialCommand,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--workspace", required=True, help="ws_... id")
@click.option("--agent", required=True, help="agent_... id")
@click.option("--grpc-address", envvar="SUNDIAL_GRPC_ADDRESS", default=DEFAULT_GRPC_ADDRESS)
@click.option(
    "--api-key-file",
    help="file holding the API key (default: the SUNDIAL_API_KEY environment variable)",
)
@click.option("--worker-id", default=lambda: f"{socket.gethostname()}-{os.getpid()}")
@click.option("--lease", type=int, default=60, help="lease seconds (heartbeats keep it)")
@click.option("--wait", type=int, default=20, help="long-poll seconds per claim")
@click.option("--once", is_flag=True, help="one claim round, then exit")
@click.option(
    "--grace",
    type=click.IntRange(min=0),
    default=30,
    help="seconds a running command may take to finish after SIGTERM",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def worker(
    workspace: str,
    agent: str,
    grpc_address: str,
    api_key_file: str | None,
    worker_id: str,
    lease: int,
    wait: int,
    once: bool,
    grace: int,
    command: tuple[str, ...],
) -> int:
    """Claim an agent's objectives and run COMMAND for each: sundial worker ... -- COMMAND."""
    from sundial.api.worker import Worker, WorkerError, WorkerOptions  # noqa: PLC0415

    argv = list(command[1:] if command[:1] == ("--",) else command)
    if not argv:
        click.echo("sundial worker: give the command to run after --", err=True)
        return 2
    try:
        api_key = _api_key(api_key_file)
    except OSError as error:
        click.echo(f"sundial worker: cannot read {api_key_file}: {error.strerror}", err=True)
        return 2
    if not api_key:
        click.echo("sundial worker: set SUNDIAL_API_KEY (or --api-key-file) to a key", err=True)
        return 2
    running = Worker(
        WorkerOptions(
            target=grpc_address,
            api_key=api_key,
            workspace_id=workspace,
            agent_id=agent,
            worker_id=worker_id,
            command=argv,
            lease_seconds=lease,
            wait_seconds=0 if once else wait,
            stop_grace_seconds=grace,
        )
    )
    signal.signal(signal.SIGTERM, lambda _signum, _frame: running.stop())
    signal.signal(signal.SIGINT, lambda _signum, _frame: running.stop())
    try:
        ran = running.run(once=once)
    except WorkerError as error:
        click.echo(f"sundial worker: {error}", err=True)
        return 1
    print(f"ran {ran} objective(s)", flush=True)
    return 0


def _api_key(path: str | None) -> str:
    """A secret never goes on the command line, where `ps` shows it."""
    if path:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    return os.environ.get("SUNDIAL_API_KEY", "").strip()
