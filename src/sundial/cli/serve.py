"""`sundial serve` and `sundial migrate`. Every serve flag is defined in `_SERVE_FLAGS` and
also reads the SUNDIAL_* variable named beside it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sundial.cli.errors import Decorator, SundialCommand
from sundial.heap import settle_heap
from sundial.settings import (
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
    ROLES,
    check_roles,
    cors_origin,
    gateway_token,
    listen_address,
    otlp_endpoint,
    trusted_proxy,
)

if TYPE_CHECKING:
    from sundial.service.tokens import JwtSettings


class RolesType(click.ParamType[frozenset[str], Any]):
    """`api`, `engine`, `api,engine`, or `rest` (settings.check_roles says which go together)."""

    name = "ROLES"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, frozenset):
            return value
        roles = frozenset(part.strip() for part in str(value).split(",") if part.strip())
        if not roles or not roles <= set(ROLES):
            self.fail(f"roles must be api, engine, both, or rest, got {value!r}", param, ctx)
        return roles


class CheckedType(click.ParamType[str, Any]):
    """A value checked by a settings parser (ValueError says what is wrong); in its
    SUNDIAL_* variable, several values are separated by commas."""

    envvar_list_splitter = ","

    def __init__(self, name: str, parse: Callable[[str], str]) -> None:
        self.name = name
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self._parse(str(value).strip())
        except ValueError as error:
            self.fail(str(error), param, ctx)


def database_flag() -> Decorator:
    return click.option(
        "--database-url", envvar="SUNDIAL_DATABASE_URL", default=DEFAULT_DATABASE_URL
    )


def _flag(name: str, env: str, **kwargs: Any) -> Decorator:
    return click.option(name, envvar=f"SUNDIAL_{env}", show_envvar=True, **kwargs)


# The serve command's flags, in `--help` order.
_SERVE_FLAGS: tuple[Decorator, ...] = (
    database_flag(),
    _flag("--grpc-address", "GRPC_ADDRESS", default=DEFAULT_GRPC_ADDRESS),
    _flag(
        "--http-address",
        "HTTP_ADDRESS",
        default=DEFAULT_HTTP_ADDRESS,
        help="the REST/JSON gateway's HOST:PORT (empty: gRPC only)",
    ),
    _flag(
        "--http-threads",
        "HTTP_THREADS",
        type=click.IntRange(min=1),
        default=DEFAULT_HTTP_THREADS,
        help="REST requests carried at once; idle and slow connections hold no thread",
    ),
    _flag(
        "--http-max-connections",
        "HTTP_MAX_CONNECTIONS",
        type=click.IntRange(min=1),
        default=DEFAULT_HTTP_MAX_CONNECTIONS,
        help="open REST connections; past this, new ones wait to be accepted",
    ),
    _flag(
        "--http-header-timeout",
        "HTTP_HEADER_TIMEOUT",
        type=click.FloatRange(min=0, min_open=True, max=1e9),
        default=DEFAULT_HTTP_HEADER_TIMEOUT.total_seconds(),
        help="seconds a REST client may take to send a request's headers, from its first byte",
    ),
    _flag(
        "--http-idle-timeout",
        "HTTP_IDLE_TIMEOUT",
        type=click.FloatRange(min=0, min_open=True, max=1e9),
        default=DEFAULT_HTTP_IDLE_TIMEOUT.total_seconds(),
        help="seconds a keep-alive REST connection may wait for its next request",
    ),
    _flag(
        "--shutdown-grace",
        "SHUTDOWN_GRACE",
        type=float,
        default=10.0,
        help="seconds in-flight calls may take to finish on SIGTERM",
    ),
    _flag(
        "--drain-delay",
        "DRAIN_DELAY",
        type=float,
        default=1.0,
        help="seconds health answers NOT_SERVING before the server stops accepting calls",
    ),
    _flag(
        "--max-workers",
        "MAX_WORKERS",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_WORKERS,
        help="calls that run at once, gRPC and REST together; raise it when calls mostly "
        "wait on a distant database",
    ),
    _flag(
        "--max-waiting-calls",
        "MAX_WAITING_CALLS",
        type=click.IntRange(min=0),
        default=DEFAULT_MAX_WAITING_CALLS,
        help="long-polling claims that may wait at once, each on a thread besides the "
        "--max-workers ones; past this a claim answers at once with what is pending",
    ),
    _flag(
        "--max-queued-calls",
        "MAX_QUEUED_CALLS",
        type=click.IntRange(min=0),
        default=DEFAULT_MAX_QUEUED_CALLS,
        help="calls that may queue for a thread when all are busy; past this a call is "
        "refused with RESOURCE_EXHAUSTED",
    ),
    _flag(
        "--min-fire-interval",
        "MIN_FIRE_INTERVAL",
        type=float,
        default=1.0,
        help="seconds: specs whose fires come closer than this are rejected",
    ),
    _flag(
        "--roles",
        "ROLES",
        type=RolesType(),
        default="api,engine",
        help="comma list of what this process runs: api (gRPC and REST), engine (firing, "
        "reaper); or rest alone, a REST front forwarding to --grpc-target",
    ),
    _flag(
        "--grpc-target",
        "GRPC_TARGET",
        type=CheckedType("HOST:PORT", listen_address),
        default=None,
        help="the gRPC server a --roles rest front forwards to",
    ),
    _flag(
        "--gateway-token",
        "GATEWAY_TOKEN",
        type=CheckedType("SECRET", gateway_token),
        default=None,
        help="a secret the api and its --roles rest fronts share, so that the api believes "
        "the client addresses fronts send (prefer the variable: flags show in ps)",
    ),
    _flag("--engine-batch-size", "ENGINE_BATCH_SIZE", type=int, default=500),
    _flag(
        "--push-concurrency",
        "PUSH_CONCURRENCY",
        type=click.IntRange(1, 256),
        default=8,
        help="objectives POSTed to PUSH agents at once by this process (engine role)",
    ),
    _flag("--jwt-issuer", "JWT_ISSUER", default="", help="enables JWT sign-in"),
    _flag("--jwt-audience", "JWT_AUDIENCE", default=""),
    _flag("--jwt-keys-file", "JWT_KEYS_FILE", default="", help="JWKS (JSON) or PEM file"),
    _flag(
        "--jwt-default-account",
        "JWT_DEFAULT_ACCOUNT",
        default="",
        help="acct_ id of tokens without an account claim",
    ),
    _flag("--jwt-account-claim", "JWT_ACCOUNT_CLAIM", default="sundial_account_id"),
    _flag(
        "--jwt-max-lifetime",
        "JWT_MAX_LIFETIME",
        type=click.IntRange(min=1),
        default=86400,
        help="seconds a token may be valid from its iat; longer-lived tokens are refused",
    ),
    _flag("--jwt-role-claim", "JWT_ROLE_CLAIM", default="sundial_role"),
    _flag("--jwt-workspaces-claim", "JWT_WORKSPACES_CLAIM", default="sundial_workspace_ids"),
    _flag(
        "--auth-failure-burst",
        "AUTH_FAILURE_BURST",
        type=int,
        default=20,
        help="failed authentications a client may make at once",
    ),
    _flag(
        "--auth-failure-per-minute",
        "AUTH_FAILURE_PER_MINUTE",
        type=float,
        default=30.0,
        help="failed authentications a client may make per minute after the burst",
    ),
    _flag(
        "--cors-origin",
        "CORS_ORIGIN",
        type=CheckedType("ORIGIN", cors_origin),
        multiple=True,
        help="browser origin allowed to call the REST gateway (repeatable; `*`: any); "
        "default none, no CORS headers",
    ),
    _flag(
        "--trusted-proxy",
        "TRUSTED_PROXY",
        type=CheckedType("CIDR", trusted_proxy),
        multiple=True,
        help="CIDR of a reverse proxy whose X-Forwarded-For names the REST client "
        "(repeatable); default none",
    ),
    _flag(
        "--metrics-address",
        "METRICS_ADDRESS",
        type=CheckedType("HOST:PORT", listen_address),
        default=None,
        help="serve Prometheus /metrics on this HOST:PORT of its own (then not on the REST "
        "port); default: on the REST port",
    ),
    _flag(
        "--metrics-per-agent",
        "METRICS_PER_AGENT",
        is_flag=True,
        default=False,
        help="pending objectives by agent in /metrics (one series per agent); default one total",
    ),
    _flag(
        "--access-log",
        "ACCESS_LOG",
        is_flag=True,
        default=False,
        help="one INFO line per RPC and REST call, and per REST request refused before any "
        "RPC (default: at DEBUG)",
    ),
    _flag(
        "--allow-private-webhook-targets",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS",
        is_flag=True,
        default=False,
        help="let webhook deliveries reach loopback, private, link-local and metadata "
        "addresses (default: refused at connect time, against SSRF)",
    ),
    _flag(
        "--otlp-endpoint",
        "OTLP_ENDPOINT",
        type=CheckedType("URL", otlp_endpoint),
        default=None,
        help="trace with OpenTelemetry and export the spans over OTLP/HTTP to this collector "
        "base URL (http://HOST:4318; spans go to /v1/traces); default: tracing off, unless "
        "OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set",
    ),
)


def _with_serve_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    for flag in reversed(_SERVE_FLAGS):
        command = flag(command)
    return command


@click.command("serve", cls=SundialCommand)
@_with_serve_flags
@click.pass_obj
def serve(stop: threading.Event | None, /, **flags: Any) -> int:
    """Run the gRPC API, the REST gateway and the firing engine (--roles picks which; --roles
    rest: a REST front alone, before the gRPC server at --grpc-target)."""
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
            click.echo(f"sundial serve: SUNDIAL_BOOTSTRAP_API_KEY: {error}", err=True)
            return 2
    try:
        check_roles(flags["roles"], flags["grpc_target"], flags["http_address"])
    except ValueError as error:
        click.echo(f"sundial serve: {error}", err=True)
        return 2
    settings = Settings(
        database_url=flags["database_url"],
        grpc_address=flags["grpc_address"],
        http_address=flags["http_address"] or None,
        shutdown_grace=timedelta(seconds=flags["shutdown_grace"]),
        drain_delay=timedelta(seconds=flags["drain_delay"]),
        max_workers=flags["max_workers"],
        max_waiting_calls=flags["max_waiting_calls"],
        max_queued_calls=flags["max_queued_calls"],
        http_threads=flags["http_threads"],
        http_max_connections=flags["http_max_connections"],
        http_header_timeout=timedelta(seconds=flags["http_header_timeout"]),
        http_idle_timeout=timedelta(seconds=flags["http_idle_timeout"]),
        min_fire_interval=timedelta(seconds=flags["min_fire_interval"]),
        roles=flags["roles"],
        grpc_target=flags["grpc_target"] or None,
        gateway_token=flags["gateway_token"] or "",
        engine_batch_size=flags["engine_batch_size"],
        push_concurrency=flags["push_concurrency"],
        bootstrap_api_key=bootstrap_api_key,
        jwt=_jwt_settings(flags),
        auth_failure_burst=flags["auth_failure_burst"],
        auth_failure_per_minute=flags["auth_failure_per_minute"],
        cors_origins=tuple(flags["cors_origin"]),
        trusted_proxies=tuple(flags["trusted_proxy"]),
        metrics_address=flags["metrics_address"] or None,
        metrics_per_agent=flags["metrics_per_agent"],
        access_log=flags["access_log"],
        otlp_endpoint=flags["otlp_endpoint"] or None,
        allow_private_webhook_targets=flags["allow_private_webhook_targets"],
    )
    stop = stop or threading.Event()
    if "rest" in settings.roles:
        return _serve_rest_front(settings, stop)
    server = SundialServer(settings)
    return _run(server, stop, lambda: _announce(server, settings))


def _run(process: Any, stop: threading.Event, announce: Callable[[], None]) -> int:
    """Starts `process` (a SundialServer or a RestFront), serves until `stop` is set, then
    stops it; 1 when it cannot start. Nothing was created then (start listens first), so
    the next start bootstraps afresh."""
    try:
        process.start()
    except OSError as error:
        click.echo(f"sundial serve: cannot start: {error}", err=True)
        return 1
    settle_heap()
    announce()
    # Timed waits: Python runs signal handlers on the main thread only, and a SIGTERM the
    # kernel hands to another thread (gRPC's, HTTP's) would never wake an untimed wait.
    while not stop.wait(timeout=0.5):
        pass
    process.stop()
    return 0


def _serve_rest_front(settings: Any, stop: threading.Event) -> int:
    """A REST front apart: no database, no migrations, no engine (rest_front says why)."""
    from sundial.rest_front import RestFront  # noqa: PLC0415

    front = RestFront(settings)

    def announce() -> None:
        http_host = settings.http_address.rsplit(":", 1)[0]
        print(
            f"Sundial is serving REST on {http_host}:{front.http_port}, "
            f"in front of gRPC at {settings.grpc_target}",
            flush=True,
        )
        if settings.metrics_address:
            metrics_host = settings.metrics_address.rsplit(":", 1)[0]
            print(f"Sundial is serving metrics on {metrics_host}:{front.metrics_port}", flush=True)

    return _run(front, stop, announce)


def _announce(server: Any, settings: Any) -> None:
    def say(line: str) -> None:
        print(line, flush=True)

    if "engine" in settings.roles:
        say("Sundial's firing engine is running")
    host = settings.grpc_address.rsplit(":", 1)[0]
    if "api" in settings.roles:
        say(f"Sundial is serving gRPC on {host}:{server.port}")
    if "api" in settings.roles and settings.http_address:
        http_host = settings.http_address.rsplit(":", 1)[0]
        say(f"Sundial is serving REST on {http_host}:{server.http_port}")
    if settings.metrics_address:
        metrics_host = settings.metrics_address.rsplit(":", 1)[0]
        say(f"Sundial is serving metrics on {metrics_host}:{server.metrics_port}")
    bootstrap = server.bootstrap
    assert bootstrap is not None
    say(f"account: {bootstrap.account.id}")
    say(f"default workspace: {bootstrap.default_workspace.id}")
    if bootstrap.admin_key is not None:
        key = bootstrap.admin_key
        say(f"admin api key: {key.metadata.id}")
        if settings.bootstrap_api_key:
            say("admin api key secret: the value of SUNDIAL_BOOTSTRAP_API_KEY")
        else:
            say(f"admin api key secret (shown only now): {key.info.secret}")


def _jwt_settings(flags: dict[str, Any]) -> JwtSettings | None:
    """JWT sign-in when an issuer is set. The HS256 secret (development only) comes from
    SUNDIAL_JWT_HS256_SECRET, never from a flag."""
    from sundial.service.tokens import JwtSettings  # noqa: PLC0415

    if not flags["jwt_issuer"]:
        return None
    return JwtSettings(
        issuer=flags["jwt_issuer"],
        audience=flags["jwt_audience"],
        keys_file=Path(flags["jwt_keys_file"]) if flags["jwt_keys_file"] else None,
        hs256_secret=os.environ.get("SUNDIAL_JWT_HS256_SECRET", ""),
        default_account_id=flags["jwt_default_account"],
        account_claim=flags["jwt_account_claim"],
        role_claim=flags["jwt_role_claim"],
        workspaces_claim=flags["jwt_workspaces_claim"],
        max_lifetime=timedelta(seconds=flags["jwt_max_lifetime"]),
    )


@click.command("migrate", cls=SundialCommand)
@database_flag()
def migrate_command(database_url: str) -> int:
    """Apply database migrations."""
    from sundial.store import migrate  # noqa: PLC0415

    migrate.upgrade(database_url)
    click.echo("database is up to date")
    return 0
