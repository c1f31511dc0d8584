import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from sundial.domain.clock import FakeClock
from sundial.domain.errors import UnauthenticatedError
from sundial.domain.principals import Role
from sundial.service.tokens import JwtIdentity, JwtSettings, JwtVerifier, looks_like_jwt
from tests.support.jwts import AUDIENCE, EC_KID, ISSUER, RSA_KID, TokenIssuer, unsigned_token

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
SECRET = "development-secret-that-is-long-enough-for-hs256"


@pytest.fixture(scope="module")
def issuer():
    return TokenIssuer()


@pytest.fixture(scope="module")
def jwks_verifier(issuer, tmp_path_factory):
    keys_file = issuer.write_jwks(tmp_path_factory.mktemp("jwks"))
    return JwtVerifier(JwtSettings(ISSUER, AUDIENCE, keys_file=keys_file), FakeClock(NOW))


@pytest.fixture(scope="module")
def pem_verifier(issuer, tmp_path_factory):
    keys_file = issuer.write_pem(tmp_path_factory.mktemp("pem"))
    return JwtVerifier(JwtSettings(ISSUER, AUDIENCE, keys_file=keys_file), FakeClock(NOW))


@pytest.fixture(scope="module")
def hs256_verifier():
    return JwtVerifier(JwtSettings(ISSUER, AUDIENCE, hs256_secret=SECRET), FakeClock(NOW))


def test_valid_rs256_token_via_jwks(issuer, jwks_verifier):
    identity = jwks_verifier.verify(issuer.mint(now=NOW, extra={"email": "a@b.test"}))
    assert identity == JwtIdentity(
        issuer=ISSUER,
        subject="user-1",
        email="a@b.test",
        name="",
        account_id="",
        role=None,
        workspaces_claimed=False,
        workspace_ids=frozenset(),
    )


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_valid_token_via_pem(issuer, pem_verifier, algorithm):
    token = issuer.mint(now=NOW, algorithm=algorithm, subject="pem-user", kid=False)
    assert pem_verifier.verify(token).subject == "pem-user"


def test_valid_es256_token_via_jwks(issuer, jwks_verifier):
    token = issuer.mint(now=NOW, algorithm="ES256", extra={"name": "Ada"})
    assert jwks_verifier.verify(token).name == "Ada"


def test_token_without_kid_uses_the_only_key_of_its_type(issuer, jwks_verifier):
    assert jwks_verifier.verify(issuer.mint(now=NOW, kid=False)).subject == "user-1"


def test_token_without_kid_is_refused_when_several_keys_fit(issuer, tmp_path):
    document = json.loads(issuer.write_jwks(tmp_path).read_text())
    document["keys"].append({**document["keys"][0], "kid": "rsa-2"})
    (tmp_path / "jwks.json").write_text(json.dumps(document))
    settings = JwtSettings(ISSUER, AUDIENCE, keys_file=tmp_path / "jwks.json")
    verifier = JwtVerifier(settings, FakeClock(NOW))
    assert verifier.verify(issuer.mint(now=NOW, kid="rsa-2")).subject == "user-1"
    with pytest.raises(UnauthenticatedError, match=r"^no key matches the token$"):
        verifier.verify(issuer.mint(now=NOW, kid=False))


def test_valid_hs256_token_for_development(issuer, hs256_verifier):
    token = TokenIssuer.hs256(SECRET, issuer.claims(now=NOW, subject="dev"))
    assert hs256_verifier.verify(token).subject == "dev"


def test_audience_list_containing_ours_is_accepted(issuer, jwks_verifier):
    token = issuer.mint(now=NOW, audience=["someone-else", AUDIENCE])
    assert jwks_verifier.verify(token).subject == "user-1"


@pytest.mark.parametrize(
    "expires_ago",
    [timedelta(seconds=29), timedelta(seconds=1), timedelta(0)],
    ids=["29s-ago", "1s-ago", "now"],
)
def test_expired_token_within_leeway_is_accepted(issuer, jwks_verifier, expires_ago):
    token = issuer.mint(now=NOW - timedelta(minutes=5) - expires_ago)
    assert jwks_verifier.verify(token).subject == "user-1"


def test_leeway_follows_the_settings(issuer, tmp_path):
    keys_file = issuer.write_jwks(tmp_path)
    settings = JwtSettings(ISSUER, AUDIENCE, keys_file=keys_file, leeway=timedelta(0))
    verifier = JwtVerifier(settings, FakeClock(NOW))
    with pytest.raises(UnauthenticatedError, match=r"^token expired$"):
        verifier.verify(issuer.mint(now=NOW - timedelta(minutes=5), expires_in=timedelta(0)))


def test_the_injected_clock_decides_expiry(issuer, tmp_path):
    clock = FakeClock(NOW)
    settings = JwtSettings(ISSUER, AUDIENCE, keys_file=issuer.write_jwks(tmp_path))
    verifier = JwtVerifier(settings, clock)
    token = issuer.mint(now=NOW)
    assert verifier.verify(token).subject == "user-1"
    clock.advance(timedelta(minutes=5, seconds=30))
    with pytest.raises(UnauthenticatedError, match=r"^token expired$"):
        verifier.verify(token)


@pytest.mark.parametrize(
    ("lives", "accepted"),
    [(timedelta(hours=24), True), (timedelta(hours=24, seconds=31), False),
     (timedelta(days=365 * 1000), False)],
)  # fmt: skip
def test_a_token_that_lives_longer_than_the_maximum_is_refused(
    issuer, jwks_verifier, lives, accepted
):
    token = issuer.mint(now=NOW, expires_in=lives)
    if accepted:
        assert jwks_verifier.verify(token).subject == "user-1"
    else:
        with pytest.raises(
            UnauthenticatedError, match=r"^token lives longer than the server allows \(86400s\)$"
        ):
            jwks_verifier.verify(token)


def test_the_maximum_lifetime_follows_the_settings_and_counts_from_now_without_iat(
    issuer, tmp_path
):
    settings = JwtSettings(
        ISSUER, AUDIENCE, keys_file=issuer.write_jwks(tmp_path), max_lifetime=timedelta(hours=1)
    )
    verifier = JwtVerifier(settings, FakeClock(NOW))
    # Issued two hours ago, valid for three: it lives longer than one hour.
    with pytest.raises(UnauthenticatedError, match=r"^token lives longer"):
        verifier.verify(issuer.mint(now=NOW - timedelta(hours=2), expires_in=timedelta(hours=3)))
    without_iat = issuer.mint(now=NOW, expires_in=timedelta(minutes=50), extra={"iat": None})
    assert verifier.verify(without_iat).subject == "user-1"
    too_long = issuer.mint(now=NOW, expires_in=timedelta(hours=2), extra={"iat": None})
    with pytest.raises(UnauthenticatedError, match=r"^token lives longer"):
        verifier.verify(too_long)


def _hs256_claims(issuer):
    return issuer.claims(now=NOW)


REJECTED = [
    ("expired", lambda i: i.mint(now=NOW - timedelta(minutes=10)), "token expired"),
    (
        "expired-just-past-leeway",
        lambda i: i.mint(now=NOW - timedelta(minutes=5, seconds=30)),
        "token expired",
    ),
    (
        "nbf-in-future",
        lambda i: i.mint(now=NOW, extra={"nbf": int((NOW + timedelta(minutes=1)).timestamp())}),
        "token not yet valid",
    ),
    (
        "iat-in-future",
        lambda i: i.mint(now=NOW, extra={"iat": int((NOW + timedelta(minutes=1)).timestamp())}),
        "token issued in the future",
    ),
    ("wrong-audience", lambda i: i.mint(now=NOW, audience="other"), "token audience mismatch"),
    (
        "audience-list-without-ours",
        lambda i: i.mint(now=NOW, audience=["a", "b"]),
        "token audience mismatch",
    ),
    (
        "wrong-issuer",
        lambda i: i.mint(now=NOW, issuer="https://evil.test/"),
        "token issuer mismatch",
    ),
    (
        "rs256-signed-by-other-key-same-kid",
        lambda i: i.mint(now=NOW, sign_with_other_key=True),
        "token signature invalid",
    ),
    (
        "es256-signed-by-other-key-same-kid",
        lambda i: i.mint(now=NOW, algorithm="ES256", sign_with_other_key=True),
        "token signature invalid",
    ),
    ("unknown-kid", lambda i: i.mint(now=NOW, kid="rsa-9"), "no key matches the token"),
    ("rsa-kid-on-es256", lambda i: i.mint(now=NOW, algorithm="ES256", kid=RSA_KID), "no key"),
    ("rs384", lambda i: i.mint(now=NOW, algorithm="RS384"), "token algorithm not allowed"),
    (
        "alg-none-empty-signature",
        lambda i: unsigned_token({"alg": "none"}, _hs256_claims(i)),
        "token is malformed",
    ),
    (
        "alg-none-with-signature",
        lambda i: unsigned_token({"alg": "none"}, _hs256_claims(i), b"sig"),
        "token algorithm not allowed",
    ),
    (
        "no-alg",
        lambda i: unsigned_token({"kid": RSA_KID}, _hs256_claims(i), b"sig"),
        "token algorithm not allowed",
    ),
    (
        "hs256-without-secret",
        lambda i: TokenIssuer.hs256(SECRET, _hs256_claims(i)),
        "token algorithm not allowed",
    ),
    (
        "hs256-signed-with-rsa-public-pem",
        lambda i: TokenIssuer.hs256(i.rsa_public_pem(), _hs256_claims(i)),
        "token algorithm not allowed",
    ),
    ("missing-sub", lambda i: i.mint(now=NOW, extra={"sub": None}), "token lacks the sub claim"),
    (
        "empty-sub",
        lambda i: i.mint(now=NOW, subject=""),
        "token sub claim must be a non-empty string",
    ),
    (
        "numeric-sub",
        lambda i: i.mint(now=NOW, extra={"sub": 7}),
        "token sub claim must be a non-empty string",
    ),
    ("missing-exp", lambda i: i.mint(now=NOW, extra={"exp": None}), "token lacks the exp claim"),
    ("missing-iss", lambda i: i.mint(now=NOW, extra={"iss": None}), "token lacks the iss claim"),
    ("missing-aud", lambda i: i.mint(now=NOW, extra={"aud": None}), "token lacks the aud claim"),
    (
        "exp-not-a-number",
        lambda i: i.mint(now=NOW, extra={"exp": "tomorrow"}),
        "token exp claim is not a number",
    ),
    (
        "exp-nan",
        lambda i: i.mint(now=NOW, extra={"exp": float("nan")}),
        "token exp claim is not a number",
    ),
    (
        "exp-boolean",
        lambda i: i.mint(now=NOW, extra={"exp": True}),
        "token exp claim is not a number",
    ),
    (
        "kid-not-a-string",
        lambda i: unsigned_token({"alg": "RS256", "kid": 1}, _hs256_claims(i), b"sig"),
        "token is malformed",
    ),
    ("empty", lambda i: "", "token is malformed"),
    ("one-segment", lambda i: "abc", "token is malformed"),
    ("two-segments", lambda i: "a.b", "token is malformed"),
    ("three-garbage-segments", lambda i: "a.b.c", "token is malformed"),
    ("four-segments", lambda i: i.mint(now=NOW) + ".d", "token is malformed"),
    ("not-base64url", lambda i: "a+b.c/d.e=f", "token is malformed"),
    ("bearer-prefix", lambda i: "Bearer " + i.mint(now=NOW), "token is malformed"),
    (
        "garbage-payload-unsigned",
        lambda i: i.mint(now=NOW).split(".")[0] + ".bm90LWpzb24.c2ln",
        "token signature invalid",
    ),
    (
        "garbage-payload-signed",
        lambda i: jwt.PyJWS().encode(
            b"not-json", i.rsa_key, algorithm="RS256", headers={"kid": RSA_KID}
        ),
        "token is malformed",
    ),
    (
        "tampered-payload",
        lambda i: ".".join(
            [
                i.mint(now=NOW).split(".")[0],
                i.mint(now=NOW, subject="admin").split(".")[1],
                i.mint(now=NOW).split(".")[2],
            ]
        ),
        "token signature invalid",
    ),
]


@pytest.mark.parametrize(
    ("make_token", "message"),
    [(make, message) for _, make, message in REJECTED],
    ids=[name for name, _, _ in REJECTED],
)
def test_rejected_tokens(issuer, jwks_verifier, make_token, message):
    token = make_token(issuer)
    with pytest.raises(UnauthenticatedError) as caught:
        jwks_verifier.verify(token)
    assert caught.value.message.startswith(message)
    assert caught.value.reason == "UNAUTHENTICATED"
    if token:
        assert token not in caught.value.message


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda i: i.mint(now=NOW), "token algorithm not allowed"),
        (
            lambda i: TokenIssuer.hs256("another-secret-long-enough-for-hs256", i.claims(now=NOW)),
            "token signature invalid",
        ),
        (
            lambda i: TokenIssuer.hs256(i.rsa_public_pem(), i.claims(now=NOW)),
            "token signature invalid",
        ),
        (
            lambda i: TokenIssuer.hs256(SECRET, i.claims(now=NOW, audience="x")),
            "token audience mismatch",
        ),
    ],
    ids=["rs256-without-keys", "wrong-secret", "rsa-public-pem-as-secret", "wrong-audience"],
)
def test_hs256_verifier_rejects(issuer, hs256_verifier, make_token, message):
    with pytest.raises(UnauthenticatedError, match=f"^{message}$"):
        hs256_verifier.verify(make_token(issuer))


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda i: i.mint(now=NOW, sign_with_other_key=True), "token signature invalid"),
        (
            lambda i: i.mint(now=NOW, algorithm="ES256", sign_with_other_key=True),
            "token signature invalid",
        ),
        (
            lambda i: TokenIssuer.hs256(i.rsa_public_pem(), i.claims(now=NOW)),
            "token algorithm not allowed",
        ),
        (
            lambda i: TokenIssuer.hs256(i.rsa_certificate_pem(), i.claims(now=NOW)),
            "token algorithm not allowed",
        ),
        (lambda i: i.mint(now=NOW, audience="other"), "token audience mismatch"),
    ],
    ids=["rs256-other-key", "es256-other-key", "hs256-public-pem", "hs256-certificate", "audience"],
)
def test_pem_verifier_rejects(issuer, pem_verifier, make_token, message):
    with pytest.raises(UnauthenticatedError, match=f"^{message}$"):
        pem_verifier.verify(make_token(issuer))


def test_pem_tries_each_key_of_the_tokens_type(issuer, tmp_path):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    stranger_pem = stranger.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keys_file = issuer.write_pem(tmp_path)
    keys_file.write_bytes(stranger_pem + keys_file.read_bytes())
    verifier = JwtVerifier(JwtSettings(ISSUER, AUDIENCE, keys_file=keys_file), FakeClock(NOW))
    assert verifier.verify(issuer.mint(now=NOW)).subject == "user-1"
    with pytest.raises(UnauthenticatedError, match=r"^token signature invalid$"):
        verifier.verify(issuer.mint(now=NOW, sign_with_other_key=True))


def test_keys_and_secret_together_keep_algorithms_apart(issuer, tmp_path):
    keys_file = issuer.write_pem(tmp_path)
    settings = JwtSettings(ISSUER, AUDIENCE, keys_file=keys_file, hs256_secret=SECRET)
    verifier = JwtVerifier(settings, FakeClock(NOW))
    assert verifier.verify(issuer.mint(now=NOW)).subject == "user-1"
    assert verifier.verify(TokenIssuer.hs256(SECRET, issuer.claims(now=NOW))).subject == "user-1"
    with pytest.raises(UnauthenticatedError, match=r"^token signature invalid$"):
        verifier.verify(TokenIssuer.hs256(issuer.rsa_public_pem(), issuer.claims(now=NOW)))


CLAIMS = [
    ("no-claims", {}, {"role": None, "workspaces_claimed": False, "workspace_ids": frozenset()}),
    ("role-editor", {"sundial_role": "editor"}, {"role": Role.EDITOR}),
    ("role-prefixed", {"sundial_role": "ROLE_WORKER"}, {"role": Role.WORKER}),
    (
        "workspaces-list",
        {"sundial_workspace_ids": ["ws-1", "ws-2"]},
        {"workspaces_claimed": True, "workspace_ids": frozenset({"ws-1", "ws-2"})},
    ),
    (
        "workspaces-string",
        {"sundial_workspace_ids": "ws-1, ws-2 ws-3"},
        {"workspaces_claimed": True, "workspace_ids": frozenset({"ws-1", "ws-2", "ws-3"})},
    ),
    (
        "workspaces-star",
        {"sundial_workspace_ids": "*"},
        {"workspaces_claimed": True, "workspace_ids": None},
    ),
    (
        "workspaces-star-list",
        {"sundial_workspace_ids": ["*"]},
        {"workspaces_claimed": True, "workspace_ids": None},
    ),
    (
        "workspaces-empty-list",
        {"sundial_workspace_ids": []},
        {"workspaces_claimed": True, "workspace_ids": frozenset()},
    ),
    ("account-claim", {"sundial_account_id": "acct-9"}, {"account_id": "acct-9"}),
    ("account-default", {}, {"account_id": "acct-default"}),
    ("account-empty-uses-default", {"sundial_account_id": ""}, {"account_id": "acct-default"}),
    ("email-and-name", {"email": "e@x.test", "name": "Eve"}, {"email": "e@x.test", "name": "Eve"}),
]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [(extra, expected) for _, extra, expected in CLAIMS],
    ids=[name for name, _, _ in CLAIMS],
)
def test_claim_mapping(issuer, tmp_path, extra, expected):
    keys_file = issuer.write_jwks(tmp_path)
    settings = JwtSettings(ISSUER, AUDIENCE, keys_file=keys_file, default_account_id="acct-default")
    identity = JwtVerifier(settings, FakeClock(NOW)).verify(issuer.mint(now=NOW, extra=extra))
    assert {field: getattr(identity, field) for field in expected} == expected


def test_claim_names_follow_the_settings(issuer, tmp_path):
    settings = JwtSettings(
        ISSUER,
        AUDIENCE,
        keys_file=issuer.write_jwks(tmp_path),
        account_claim="org",
        role_claim="roles",
        workspaces_claim="spaces",
    )
    extra = {"org": "acct-1", "roles": "viewer", "spaces": ["ws-1"], "sundial_role": "admin"}
    identity = JwtVerifier(settings, FakeClock(NOW)).verify(issuer.mint(now=NOW, extra=extra))
    assert (identity.account_id, identity.role, identity.workspace_ids) == (
        "acct-1",
        Role.VIEWER,
        frozenset({"ws-1"}),
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"sundial_role": "superuser"},
            "token role claim 'superuser' is not one of admin, editor, viewer, worker",
        ),
        ({"sundial_role": "unspecified"}, "token role claim 'unspecified' is not one of"),
        ({"sundial_role": ["admin"]}, "token role claim ['admin'] is not one of"),
        ({"sundial_workspace_ids": [1, 2]}, "token workspaces claim must be a list of strings"),
        ({"sundial_workspace_ids": {"ws": 1}}, "token workspaces claim must be a list of strings"),
        ({"sundial_workspace_ids": ["*", "ws-1"]}, "token workspaces claim mixes '*'"),
        ({"sundial_account_id": 42}, "token account claim must be a string"),
        ({"email": ["a@b.test"]}, "token email claim must be a string"),
    ],
    ids=[
        "unknown-role",
        "unspecified-role",
        "role-list",
        "workspace-numbers",
        "workspace-object",
        "star-mixed",
        "account-number",
        "email-list",
    ],
)
def test_bad_claims_are_rejected(issuer, jwks_verifier, extra, message):
    with pytest.raises(UnauthenticatedError) as caught:
        jwks_verifier.verify(issuer.mint(now=NOW, extra=extra))
    assert caught.value.message.startswith(message)


def _private_jwk(issuer):
    return {"keys": [{**RSAAlgorithm.to_jwk(issuer.rsa_key, as_dict=True), "kid": "k"}]}


def _public_jwk(issuer):
    return RSAAlgorithm.to_jwk(issuer.rsa_key.public_key(), as_dict=True)


def _ed25519_pem():
    return (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _p384_jwks():
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    return {"keys": [{**ECAlgorithm.to_jwk(key, as_dict=True), "kid": "p384"}]}


BAD_KEYS_FILES = [
    ("missing", None, "cannot be read"),
    ("empty", "", "neither a JWKS document nor a PEM file"),
    ("garbage", "hello", "neither a JWKS document nor a PEM file"),
    ("bad-json", "{not json", "is not valid JSON"),
    ("no-keys-list", json.dumps({"kty": "RSA"}), 'has no "keys" list'),
    ("empty-keys", json.dumps({"keys": []}), "is not a usable JWKS"),
    ("oct-key", json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}), "symmetric"),
    ("private-jwk", _private_jwk, "private"),
    ("p384-only", lambda i: _p384_jwks(), "holds no RS256 or ES256 public key"),
    (
        "encryption-key-only",
        lambda i: {"keys": [{**_public_jwk(i), "use": "enc"}]},
        "holds no RS256 or ES256 public key",
    ),
    (
        "pem-private-key",
        lambda i: i.rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "holds a private key (PEM block 1)",
    ),
    (
        "pem-garbage-block",
        "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
        "PEM block 1",
    ),
    (
        "pem-unsupported-type",
        "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
        "unsupported PEM type 'FOO'",
    ),
    ("pem-ed25519", lambda i: _ed25519_pem(), "only RSA and EC P-256 public keys"),
    ("pem-no-blocks", "-----BEGIN nothing", "holds no RS256 or ES256 public key"),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [(content, message) for _, content, message in BAD_KEYS_FILES],
    ids=[name for name, _, _ in BAD_KEYS_FILES],
)
def test_bad_keys_file_raises_value_error_naming_it(issuer, tmp_path, content, message):
    path = tmp_path / "keys"
    if callable(content):
        content = content(issuer)
    if isinstance(content, dict):
        content = json.dumps(content)
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match="JWT keys file") as caught:
        JwtVerifier(JwtSettings(ISSUER, AUDIENCE, keys_file=path), FakeClock(NOW))
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (JwtSettings(ISSUER, AUDIENCE), "needs a keys file or an HS256 secret"),
        (JwtSettings("", AUDIENCE, hs256_secret=SECRET), "needs an issuer and an audience"),
        (JwtSettings(ISSUER, "", hs256_secret=SECRET), "needs an issuer and an audience"),
    ],
    ids=["no-keys", "no-issuer", "no-audience"],
)
def test_incomplete_settings_raise_value_error(settings, message):
    with pytest.raises(ValueError, match=message):
        JwtVerifier(settings, FakeClock(NOW))


def test_public_key_as_hs256_secret_is_refused(issuer):
    settings = JwtSettings(ISSUER, AUDIENCE, hs256_secret=issuer.rsa_public_pem().decode())
    with pytest.raises(ValueError, match="HS256 secret looks like an asymmetric key"):
        JwtVerifier(settings, FakeClock(NOW))


def test_jwks_kids_are_the_issuers(issuer, tmp_path):
    kids = [key["kid"] for key in json.loads(issuer.write_jwks(tmp_path).read_text())["keys"]]
    assert kids == [RSA_KID, EC_KID]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aaa.bbb.ccc", True),
        ("eyJh-_.eyJz_-.c2ln", True),
        ("", False),
        ("abc", False),
        ("a.b", False),
        ("a.b.", False),
        (".b.c", False),
        ("a..c", False),
        ("a.b.c.d", False),
        ("a.b.c\n", False),
        ("a b.c.d", False),
        ("a+b.c/d.e=", False),
        ("key_01HXYZ", False),
    ],
)
def test_looks_like_jwt(text, expected):
    assert looks_like_jwt(text) is expected
