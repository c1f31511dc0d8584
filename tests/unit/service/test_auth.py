"""Authenticator, Authorizer and FailureLimiter against a real migrated SQLite database,
with time on a FakeClock."""

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from sundial.domain.clock import FakeClock
from sundial.domain.errors import (
    InvalidArgumentError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
)
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Permission, Principal, Role
from sundial.domain.tenancy import ApiKeySpec, ProfileSpec, ProfileType
from sundial.service.api_keys import ApiKeyService
from sundial.service.authentication import Authenticator, new_secret
from sundial.service.authorization import Authorizer, WorkspaceDirectory
from sundial.service.failure_limiter import FailureLimiter
from sundial.service.profiles import ProfileService
from sundial.service.tenancy import TenancyService
from sundial.service.tokens import JwtSettings, JwtVerifier
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork
from tests.support.jwts import AUDIENCE, ISSUER, TokenIssuer

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=10)
ACCOUNT_CLAIM = "sundial_account_id"
# Stands for [the default workspace's id] in parameters, which run before any database exists.
GRANTED = "<default workspace>"


@pytest.fixture(scope="module")
def issuer():
    return TokenIssuer()


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def database(sqlite_template, tmp_path):
    path = tmp_path / "auth.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def tenancy(database, clock):
    return TenancyService(database, clock)


@pytest.fixture
def boot(tenancy):
    return tenancy.bootstrap()


@pytest.fixture
def verifier(issuer, tmp_path, clock):
    return JwtVerifier(JwtSettings(ISSUER, AUDIENCE, keys_file=issuer.write_jwks(tmp_path)), clock)


@pytest.fixture
def authenticator(database, clock, verifier):
    return Authenticator(database, clock, jwt=verifier, cache_ttl=TTL)


@pytest.fixture
def keys(database, clock, authenticator):
    return ApiKeyService(database, clock, on_revoked=authenticator.forget_key)


@pytest.fixture
def profiles(database, clock, authenticator):
    return ProfileService(database, clock, on_changed=authenticator.forget_profile)


@pytest.fixture
def second_workspace(tenancy, boot):
    return tenancy.create_workspace(boot.principal, "second")


def _key(keys, boot, role=Role.EDITOR, workspace_ids=(), expire_time=None):
    spec = ApiKeySpec(role=role, workspace_ids=tuple(workspace_ids), expire_time=expire_time)
    return keys.create(boot.principal, MetadataInput(name="key"), spec)


def _unauthenticated(authenticator, header, match):
    with pytest.raises(UnauthenticatedError, match=match):
        authenticator.authenticate(header)


def _token(issuer, clock, *, account, subject="user-1", **claims):
    """A valid token for the account (None: no account claim) with these extra claims."""
    return issuer.mint(now=clock.now(), subject=subject, extra={ACCOUNT_CLAIM: account, **claims})


# API keys


def test_account_wide_key_is_a_principal_of_its_api_key_profile(
    authenticator, keys, boot, database
):
    key = _key(keys, boot, Role.VIEWER)

    principal = authenticator.authenticate(f"Bearer {key.info.secret}")

    assert principal == Principal(boot.account.id, key.info.key_profile_id, Role.VIEWER, None)
    assert principal.account_wide
    with UnitOfWork(database, write=False) as uow:
        profile = uow.tenancy.get_profile(boot.account.id, key.info.key_profile_id)
    assert profile is not None
    assert profile.spec.type is ProfileType.API_KEY
    assert profile.metadata.external_id == key.metadata.id


def test_scoped_key_reaches_only_its_workspaces(authenticator, keys, boot, second_workspace):
    grant = (boot.default_workspace.id, second_workspace.id)
    key = _key(keys, boot, Role.WORKER, grant)

    principal = authenticator.authenticate(f"Bearer {key.info.secret}")

    assert principal.role is Role.WORKER
    assert principal.workspace_ids == frozenset(grant)
    assert not principal.account_wide


def test_unknown_secret_is_unauthenticated(authenticator, boot):
    _unauthenticated(authenticator, "Bearer sdl_no-such-key-0123456789abcdef", "not valid")


def test_revoked_key_fails_at_once_despite_the_cache(authenticator, keys, boot):
    key = _key(keys, boot)
    header = f"Bearer {key.info.secret}"
    authenticator.authenticate(header)  # now cached

    keys.revoke(boot.principal, key.metadata.id)

    _unauthenticated(authenticator, header, "revoked")


def test_key_expires_on_the_clock(authenticator, keys, boot, clock):
    key = _key(keys, boot, expire_time=NOW + timedelta(hours=1))
    header = f"Bearer {key.info.secret}"
    clock.advance(timedelta(hours=1) - timedelta(seconds=1))
    assert authenticator.authenticate(header).profile_id == key.info.key_profile_id

    clock.advance(timedelta(seconds=1))

    _unauthenticated(authenticator, header, "expired")


def test_key_revoked_by_another_replica_works_until_the_cache_ttl(
    authenticator, keys, boot, clock, database
):
    key = _key(keys, boot)
    header = f"Bearer {key.info.secret}"
    authenticator.authenticate(header)
    with UnitOfWork(database, write=True) as uow:
        uow.tenancy.revoke_api_key(key.metadata.id, clock.now())
        uow.commit()

    clock.advance(TTL - timedelta(milliseconds=1))
    assert authenticator.authenticate(header).role is Role.EDITOR

    clock.advance(timedelta(milliseconds=1))
    _unauthenticated(authenticator, header, "revoked")


@pytest.mark.parametrize(
    "header",
    ["", "   ", "Basic x", "Bearer", "Bearer    ", "Token sdl_abc", "Bearersdl_abc"],
    ids=["empty", "blank", "basic", "no-token", "blank-token", "other-scheme", "no-space"],
)
def test_malformed_header_is_unauthenticated(authenticator, header):
    _unauthenticated(authenticator, header, "malformed")


@pytest.mark.parametrize(
    "template",
    ["bearer  {}", "BEARER {}", "  Bearer {}  "],
    ids=["lower-double-space", "upper", "padded"],
)
def test_bearer_scheme_is_case_and_space_insensitive(authenticator, keys, boot, template):
    key = _key(keys, boot)
    principal = authenticator.authenticate(template.format(key.info.secret))
    assert principal.profile_id == key.info.key_profile_id


# JWTs


def test_first_sign_in_creates_a_user_profile_without_grants(
    authenticator, issuer, clock, boot, database
):
    token = _token(issuer, clock, email="ada@example.com", name="Ada", account=boot.account.id)

    principal = authenticator.authenticate(f"Bearer {token}")

    assert principal.account_id == boot.account.id
    assert principal.role is Role.UNSPECIFIED
    assert principal.workspace_ids is None
    assert not principal.allows(Permission.READ)
    with UnitOfWork(database, write=False) as uow:
        profile = uow.tenancy.get_profile(boot.account.id, principal.profile_id)
    assert profile is not None
    assert profile.spec.type is ProfileType.USER
    assert profile.spec.email == "ada@example.com"
    assert profile.metadata.name == "Ada"
    assert profile.metadata.external_id == "user-1"
    # The next sign-in, past the cache, finds the same profile.
    clock.advance(TTL)
    again = authenticator.authenticate(f"Bearer {_token(issuer, clock, account=boot.account.id)}")
    assert again.profile_id == principal.profile_id


@pytest.mark.parametrize(
    ("claims", "role", "scoped"),
    [
        ({"sundial_role": "viewer"}, Role.VIEWER, None),
        ({"sundial_role": "ROLE_WORKER", "sundial_workspace_ids": GRANTED}, Role.WORKER, True),
        ({"sundial_role": "admin", "sundial_workspace_ids": "*"}, Role.ADMIN, None),
        ({"sundial_workspace_ids": []}, Role.UNSPECIFIED, False),
    ],
    ids=["role-only", "role-and-workspace", "all-workspaces", "no-workspaces"],
)
def test_token_claims_give_role_and_workspaces(
    authenticator, issuer, clock, boot, claims, role, scoped
):
    workspace_id = boot.default_workspace.id
    claims = {name: [workspace_id] if value == GRANTED else value for name, value in claims.items()}
    token = _token(issuer, clock, **claims, account=boot.account.id)

    principal = authenticator.authenticate(f"Bearer {token}")

    assert principal.role is role
    expected = {None: None, True: frozenset({workspace_id}), False: frozenset()}[scoped]
    assert principal.workspace_ids == expected


def test_profile_created_ahead_is_bound_by_email_and_its_grants_apply(
    authenticator, profiles, issuer, clock, boot, database
):
    workspace_id = boot.default_workspace.id
    invited = profiles.create(
        boot.principal,
        MetadataInput(name="Grace"),
        ProfileSpec(email="grace@example.com", role=Role.EDITOR, workspace_ids=(workspace_id,)),
    )
    token = _token(
        issuer, clock, subject="grace-sub", email="grace@example.com", account=boot.account.id
    )

    principal = authenticator.authenticate(f"Bearer {token}")

    assert principal == Principal(
        boot.account.id, invited.metadata.id, Role.EDITOR, frozenset({workspace_id})
    )
    with UnitOfWork(database, write=False) as uow:
        bound = uow.tenancy.get_profile(boot.account.id, invited.metadata.id)
    assert bound is not None
    assert bound.metadata.external_id == "grace-sub"


def test_profile_created_ahead_is_bound_whatever_the_email_case(
    authenticator, profiles, issuer, clock, boot
):
    invited = profiles.create(
        boot.principal,
        MetadataInput(name="Grace"),
        ProfileSpec(email="Grace@Example.com", role=Role.VIEWER),
    )
    token = _token(
        issuer, clock, subject="grace-sub", email="Grace@Example.com", account=boot.account.id
    )

    principal = authenticator.authenticate(f"Bearer {token}")

    assert principal.profile_id == invited.metadata.id
    assert principal.role is Role.VIEWER


def test_changed_grants_apply_at_the_next_sign_in(authenticator, profiles, issuer, clock, boot):
    header = f"Bearer {_token(issuer, clock, account=boot.account.id)}"
    profile_id = authenticator.authenticate(header).profile_id

    profiles.update(
        boot.principal,
        profile_id,
        MetadataInput(),
        ProfileSpec(role=Role.EDITOR),
        update_mask=["spec.role"],
    )

    assert authenticator.authenticate(header).role is Role.EDITOR


@pytest.mark.parametrize(
    ("account_id", "match"),
    [(None, "names no account"), ("acct_made_up", "account does not exist")],
    ids=["no-account", "unknown-account"],
)
def test_token_needs_an_existing_account(authenticator, issuer, clock, boot, account_id, match):
    token = _token(issuer, clock, account=account_id)
    _unauthenticated(authenticator, f"Bearer {token}", match)


def test_jwt_without_a_verifier_is_unauthenticated(database, clock, issuer, boot):
    authenticator = Authenticator(database, clock)
    token = _token(issuer, clock, account=boot.account.id)
    _unauthenticated(authenticator, f"Bearer {token}", "not configured")


# Authorizer

# What each role may do, written out rather than read from ROLE_PERMISSIONS.
ALLOWED = {
    Role.UNSPECIFIED: set(),
    Role.ADMIN: {Permission.READ, Permission.WRITE, Permission.WORK, Permission.ADMIN},
    Role.EDITOR: {Permission.READ, Permission.WRITE, Permission.WORK},
    Role.VIEWER: {Permission.READ},
    Role.WORKER: {Permission.WORK},
}


@pytest.fixture
def authorizer(database):
    return Authorizer(WorkspaceDirectory(database))


@pytest.mark.parametrize("permission", list(Permission), ids=lambda p: p.name.lower())
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.name.lower())
def test_each_role_has_exactly_its_permissions(authorizer, boot, role, permission):
    principal = Principal(boot.account.id, "prof_x", role, None)
    workspace_id = boot.default_workspace.id
    if permission in ALLOWED[role]:
        authorizer.authorize(principal, permission, workspace_id=workspace_id)
        authorizer.authorize(principal, permission, account_id=boot.account.id)
        return
    with pytest.raises(PermissionDeniedError):
        authorizer.authorize(principal, permission, workspace_id=workspace_id)


def test_missing_permission_names_role_and_permission(authorizer, boot):
    principal = Principal(boot.account.id, "prof_x", Role.VIEWER, None)
    with pytest.raises(PermissionDeniedError, match="viewer role lacks the write permission"):
        authorizer.authorize(principal, Permission.WRITE, workspace_id=boot.default_workspace.id)


def test_undeclared_permission_is_refused_even_to_admins(authorizer, boot):
    admin = Principal(boot.account.id, "prof_x", Role.ADMIN, None)
    with pytest.raises(PermissionDeniedError, match="no permission declared"):
        authorizer.authorize(admin, Permission.UNSPECIFIED, account_id=boot.account.id)


def test_another_accounts_workspace_reads_like_a_made_up_one(authorizer, tenancy, boot):
    other = tenancy.create_account("other")
    admin = Principal(boot.account.id, "prof_x", Role.ADMIN, None)
    messages = []
    for workspace_id in (other.default_workspace.id, "ws_made_up"):
        with pytest.raises(PermissionDeniedError) as caught:
            authorizer.authorize(admin, Permission.READ, workspace_id=workspace_id)
        messages.append(str(caught.value).replace(workspace_id, "<id>"))
    assert messages[0] == messages[1]
    assert "does not exist" in messages[0]


@pytest.mark.parametrize(
    ("account", "workspace", "allowed"),
    [
        ("own", "granted", True),
        ("own", "other", False),
        ("own", None, False),
        (None, "granted", True),
        (None, "other", False),
        ("foreign", "granted", False),
    ],
    ids=["own-granted", "own-ungranted", "account-level", "granted", "ungranted", "foreign"],
)
def test_scoped_principal_reaches_only_its_grant(
    authorizer, boot, second_workspace, account, workspace, allowed
):
    granted = boot.default_workspace.id
    principal = Principal(boot.account.id, "prof_x", Role.ADMIN, frozenset({granted}))
    account_id = {"own": boot.account.id, "foreign": "acct_other", None: None}[account]
    workspace_id = {"granted": granted, "other": second_workspace.id, None: None}[workspace]

    def authorize():
        authorizer.authorize(
            principal, Permission.READ, account_id=account_id, workspace_id=workspace_id
        )

    if allowed:
        authorize()
    else:
        with pytest.raises(PermissionDeniedError):
            authorize()


def test_account_wide_principal_may_not_name_another_account(authorizer, boot, tenancy):
    other = tenancy.create_account("other")
    admin = Principal(boot.account.id, "prof_x", Role.ADMIN, None)
    with pytest.raises(PermissionDeniedError, match=repr(other.account.id)):
        authorizer.authorize(admin, Permission.ADMIN, account_id=other.account.id)


@pytest.mark.parametrize("field", ["workspace_id", "account_id"])
def test_an_empty_workspace_or_account_id_is_invalid(authorizer, boot, field):
    admin = Principal(boot.account.id, "prof_x", Role.ADMIN, None)
    with pytest.raises(InvalidArgumentError) as caught:
        authorizer.authorize(admin, Permission.READ, **{field: ""})
    assert caught.value.violations[0].field == field


# FailureLimiter


def test_limiter_allows_a_burst_then_refuses_with_a_retry_delay(clock):
    limiter = FailureLimiter(clock, burst=3, per_minute=6)  # one token every 10 s
    for _ in range(3):
        limiter.check("10.0.0.1")
        limiter.failed("10.0.0.1")

    with pytest.raises(ResourceExhaustedError) as caught:
        limiter.check("10.0.0.1")

    assert caught.value.retry_after_seconds == pytest.approx(10.0)


def test_limiter_refills_over_time_up_to_the_burst(clock):
    limiter = FailureLimiter(clock, burst=2, per_minute=6)
    limiter.failed("c")
    limiter.failed("c")
    clock.advance(timedelta(seconds=4))
    with pytest.raises(ResourceExhaustedError) as caught:
        limiter.check("c")
    assert caught.value.retry_after_seconds == pytest.approx(6.0)

    clock.advance(timedelta(seconds=6))
    limiter.check("c")

    clock.advance(timedelta(hours=1))
    limiter.failed("c")
    limiter.failed("c")
    with pytest.raises(ResourceExhaustedError):
        limiter.check("c")


def test_limiter_is_active_only_until_every_bucket_has_refilled(clock):
    limiter = FailureLimiter(clock, burst=2, per_minute=6)  # full again 20 s after a failure
    assert not limiter.active
    limiter.failed("a")
    clock.advance(timedelta(seconds=15))
    limiter.failed("b")
    clock.advance(timedelta(seconds=10))
    assert limiter.active  # b's bucket still refills
    limiter.failed("b")
    limiter.failed("b")
    with pytest.raises(ResourceExhaustedError):
        limiter.check("b")
    clock.advance(timedelta(seconds=40))
    assert not limiter.active
    limiter.check("b")  # forgotten: a full bucket again


def test_limiter_keeps_clients_apart(clock):
    limiter = FailureLimiter(clock, burst=1, per_minute=1)
    limiter.failed("a")
    with pytest.raises(ResourceExhaustedError):
        limiter.check("a")
    limiter.check("b")


def test_limiter_without_refill_still_gives_a_positive_delay(clock):
    limiter = FailureLimiter(clock, burst=1, per_minute=0)
    limiter.failed("a")
    with pytest.raises(ResourceExhaustedError) as caught:
        limiter.check("a")
    assert caught.value.retry_after_seconds > 0


def test_limited_says_whether_check_would_refuse(clock):
    limiter = FailureLimiter(clock, burst=2, per_minute=6)
    limiter.failed("a")
    assert not limiter.limited("a")
    limiter.failed("a")
    assert limiter.limited("a")
    assert not limiter.limited("b")
    clock.advance(timedelta(seconds=10))
    assert not limiter.limited("a")


# Which credentials a limited client may still have verified (service.failure_limiter)


def test_generated_keys_and_asymmetrically_signed_jwts_are_unguessable(
    database, clock, issuer, tmp_path
):
    settings = JwtSettings(
        ISSUER, AUDIENCE, keys_file=issuer.write_jwks(tmp_path), hs256_secret="s" * 40
    )
    authenticator = Authenticator(database, clock, jwt=JwtVerifier(settings, clock))
    claims = issuer.claims(now=NOW)
    unguessable = [
        f"Bearer {new_secret()}",
        f"bearer  {new_secret()} ",
        f"Bearer {issuer.mint(now=NOW)}",
        f"Bearer {issuer.mint(now=NOW, algorithm='ES256')}",
        f"Bearer {issuer.mint(now=NOW, sign_with_other_key=True)}",  # forged: still a kind
    ]
    guessable = [
        "Bearer sdl_test-admin-secret-0123456789abcdef",  # an operator's choice
        f"Bearer {new_secret()}x",
        f"Bearer {new_secret()[:-1]}!",
        f"Basic {new_secret()}",
        new_secret(),
        "",
        f"Bearer {TokenIssuer.hs256('s' * 40, claims)}",
        "Bearer a.b.c",
    ]
    assert [authenticator.unguessable(a) for a in unguessable] == [True] * len(unguessable)
    assert [authenticator.unguessable(a) for a in guessable] == [False] * len(guessable)
    without_jwt = Authenticator(database, clock)
    assert not without_jwt.unguessable(f"Bearer {issuer.mint(now=NOW)}")
