"""Server settings, from flags and SUNDIAL_* environment variables."""

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from sundial.service.tokens import JwtSettings

DEFAULT_DATABASE_URL = "sqlite:///./sundial.db"
DEFAULT_GRPC_ADDRESS = "127.0.0.1:50051"
DEFAULT_HTTP_ADDRESS = "127.0.0.1:8080"
DEFAULT_MAX_WORKERS = 4
DEFAULT_MAX_WAITING_CALLS = 64
DEFAULT_MAX_QUEUED_CALLS = 1000
DEFAULT_HTTP_THREADS = 8
DEFAULT_HTTP_MAX_CONNECTIONS = 1000
DEFAULT_HTTP_HEADER_TIMEOUT = timedelta(seconds=10)
DEFAULT_HTTP_IDLE_TIMEOUT = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    grpc_address: str = DEFAULT_GRPC_ADDRESS
    # The REST/JSON gateway's address; None serves gRPC only (`sundial serve` defaults to
    # DEFAULT_HTTP_ADDRESS, embedders and gRPC-only tests to none).
    http_address: str | None = None
    # How long in-flight calls may take to finish after shutdown begins.
    shutdown_grace: timedelta = timedelta(seconds=10)
    # How long health answers NOT_SERVING before the server stops accepting calls, so that
    # load balancers that poll health see it and move traffic away first.
    drain_delay: timedelta = timedelta(seconds=1)
    # Calls that run at once, gRPC and REST together (api.grpc_server.CallLimits). Python
    # runs one thread at a time, and every thread past a few only adds hand-offs of the
    # interpreter lock (BENCHMARKS.md). Raise it when calls mostly wait (PostgreSQL far away).
    max_workers: int = DEFAULT_MAX_WORKERS
    # Long-polling claims that may wait at once, each on a thread besides the max_workers
    # ones. Past this, a claim answers at once with what is pending.
    max_waiting_calls: int = DEFAULT_MAX_WAITING_CALLS
    # Calls that may queue for a thread when every one is busy: bursts queue and are served
    # in turn; past this many, a call is refused with RESOURCE_EXHAUSTED at once (grpcio's
    # maximum_concurrent_rpcs is the sum of the three).
    max_queued_calls: int = DEFAULT_MAX_QUEUED_CALLS
    # The REST listener's threads: each carries one request at a time into a gRPC call.
    # Connections wait for a request without one (idle and slow clients hold no thread).
    http_threads: int = DEFAULT_HTTP_THREADS
    # Open REST connections; past this, new ones wait in the listen backlog.
    http_max_connections: int = DEFAULT_HTTP_MAX_CONNECTIONS
    # How long a client may take to send a request's headers, from its first byte.
    http_header_timeout: timedelta = DEFAULT_HTTP_HEADER_TIMEOUT
    # How long a keep-alive connection may wait for its next request.
    http_idle_timeout: timedelta = DEFAULT_HTTP_IDLE_TIMEOUT
    min_fire_interval: timedelta = timedelta(seconds=1)
    migrate: bool = True
    # What this process does: "api" (gRPC and REST) and/or "engine" (firing loop, reaper);
    # or "rest" alone: a REST front of its own, forwarding to the gRPC server at grpc_target
    # (check_roles says which combinations mean something).
    roles: frozenset[str] = frozenset({"api", "engine"})
    # The gRPC server a "rest" front forwards to, HOST:PORT.
    grpc_target: str | None = None
    # A secret the api and its REST fronts share: a front sends it with the client's address,
    # and the api believes that address only beside it (for the failure limiter and the
    # logs). Empty: the api makes a random one for its embedded gateway, and a front apart
    # sends no address.
    gateway_token: str = field(default="", repr=False)
    # Schedules fired per transaction.
    engine_batch_size: int = 500
    # Objectives POSTed to PUSH agents at once by this replica's pusher (engine role).
    push_concurrency: int = 8
    # On an empty database, the secret of the bootstrap admin key (SUNDIAL_BOOTSTRAP_API_KEY);
    # empty: a random one, printed once.
    bootstrap_api_key: str = field(default="", repr=False)
    # JWT sign-in; off unless an issuer and an audience are set.
    jwt: JwtSettings | None = None
    # Failed authentications a client may make at once, and per minute after that.
    auth_failure_burst: int = 20
    auth_failure_per_minute: float = 30.0
    # How long a looked-up API key or signed-in user is trusted before it is read again (so
    # a key revoked through another replica stops working within this time).
    auth_cache_ttl: timedelta = timedelta(seconds=10)
    # Browser origins allowed to call the REST gateway (CORS), each `scheme://host[:port]`
    # or `*` for any; empty: no CORS headers at all.
    cors_origins: tuple[str, ...] = ()
    # Networks (CIDR) of reverse proxies whose X-Forwarded-For the gateway believes.
    trusted_proxies: tuple[str, ...] = ()
    # Where /metrics is served on a listener of its own (then not on the REST port); None:
    # on the REST port only.
    metrics_address: str | None = None
    # The pending-objectives gauge by agent (one series per agent), else one total.
    metrics_per_agent: bool = False
    # RPC access lines (one per call) at INFO; else at DEBUG.
    access_log: bool = False
    # Tracing: OTLP/HTTP export to this base URL (http://collector:4318). None: on only when
    # the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables name a collector.
    otlp_endpoint: str | None = None
    # Webhook deliveries may go to loopback, private, link-local and cloud-metadata
    # addresses (a receiver on the same host or network); off, the guard refuses them at
    # connect time and the delivery records that error.
    allow_private_webhook_targets: bool = False


_DEFAULT_PORTS = {"http": 80, "https": 443}
ROLES = ("api", "engine", "rest")
# A shared secret shorter than this could be guessed by whoever can reach the gRPC port.
MIN_GATEWAY_TOKEN_LENGTH = 32


def check_roles(roles: frozenset[str], grpc_target: str | None, http_address: str | None) -> None:
    """ValueError, naming the flag, when `--roles` asks for something no process can be: a
    REST front runs alone (it has no database), needs its upstream and a listener, and
    `--grpc-target` means nothing to any other role."""
    if "rest" not in roles:
        if grpc_target:
            raise ValueError(
                "--grpc-target (SUNDIAL_GRPC_TARGET) is the upstream of --roles rest; "
                f"--roles {','.join(sorted(roles))} serves its own gRPC"
            )
        return
    if roles != {"rest"}:
        raise ValueError(
            "--roles rest runs alone: a REST front has no database; run "
            f"{','.join(sorted(roles - {'rest'}))} in a `sundial serve` of its own"
        )
    if not grpc_target:
        raise ValueError(
            "--roles rest needs --grpc-target HOST:PORT (or SUNDIAL_GRPC_TARGET), the gRPC "
            "server it forwards to"
        )
    if not http_address:
        raise ValueError("--roles rest needs an --http-address to serve REST on")


def gateway_token(text: str) -> str:
    """A shared gateway secret: at least MIN_GATEWAY_TOKEN_LENGTH visible ASCII characters
    (it travels as gRPC metadata). The ValueError never quotes the secret."""
    if len(text) < MIN_GATEWAY_TOKEN_LENGTH:
        raise ValueError(
            f"the gateway token must be at least {MIN_GATEWAY_TOKEN_LENGTH} characters, "
            f"got {len(text)} (make one with `openssl rand -hex 32`)"
        )
    if not all("!" <= character <= "~" for character in text):
        raise ValueError("the gateway token must be visible ASCII characters, no spaces")
    return text


def otlp_endpoint(text: str) -> str:
    """An OTLP/HTTP collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is
    (http(s)://HOST[:PORT][/PATH]; traces go to its /v1/traces). ValueError says what is
    wrong with `text`."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (checks the port)
    except ValueError as error:
        raise ValueError(f"OTLP endpoint {text!r}: {error}") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(
            f"OTLP endpoint {text!r} is not http(s)://HOST[:PORT], such as http://localhost:4318"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"OTLP endpoint {text!r} must not have a query or fragment")
    return text


def cors_origin(text: str) -> str:
    """An origin as browsers send it in `Origin` (RFC 6454): lower-case scheme and host, no
    default port; `*` for any. ValueError says what is wrong with `text`."""
    if text == "*":
        return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"origin {text!r}: {error}") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"origin {text!r} is not http(s)://HOST[:PORT]")
    if parts.path or parts.query or parts.fragment or parts.username is not None:
        bare = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        raise ValueError(
            f"origin {text!r} has more than scheme, host and port: did you mean {bare}?"
        )
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def listen_address(text: str) -> str:
    """`HOST:PORT` or `[V6]:PORT` (port 0: any free one), as given."""
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"address {text!r} is not HOST:PORT (a port 0-65535)")
    if host.startswith("[") != host.endswith("]") or (":" in host and not host.startswith("[")):
        raise ValueError(f"address {text!r}: write an IPv6 host in brackets, [::1]:9090")
    return text


def trusted_proxy(text: str) -> str:
    """A network in CIDR form (`10.0.0.0/8`, `::1/128`; a lone address is one host)."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=True))
    except ValueError as error:
        raise ValueError(f"trusted proxy {text!r} is not a network: {error}") from None
