"""The isolation matrix: every RPC of every Sundial service, over gRPC and over REST, with
credentials that must not work: each gets UNAUTHENTICATED or PERMISSION_DENIED, and no
answer carries the victim tenant's data.

The RPCs come from the service descriptors (and their REST paths from their google.api.http
annotations), so an RPC added later is in the matrix with no change here. Requests name
the victim's real resources: if a check were missing, the call would succeed and show it."""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor, json_format, message_factory
from google.protobuf.message import Message

from sundial.api.call_guard import MethodAccess, method_access
from sundial.api.grpc_server import SERVICES
from sundial.domain.agents import AgentSpec
from sundial.domain.chains import ChainNode, ChainSpec
from sundial.domain.clock import FakeClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Permission, Role
from sundial.domain.schedules import AgentScheduleSpec, ScheduleInterval, ScheduleRules
from sundial.domain.tenancy import ApiKeySpec, ProfileSpec
from sundial.domain.webhooks import WebhookSpec
from sundial.server import SundialServer
from sundial.service.tokens import JwtSettings
from tests.gateway.client import Reply, call
from tests.support.auth import ADMIN_SECRET
from tests.support.deliveries import insert_delivery
from tests.support.jwts import AUDIENCE, ISSUER, TokenIssuer
from tests.support.servers import running, server_settings

from .conftest import START

# Strings only the victim's resources hold: no answer to another caller may contain one.
VICTIM = "victim-7f3a"
ACCOUNT_CLAIM = "sundial_account_id"


@dataclass(frozen=True)
class Rpc:
    """One RPC, as the matrix calls it."""

    path: str  # /package.Service/Method
    method: descriptor.MethodDescriptor
    access: MethodAccess

    @property
    def scoped(self) -> bool:
        """Whether the request names the account or workspace it acts in."""
        return self.access.account_field or self.access.workspace_field


_ACCESS = method_access(SERVICES)
RPCS = [
    Rpc(path, method, _ACCESS[path])
    for service in SERVICES
    for method in service.methods
    if (path := f"/{service.full_name}/{method.name}")
]


def _every(rpc: Rpc) -> bool:
    return True


@dataclass(frozen=True)
class Case:
    """A kind of caller that must be turned away, and from which RPCs."""

    name: str
    expected: grpc.StatusCode
    # Which RPCs the case is about (the viewer case only writes, say).
    applies: Callable[[Rpc], bool] = _every
    # The victim account's own viewer and worker may read what their role allows.
    insider: bool = False


CASES = [
    Case("no credentials", grpc.StatusCode.UNAUTHENTICATED),
    Case("malformed: Basic scheme", grpc.StatusCode.UNAUTHENTICATED),
    Case("malformed: not a key", grpc.StatusCode.UNAUTHENTICATED),
    Case("malformed: JWT-shaped garbage", grpc.StatusCode.UNAUTHENTICATED),
    Case("expired JWT", grpc.StatusCode.UNAUTHENTICATED),
    Case("JWT with the wrong audience", grpc.StatusCode.UNAUTHENTICATED),
    Case("JWT with the wrong issuer", grpc.StatusCode.UNAUTHENTICATED),
    Case("JWT with the wrong signature", grpc.StatusCode.UNAUTHENTICATED),
    Case("revoked key", grpc.StatusCode.UNAUTHENTICATED),
    Case("expired key", grpc.StatusCode.UNAUTHENTICATED),
    # An RPC that names no account or workspace (PreviewSchedule) acts in no tenant: another
    # account's key may call it, and must get nothing of the victim's back.
    Case("another account's key", grpc.StatusCode.PERMISSION_DENIED, lambda rpc: rpc.scoped),
    Case("another account's JWT", grpc.StatusCode.PERMISSION_DENIED, lambda rpc: rpc.scoped),
    Case(
        "key without the workspace grant",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda rpc: rpc.scoped,
    ),
    Case(
        "viewer key on a write",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda rpc: rpc.access.permission is not Permission.READ,
        insider=True,
    ),
    Case(
        "worker key on anything but work",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda rpc: rpc.access.permission is not Permission.WORK,
        insider=True,
    ),
    Case("user without grants", grpc.StatusCode.PERMISSION_DENIED),
]


@dataclass
class World:
    server: SundialServer
    ids: dict[str, str]
    credentials: dict[str, str | None]


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    issuer = TokenIssuer()
    clock = FakeClock(START)
    settings = server_settings(
        database_url,
        http_address="127.0.0.1:0",
        jwt=JwtSettings(issuer=ISSUER, audience=AUDIENCE, keys_file=issuer.write_jwks(tmp_path)),
        # The matrix fails authentication hundreds of times from one address.
        auth_failure_burst=1_000_000,
    )
    with running(settings, clock) as server:
        yield _populate(server, issuer, clock)


def _populate(server: SundialServer, issuer: TokenIssuer, clock: FakeClock) -> World:
    """The victim account's resources, the keys and tokens of the cases, and an attacker."""
    system = server.bootstrap.principal
    account = server.bootstrap.account.id
    workspace = server.bootstrap.default_workspace.id
    agent = server.agents.create(
        system, workspace, MetadataInput(name=f"{VICTIM}-agent"), AgentSpec(description=VICTIM)
    )
    rules = ScheduleRules(intervals=(ScheduleInterval(every=timedelta(hours=1)),))
    schedule = server.schedules.create(
        system,
        workspace,
        agent.metadata.id,
        MetadataInput(name=f"{VICTIM}-schedule"),
        AgentScheduleSpec(initial_message=VICTIM, schedule=rules),
    )
    objective = server.triggers.trigger(system, workspace, agent.metadata.id, schedule.metadata.id)
    second = server.tenancy.create_workspace(system, f"{VICTIM}-second-workspace")
    profile = server.profiles.create(
        system, MetadataInput(name=f"{VICTIM}-user"), ProfileSpec(email=f"{VICTIM}@example.com")
    )
    webhook = server.webhooks.create(
        system,
        workspace,
        MetadataInput(name=f"{VICTIM}-webhook"),
        WebhookSpec(url=f"https://hooks.example.com/{VICTIM}"),
    )
    chain = server.chains.create(
        system,
        workspace,
        MetadataInput(name=f"{VICTIM}-chain"),
        ChainSpec(
            nodes=(ChainNode(name="only", agent_id=agent.metadata.id, initial_message=VICTIM),),
            description=VICTIM,
        ),
    )
    run = server.chain_runs.trigger(system, workspace, chain.metadata.id)
    delivery_id = insert_delivery(
        server.database,
        account_id=account,
        workspace_id=workspace,
        webhook_id=webhook.metadata.id,
        at=clock.now(),
        body={"text": VICTIM},
    )

    def key(role: Role, *workspaces: str, expires: timedelta | None = None) -> Any:
        spec = ApiKeySpec(
            role=role,
            workspace_ids=workspaces,
            expire_time=None if expires is None else clock.now() + expires,
        )
        return server.api_keys.create(system, MetadataInput(name=f"{VICTIM}-key"), spec)

    viewer, worker = key(Role.VIEWER), key(Role.WORKER)
    ungranted = key(Role.ADMIN, second.id)
    revoked = key(Role.ADMIN)
    server.api_keys.revoke(system, revoked.metadata.id)
    expired = key(Role.ADMIN, expires=timedelta(minutes=1))
    attacker = server.tenancy.create_account("attacker")
    now = clock.now()

    def token(**kwargs: Any) -> str:
        claims = {ACCOUNT_CLAIM: account, "sundial_role": "admin"}
        claims.update(kwargs.pop("extra", {}))
        return "Bearer " + issuer.mint(now=kwargs.pop("now", now), extra=claims, **kwargs)

    clock.advance(timedelta(minutes=2))  # the expired key's time has passed
    credentials: dict[str, str | None] = {
        "no credentials": None,
        "malformed: Basic scheme": "Basic YWRtaW46YWRtaW4=",
        "malformed: not a key": "Bearer sdl_not-a-key-that-exists-0123456789",
        "malformed: JWT-shaped garbage": "Bearer aaaa.bbbb.cccc",
        "expired JWT": token(now=now - timedelta(hours=1)),
        "JWT with the wrong audience": token(audience="someone-else"),
        "JWT with the wrong issuer": token(issuer="https://issuer.evil/"),
        "JWT with the wrong signature": token(sign_with_other_key=True),
        "revoked key": f"Bearer {revoked.info.secret}",
        "expired key": f"Bearer {expired.info.secret}",
        "another account's key": f"Bearer {attacker.admin_key.info.secret}",
        "another account's JWT": token(
            subject="attacker", extra={ACCOUNT_CLAIM: attacker.account.id}
        ),
        "key without the workspace grant": f"Bearer {ungranted.info.secret}",
        "viewer key on a write": f"Bearer {viewer.info.secret}",
        "worker key on anything but work": f"Bearer {worker.info.secret}",
        "user without grants": token(subject="nobody", extra={"sundial_role": None}),
        # Positive controls: these get past authentication and authorization everywhere.
        "admin key": f"Bearer {ADMIN_SECRET}",
        "admin JWT": token(subject="admin-user"),
    }
    ids = {
        "account_id": account,
        "workspace_id": workspace,
        "agent_id": agent.metadata.id,
        "schedule_id": schedule.metadata.id,
        "objective_id": objective.metadata.id,
        "api_key_id": viewer.metadata.id,
        "profile_id": profile.metadata.id,
        "worker_id": "matrix-worker",
        "webhook_id": webhook.metadata.id,
        "delivery_id": delivery_id,
        "chain_id": chain.metadata.id,
        "run_id": run.metadata.id,
    }
    return World(server, ids, credentials)


# --- calling an RPC both ways -----------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: grpc.StatusCode
    text: str  # everything the caller got back, to search for victim data


def _request(rpc: Rpc, ids: dict[str, str]) -> Message:
    request = message_factory.GetMessageClass(rpc.method.input_type)()
    for name, value in ids.items():
        field = rpc.method.input_type.fields_by_name.get(name)
        if field is not None and field.type == field.TYPE_STRING:
            setattr(request, name, value)
    return request


def _call_grpc(world: World, rpc: Rpc, authorization: str | None) -> Outcome:
    request = _request(rpc, world.ids)
    response_class = message_factory.GetMessageClass(rpc.method.output_type)
    metadata = () if authorization is None else (("authorization", authorization),)
    with grpc.insecure_channel(f"127.0.0.1:{world.server.port}") as channel:
        stub = channel.unary_unary(
            rpc.path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class.FromString,
        )
        try:
            response = stub(request, metadata=metadata, timeout=30)
        except grpc.RpcError as error:
            if not isinstance(error, grpc.Call):
                raise
            trailers = repr(error.trailing_metadata())
            return Outcome(error.code(), f"{error.details()} {trailers}")
    return Outcome(grpc.StatusCode.OK, json_format.MessageToJson(response))


_HTTP_CODES = {401: grpc.StatusCode.UNAUTHENTICATED, 403: grpc.StatusCode.PERMISSION_DENIED}


def _call_rest(world: World, rpc: Rpc, authorization: str | None) -> Outcome:
    rule = rpc.method.GetOptions().Extensions[annotations_pb2.http]
    verb = rule.WhichOneof("pattern")
    remaining = {
        name: value
        for name, value in world.ids.items()
        if name in rpc.method.input_type.fields_by_name
    }

    def fill(match: re.Match[str]) -> str:
        return remaining.pop(match[1])

    path = re.sub(r"\{([a-z_]+)(?:=[^}]*)?\}", fill, getattr(rule, verb))
    body: Any = None
    if rule.body == "*":
        body = remaining
    elif rule.body:
        body = {}
    if not rule.body and remaining:
        path += "?" + "&".join(f"{name}={value}" for name, value in remaining.items())
    headers = {} if authorization is None else {"Authorization": authorization}
    reply: Reply = call(world.server.http_port, verb.upper(), path, body, headers)
    if reply.status == 200:
        return Outcome(grpc.StatusCode.OK, reply.body.decode())
    code = _HTTP_CODES.get(reply.status)
    if code is None:
        number = json.loads(reply.body).get("code", 2)
        code = next(c for c in grpc.StatusCode if c.value[0] == number)
    return Outcome(code, reply.body.decode())


TRANSPORTS = {"gRPC": _call_grpc, "REST": _call_rest}


# --- the matrix -------------------------------------------------------------------------


def test_the_matrix_covers_every_rpc_of_every_service():
    declared = {f"/{s.full_name}/{m.name}" for s in SERVICES for m in s.methods}
    assert {rpc.path for rpc in RPCS} == declared
    assert len(RPCS) >= 35
    missing = [rpc.path for rpc in RPCS if rpc.access.permission is Permission.UNSPECIFIED]
    assert not missing, f"RPCs without a sundial.v1.permission option: {missing}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_turned_away_everywhere_and_shown_nothing(world: World, case: Case):
    authorization = world.credentials[case.name]
    wrong: list[str] = []
    called = 0
    for rpc in RPCS:
        for transport, call_rpc in TRANSPORTS.items():
            outcome = call_rpc(world, rpc, authorization)
            called += 1
            if VICTIM in outcome.text and not case.insider:
                wrong.append(f"{transport} {rpc.path}: answered with the victim's data")
            expected = case.expected if case.applies(rpc) else None
            if expected is not None and outcome.code != expected:
                wrong.append(f"{transport} {rpc.path}: {outcome.code.name}, not {expected.name}")
    assert called == 2 * len(RPCS)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("credential", ["admin key", "admin JWT"])
def test_an_admin_of_the_account_gets_past_every_check(world: World, credential: str):
    """The control that keeps the matrix honest: with good credentials no RPC is refused
    for who is calling (it may still fail for what it asked)."""
    refused = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    wrong = [
        f"{transport} {rpc.path}: {outcome.code.name} {outcome.text[:200]}"
        for rpc in RPCS
        for transport, call_rpc in TRANSPORTS.items()
        if (outcome := call_rpc(world, rpc, world.credentials[credential])).code in refused
    ]
    assert not wrong, "\n".join(wrong)
