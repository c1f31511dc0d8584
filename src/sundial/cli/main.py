"""`sundial serve | migrate | admin ...`. Every flag also reads a SUNDIAL_* variable."""

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import timedelta
from types import FrameType

from sundial.domain.clock import SystemClock
from sundial.logs import configure_logging
from sundial.service.tenancy import TenancyService
from sundial.settings import DEFAULT_DATABASE_URL, DEFAULT_GRPC_ADDRESS, Settings
from sundial.store import migrate
from sundial.store.database import Database


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, json_lines=args.log_json)
    return int(args.run(args))


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SUNDIAL_{name}", default)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sundial", description="Sundial: schedules for agents.")
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "INFO"))
    parser.add_argument(
        "--log-json", action="store_true", default=_env("LOG_JSON", "") not in ("", "0", "false")
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gRPC API (and, later, the engine)")
    _database_flag(serve)
    serve.add_argument("--grpc-address", default=_env("GRPC_ADDRESS", DEFAULT_GRPC_ADDRESS))
    serve.add_argument(
        "--shutdown-grace",
        type=float,
        default=float(_env("SHUTDOWN_GRACE", "10")),
        help="seconds in-flight calls may take to finish on SIGTERM",
    )
    serve.add_argument(
        "--drain-delay",
        type=float,
        default=float(_env("DRAIN_DELAY", "1")),
        help="seconds health answers NOT_SERVING before the server stops accepting calls",
    )
    serve.add_argument("--max-workers", type=int, default=int(_env("MAX_WORKERS", "16")))
    serve.add_argument(
        "--min-fire-interval",
        type=float,
        default=float(_env("MIN_FIRE_INTERVAL", "1")),
        help="seconds: specs whose fires come closer than this are rejected",
    )
    serve.set_defaults(run=_serve)

    migrate_command = commands.add_parser("migrate", help="apply database migrations")
    _database_flag(migrate_command)
    migrate_command.set_defaults(run=_migrate)

    admin = commands.add_parser("admin", help="administration directly against the database")
    admin_commands = admin.add_subparsers(required=True, metavar="ADMIN_COMMAND")
    create_workspace = admin_commands.add_parser("create-workspace", help="print a new ws_ id")
    create_workspace.add_argument("name")
    _database_flag(create_workspace)
    create_workspace.set_defaults(run=_create_workspace)
    return parser


def _database_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=_env("DATABASE_URL", DEFAULT_DATABASE_URL))


def _serve(args: argparse.Namespace) -> int:
    # Imported here so that `sundial migrate` and `sundial admin` do not load grpc.
    from sundial.server import SundialServer  # noqa: PLC0415

    settings = Settings(
        database_url=args.database_url,
        grpc_address=args.grpc_address,
        shutdown_grace=timedelta(seconds=args.shutdown_grace),
        drain_delay=timedelta(seconds=args.drain_delay),
        max_workers=args.max_workers,
        min_fire_interval=timedelta(seconds=args.min_fire_interval),
    )
    server = SundialServer(settings)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server.start()
    host = settings.grpc_address.rsplit(":", 1)[0]
    print(f"Sundial is serving gRPC on {host}:{server.port}", flush=True)
    print(f"default workspace: {server.bootstrap.default_workspace.id}", flush=True)
    stop.wait()
    server.stop()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    migrate.upgrade(args.database_url)
    print("database is up to date")
    return 0


def _create_workspace(args: argparse.Namespace) -> int:
    migrate.upgrade(args.database_url)
    database = Database(args.database_url)
    try:
        tenancy = TenancyService(database, SystemClock())
        workspace = tenancy.create_workspace(tenancy.bootstrap().principal, args.name)
    finally:
        database.dispose()
    print(workspace.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
