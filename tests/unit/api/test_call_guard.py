"""The call guard's failed-authentication limit, on a fake call context with the real
Authenticator (a migrated SQLite database, time on a FakeClock): a client over its limit
still gets in with a valid credential no one can guess (a generated API key, an RS256 or
ES256 JWT), not counted as a failure; a bad one is counted and refused with when to retry;
a secret an operator chose, an HS256 token or no credential at all is refused unverified."""

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from sundial.api.call_guard import CallGuard, method_access
from sundial.api.grpc_server import OPEN_PREFIXES, SERVICES
from sundial.domain.clock import FakeClock
from sundial.domain.errors import ResourceExhaustedError, UnauthenticatedError
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Role
from sundial.domain.tenancy import ApiKeySpec
from sundial.service.api_keys import ApiKeyService
from sundial.service.authentication import Authenticator
from sundial.service.authorization import Authorizer, WorkspaceDirectory
from sundial.service.failure_limiter import FailureLimiter
from sundial.service.tenancy import TenancyService
from sundial.service.tokens import JwtSettings, JwtVerifier
from sundial.store.database import Database
from sundial.v1 import workspace_service_pb2
from tests.support.jwts import AUDIENCE, ISSUER, TokenIssuer

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LIST_WORKSPACES = "/sundial.v1.WorkspaceService/ListWorkspaces"
BURST = 2
PER_MINUTE = 6.0  # a failure more every 10 s
ABUSER = "ipv4:198.51.100.7:40000"
NEIGHBOUR = "ipv4:198.51.100.7:40001"  # behind the same address (a NAT, a proxy)
OPERATOR_SECRET = "an-operator-chose-this-one-0123"  # SUNDIAL_BOOTSTRAP_API_KEY
HS256_SECRET = "development-secret-that-is-long-enough-for-hs256"
BAD_KEY = "sdl_" + "A" * 43  # a generated key's shape, but no such key


class FakeContext:
    def __init__(self, peer: str, authorization: str | None) -> None:
        self._peer = peer
        self.metadata = () if authorization is None else (("authorization", authorization),)

    def invocation_metadata(self):
        return self.metadata

    def peer(self):
        return self._peer


@pytest.fixture(scope="module")
def issuer():
    return TokenIssuer()


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def database(sqlite_template, tmp_path):
    path = tmp_path / "guard.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def boot(database, clock):
    return TenancyService(database, clock).bootstrap(OPERATOR_SECRET)


@pytest.fixture
def limiter(clock):
    return FailureLimiter(clock, burst=BURST, per_minute=PER_MINUTE)


class Guarded:
    """The guard in front of ListWorkspaces of the bootstrap account."""

    def __init__(self, guard: CallGuard, account_id: str) -> None:
        self._guard = guard
        self._request = workspace_service_pb2.ListWorkspacesRequest(account_id=account_id)

    def call(self, authorization: str | None, peer: str = NEIGHBOUR):
        context = FakeContext(peer, authorization)
        metadata = dict(context.metadata)
        return self._guard.check(LIST_WORKSPACES, self._request, metadata, context)

    def refusal(self, authorization: str | None, peer: str = NEIGHBOUR) -> float:
        """The Retry-After of a refused call (seconds)."""
        with pytest.raises(ResourceExhaustedError) as caught:
            self.call(authorization, peer)
        return caught.value.retry_after_seconds


@pytest.fixture
def guarded(database, clock, boot, limiter, issuer, tmp_path):
    jwks = issuer.write_jwks(tmp_path)
    verifier = JwtVerifier(
        JwtSettings(ISSUER, AUDIENCE, keys_file=jwks, hs256_secret=HS256_SECRET), clock
    )
    guard = CallGuard(
        method_access(SERVICES),
        open_prefixes=OPEN_PREFIXES,
        authenticator=Authenticator(database, clock, jwt=verifier),
        authorizer=Authorizer(WorkspaceDirectory(database)),
        limiter=limiter,
        gateway_token="",
    )
    return Guarded(guard, boot.account.id)


@pytest.fixture
def generated(database, clock, boot):
    """The secret of an admin key Sundial generated."""
    keys = ApiKeyService(database, clock, on_revoked=lambda _id: None)
    key = keys.create(boot.principal, MetadataInput(name="ci"), ApiKeySpec(role=Role.ADMIN))
    return key.info.secret


def _abuse(guarded: Guarded) -> None:
    for _ in range(BURST):
        with pytest.raises(UnauthenticatedError):
            guarded.call(f"Bearer {BAD_KEY}", ABUSER)


def _claims(boot):
    return {"sundial_account_id": boot.account.id, "sundial_role": "admin"}


def test_a_valid_generated_key_gets_in_while_its_address_is_limited(guarded, generated):
    _abuse(guarded)
    assert guarded.refusal(f"Bearer {BAD_KEY}") == pytest.approx(10.0)
    assert guarded.refusal(None) == pytest.approx(10.0)  # every caller behind the address

    assert guarded.call(f"Bearer {generated}").account_id  # verified, and let in


def test_a_valid_key_while_limited_is_not_counted_and_a_bad_one_is(guarded, generated, clock):
    _abuse(guarded)
    clock.advance(timedelta(seconds=6))
    assert guarded.refusal(None) == pytest.approx(4.0)
    for _ in range(3):
        guarded.call(f"Bearer {generated}")
    assert guarded.refusal(None) == pytest.approx(4.0)  # the bucket did not move
    # A bad key is verified, counted (the wait starts over) and refused as before.
    assert guarded.refusal(f"Bearer {BAD_KEY}") == pytest.approx(10.0)
    assert guarded.refusal(None) == pytest.approx(10.0)


def test_jwts_signed_with_the_issuers_private_key_are_verified_while_limited(guarded, issuer, boot):
    _abuse(guarded)
    for algorithm in ("RS256", "ES256"):
        token = issuer.mint(now=NOW, algorithm=algorithm, extra=_claims(boot))
        assert guarded.call(f"Bearer {token}").account_id == boot.account.id
    forged = issuer.mint(now=NOW, extra=_claims(boot), sign_with_other_key=True)
    assert guarded.refusal(f"Bearer {forged}") == pytest.approx(10.0)


def test_guessable_or_missing_credentials_are_refused_unverified_while_limited(
    guarded, issuer, boot
):
    # Valid, each of them: an operator's own secret and an HS256 token may be weak, so
    # a limited client is not told whether its guess was right.
    hs256 = TokenIssuer.hs256(HS256_SECRET, issuer.claims(now=NOW, extra=_claims(boot)))
    assert guarded.call(f"Bearer {OPERATOR_SECRET}").account_id == boot.account.id
    assert guarded.call(f"Bearer {hs256}").account_id == boot.account.id
    _abuse(guarded)
    for authorization in (f"Bearer {OPERATOR_SECRET}", f"Bearer {hs256}", None, "Basic eA=="):
        assert guarded.refusal(authorization) == pytest.approx(10.0)


def test_another_address_is_not_limited(guarded):
    _abuse(guarded)
    with pytest.raises(UnauthenticatedError):
        guarded.call(f"Bearer {BAD_KEY}", "ipv4:203.0.113.1:5000")
