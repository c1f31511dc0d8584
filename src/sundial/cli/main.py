"""`sundial serve | migrate | worker | admin ...`. Every flag also reads a SUNDIAL_* variable.

Only the standard library is imported before `main` catches SIGTERM: Sundial's own modules
(SQLAlchemy, Alembic, grpcio, cryptography) take seconds to import on a busy machine, and a
SIGTERM that arrived meanwhile killed `sundial serve` instead of stopping it."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sundial.service.tokens import JwtSettings

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    stop = _catch_stop_signals()
    from sundial.logs import configure_logging  # noqa: PLC0415

    args = _parser().parse_args(argv)
    if args.run is not _serve:
        _restore_stop_signals(stop)
    configure_logging(args.log_level, json_lines=args.log_json)
    args.stop = stop
    return int(args.run(args))


def _catch_stop_signals() -> threading.Event:
    """SIGTERM and SIGINT set the returned event (which `sundial serve` waits on)."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for number in _STOP_SIGNALS:
        signal.signal(number, request_stop)
    return stop


def _restore_stop_signals(stop: threading.Event) -> None:
    """Other commands stop the default way, also for a signal caught while they started."""
    for number in _STOP_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    if stop.is_set():
        signal.raise_signal(signal.SIGTERM)


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SUNDIAL_{name}", default)


def _parser() -> argparse.ArgumentParser:
    # After main has caught the stop signals (see the module's docstring).
    from sundial.cli.admin import add_admin_commands  # noqa: PLC0415
    from sundial.settings import (  # noqa: PLC0415
        DEFAULT_DATABASE_URL,
        DEFAULT_GRPC_ADDRESS,
        DEFAULT_HTTP_ADDRESS,
        DEFAULT_HTTP_HEADER_TIMEOUT,
        DEFAULT_HTTP_IDLE_TIMEOUT,
        DEFAULT_HTTP_MAX_CONNECTIONS,
        DEFAULT_HTTP_THREADS,
        DEFAULT_MAX_QUEUED_CALLS,
        DEFAULT_MAX_WAITING_CALLS,
        DEFAULT_MAX_WORKERS,
    )

    parser = argparse.ArgumentParser(prog="sundial", description="Sundial: schedules for agents.")
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "INFO"))
    parser.add_argument(
        "--log-json", action="store_true", default=_env("LOG_JSON", "") not in ("", "0", "false")
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the gRPC API, the REST gateway and the firing engine"
    )
    _database_flag(serve, DEFAULT_DATABASE_URL)
    serve.add_argument("--grpc-address", default=_env("GRPC_ADDRESS", DEFAULT_GRPC_ADDRESS))
    serve.add_argument(
        "--http-address",
        default=_env("HTTP_ADDRESS", DEFAULT_HTTP_ADDRESS),
        help="the REST/JSON gateway's HOST:PORT (empty: gRPC only)",
    )
    serve.add_argument(
        "--http-threads",
        type=_at_least(1),
        default=int(_env("HTTP_THREADS", str(DEFAULT_HTTP_THREADS))),
        help="REST requests carried at once; idle and slow connections hold no thread",
    )
    serve.add_argument(
        "--http-max-connections",
        type=_at_least(1),
        default=int(_env("HTTP_MAX_CONNECTIONS", str(DEFAULT_HTTP_MAX_CONNECTIONS))),
        help="open REST connections; past this, new ones wait to be accepted",
    )
    serve.add_argument(
        "--http-header-timeout",
        type=_positive_seconds,
        default=_positive_seconds(
            _env("HTTP_HEADER_TIMEOUT", str(DEFAULT_HTTP_HEADER_TIMEOUT.total_seconds()))
        ),
        help="seconds a REST client may take to send a request's headers, from its first byte",
    )
    serve.add_argument(
        "--http-idle-timeout",
        type=_positive_seconds,
        default=_positive_seconds(
            _env("HTTP_IDLE_TIMEOUT", str(DEFAULT_HTTP_IDLE_TIMEOUT.total_seconds()))
        ),
        help="seconds a keep-alive REST connection may wait for its next request",
    )
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
    serve.add_argument(
        "--max-workers",
        type=_at_least(1),
        default=int(_env("MAX_WORKERS", str(DEFAULT_MAX_WORKERS))),
        help="calls that run at once, gRPC and REST together; raise it when calls mostly "
        "wait on a distant database",
    )
    serve.add_argument(
        "--max-waiting-calls",
        type=_at_least(0),
        default=int(_env("MAX_WAITING_CALLS", str(DEFAULT_MAX_WAITING_CALLS))),
        help="long-polling claims that may wait at once, each on a thread besides the "
        "--max-workers ones; past this a claim answers at once with what is pending",
    )
    serve.add_argument(
        "--max-queued-calls",
        type=_at_least(0),
        default=int(_env("MAX_QUEUED_CALLS", str(DEFAULT_MAX_QUEUED_CALLS))),
        help="calls that may queue for a thread when all are busy; past this a call is "
        "refused with RESOURCE_EXHAUSTED",
    )
    serve.add_argument(
        "--min-fire-interval",
        type=float,
        default=float(_env("MIN_FIRE_INTERVAL", "1")),
        help="seconds: specs whose fires come closer than this are rejected",
    )
    serve.add_argument(
        "--roles",
        type=_roles,
        default=_roles(_env("ROLES", "api,engine")),
        help="comma list of what this process runs: api (gRPC and REST), engine (firing, reaper)",
    )
    serve.add_argument(
        "--engine-batch-size", type=int, default=int(_env("ENGINE_BATCH_SIZE", "500"))
    )
    serve.add_argument("--jwt-issuer", default=_env("JWT_ISSUER", ""), help="enables JWT sign-in")
    serve.add_argument("--jwt-audience", default=_env("JWT_AUDIENCE", ""))
    serve.add_argument(
        "--jwt-keys-file", default=_env("JWT_KEYS_FILE", ""), help="JWKS (JSON) or PEM file"
    )
    serve.add_argument(
        "--jwt-default-account",
        default=_env("JWT_DEFAULT_ACCOUNT", ""),
        help="acct_ id of tokens without an account claim",
    )
    serve.add_argument(
        "--jwt-account-claim", default=_env("JWT_ACCOUNT_CLAIM", "sundial_account_id")
    )
    serve.add_argument(
        "--jwt-max-lifetime",
        type=_at_least(1),
        default=int(_env("JWT_MAX_LIFETIME", "86400")),
        help="seconds a token may be valid from its iat; longer-lived tokens are refused",
    )
    serve.add_argument("--jwt-role-claim", default=_env("JWT_ROLE_CLAIM", "sundial_role"))
    serve.add_argument(
        "--jwt-workspaces-claim", default=_env("JWT_WORKSPACES_CLAIM", "sundial_workspace_ids")
    )
    serve.add_argument(
        "--auth-failure-burst",
        type=int,
        default=int(_env("AUTH_FAILURE_BURST", "20")),
        help="failed authentications a client may make at once",
    )
    serve.add_argument(
        "--auth-failure-per-minute",
        type=float,
        default=float(_env("AUTH_FAILURE_PER_MINUTE", "30")),
        help="failed authentications a client may make per minute after the burst",
    )
    serve.set_defaults(run=_serve)

    migrate_command = commands.add_parser("migrate", help="apply database migrations")
    _database_flag(migrate_command, DEFAULT_DATABASE_URL)
    migrate_command.set_defaults(run=_migrate)

    worker = commands.add_parser(
        "worker", help="claim an agent's objectives and run COMMAND for each"
    )
    worker.add_argument("--workspace", required=True, help="ws_... id")
    worker.add_argument("--agent", required=True, help="agent_... id")
    worker.add_argument("--grpc-address", default=_env("GRPC_ADDRESS", DEFAULT_GRPC_ADDRESS))
    worker.add_argument(
        "--api-key-file",
        help="file holding the API key (default: the SUNDIAL_API_KEY environment variable)",
    )
    worker.add_argument("--worker-id", default=f"{socket.gethostname()}-{os.getpid()}")
    worker.add_argument("--lease", type=int, default=60, help="lease seconds (heartbeats keep it)")
    worker.add_argument("--wait", type=int, default=20, help="long-poll seconds per claim")
    worker.add_argument("--once", action="store_true", help="one claim round, then exit")
    worker.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    worker.set_defaults(run=_worker)

    add_admin_commands(commands, _env)
    return parser


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return value


def _roles(text: str) -> frozenset[str]:
    roles = frozenset(part.strip() for part in text.split(",") if part.strip())
    if not roles or not roles <= {"api", "engine"}:
        raise argparse.ArgumentTypeError(f"roles must be api, engine or both, got {text!r}")
    return roles


def _database_flag(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--database-url", default=_env("DATABASE_URL", default))


def _serve(args: argparse.Namespace) -> int:
    # Imported here so that `sundial migrate` and `sundial admin` do not load grpc.
    from sundial.server import SundialServer  # noqa: PLC0415
    from sundial.service.tenancy import check_secret  # noqa: PLC0415
    from sundial.settings import Settings  # noqa: PLC0415

    bootstrap_api_key = os.environ.get("SUNDIAL_BOOTSTRAP_API_KEY", "")
    if bootstrap_api_key:
        # Checked before anything listens or is created, so that a bad key is one line.
        try:
            check_secret(bootstrap_api_key)
        except ValueError as error:
            print(f"sundial serve: SUNDIAL_BOOTSTRAP_API_KEY: {error}", file=sys.stderr)
            return 2
    settings = Settings(
        database_url=args.database_url,
        grpc_address=args.grpc_address,
        http_address=args.http_address or None,
        shutdown_grace=timedelta(seconds=args.shutdown_grace),
        drain_delay=timedelta(seconds=args.drain_delay),
        max_workers=args.max_workers,
        max_waiting_calls=args.max_waiting_calls,
        max_queued_calls=args.max_queued_calls,
        http_threads=args.http_threads,
        http_max_connections=args.http_max_connections,
        http_header_timeout=timedelta(seconds=args.http_header_timeout),
        http_idle_timeout=timedelta(seconds=args.http_idle_timeout),
        min_fire_interval=timedelta(seconds=args.min_fire_interval),
        roles=args.roles,
        engine_batch_size=args.engine_batch_size,
        bootstrap_api_key=bootstrap_api_key,
        jwt=_jwt_settings(args),
        auth_failure_burst=args.auth_failure_burst,
        auth_failure_per_minute=args.auth_failure_per_minute,
    )
    stop: threading.Event = args.stop
    server = SundialServer(settings)
    try:
        server.start()
    except OSError as error:
        # Nothing was created (start listens first): the next start bootstraps afresh.
        print(f"sundial serve: cannot start: {error}", file=sys.stderr, flush=True)
        return 1
    if "engine" in settings.roles:
        print("Sundial's firing engine is running", flush=True)
    host = settings.grpc_address.rsplit(":", 1)[0]
    if "api" in settings.roles:
        print(f"Sundial is serving gRPC on {host}:{server.port}", flush=True)
    if "api" in settings.roles and settings.http_address:
        http_host = settings.http_address.rsplit(":", 1)[0]
        print(f"Sundial is serving REST on {http_host}:{server.http_port}", flush=True)
    bootstrap = server.bootstrap
    assert bootstrap is not None
    print(f"account: {bootstrap.account.id}", flush=True)
    print(f"default workspace: {bootstrap.default_workspace.id}", flush=True)
    if bootstrap.admin_key is not None:
        key = bootstrap.admin_key
        print(f"admin api key: {key.metadata.id}", flush=True)
        if settings.bootstrap_api_key:
            print("admin api key secret: the value of SUNDIAL_BOOTSTRAP_API_KEY", flush=True)
        else:
            print(f"admin api key secret (shown only now): {key.info.secret}", flush=True)
    # Timed waits: Python runs signal handlers on the main thread only, and a SIGTERM the
    # kernel hands to another thread (gRPC's, HTTP's) would never wake an untimed wait.
    while not stop.wait(timeout=0.5):
        pass
    server.stop()
    return 0


def _jwt_settings(args: argparse.Namespace) -> JwtSettings | None:
    """JWT sign-in when an issuer is set. The HS256 secret (development only) comes from
    SUNDIAL_JWT_HS256_SECRET, never from a flag."""
    from sundial.service.tokens import JwtSettings  # noqa: PLC0415

    if not args.jwt_issuer:
        return None
    return JwtSettings(
        issuer=args.jwt_issuer,
        audience=args.jwt_audience,
        keys_file=Path(args.jwt_keys_file) if args.jwt_keys_file else None,
        hs256_secret=os.environ.get("SUNDIAL_JWT_HS256_SECRET", ""),
        default_account_id=args.jwt_default_account,
        account_claim=args.jwt_account_claim,
        role_claim=args.jwt_role_claim,
        workspaces_claim=args.jwt_workspaces_claim,
        max_lifetime=timedelta(seconds=args.jwt_max_lifetime),
    )


def _worker(args: argparse.Namespace) -> int:
    from sundial.api.worker import Worker, WorkerOptions  # noqa: PLC0415

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("sundial worker: give the command to run after --", file=sys.stderr)
        return 2
    api_key = _api_key(args.api_key_file)
    if not api_key:
        print("sundial worker: set SUNDIAL_API_KEY (or --api-key-file) to a key", file=sys.stderr)
        return 2
    worker = Worker(
        WorkerOptions(
            target=args.grpc_address,
            api_key=api_key,
            workspace_id=args.workspace,
            agent_id=args.agent,
            worker_id=args.worker_id,
            command=command,
            lease_seconds=args.lease,
            wait_seconds=0 if args.once else args.wait,
        )
    )
    signal.signal(signal.SIGTERM, lambda _signum, _frame: worker.stop())
    signal.signal(signal.SIGINT, lambda _signum, _frame: worker.stop())
    ran = worker.run(once=args.once)
    print(f"ran {ran} objective(s)", flush=True)
    return 0


def _api_key(path: str | None) -> str:
    """A secret never goes on the command line, where `ps` shows it."""
    if path:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    return os.environ.get("SUNDIAL_API_KEY", "").strip()


def _migrate(args: argparse.Namespace) -> int:
    from sundial.store import migrate  # noqa: PLC0415

    migrate.upgrade(args.database_url)
    print("database is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
