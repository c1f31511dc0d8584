"""JWT verification: a bearer token signed by the configured issuer (RS256 or ES256 with keys
from a JWKS or PEM file; HS256 with a shared secret in development) becomes a JwtIdentity."""

import json
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import InvalidSubjectError

from sundial.domain.clock import Clock
from sundial.domain.errors import UnauthenticatedError
from sundial.domain.principals import Role, role_named

_PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)
_ASYMMETRIC = frozenset({"RS256", "ES256"})
_ROLE_NAMES = ", ".join(role.name.lower() for role in Role if role is not Role.UNSPECIFIED)
# PyJWT checks the signature, iss and aud; times are checked against the injected clock.
_DECODE_OPTIONS: jwt.types.Options = {
    "require": ["exp", "iss", "aud", "sub"],
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}


@dataclass(frozen=True, slots=True)
class JwtSettings:
    """Which tokens to accept: their issuer and audience, and the keys that sign them."""

    issuer: str
    audience: str
    keys_file: Path | None = None
    hs256_secret: str = ""
    leeway: timedelta = timedelta(seconds=30)
    # The longest a token may be valid, from its iat (or from now, without one): a token
    # that lives longer is refused, so a leaked one cannot serve for years.
    max_lifetime: timedelta = timedelta(hours=24)
    account_claim: str = "sundial_account_id"
    role_claim: str = "sundial_role"
    workspaces_claim: str = "sundial_workspace_ids"
    default_account_id: str = ""


@dataclass(frozen=True, slots=True)
class JwtIdentity:
    """What a verified token says about its bearer. `workspace_ids` is None when the token
    claims every workspace of its account, and empty when it claims none or no workspaces
    claim was made (`workspaces_claimed` tells the two apart)."""

    issuer: str
    subject: str
    email: str
    name: str
    account_id: str
    role: Role | None
    workspaces_claimed: bool
    workspace_ids: frozenset[str] | None


def looks_like_jwt(token: str) -> bool:
    """Whether the text has a JWT's shape: three non-empty base64url segments."""
    return _JWT_SHAPE.fullmatch(token) is not None


@dataclass(frozen=True, slots=True)
class _VerificationKey:
    algorithm: str
    key: _PublicKey
    kid: str | None = None


class JwtVerifier:
    """Verifies tokens against one issuer's settings; the keys are read once, here."""

    def __init__(self, settings: JwtSettings, clock: Clock) -> None:
        if not settings.issuer or not settings.audience:
            raise ValueError("JWT verification needs an issuer and an audience")
        if settings.keys_file is None and not settings.hs256_secret:
            raise ValueError("JWT verification needs a keys file or an HS256 secret")
        self._settings = settings
        self._clock = clock
        self._keys: list[_VerificationKey] = []
        # A JWKS names its keys, so the token's kid picks one; PEM keys are tried in turn.
        self._keys_by_kid = False
        algorithms: set[str] = set()
        if settings.keys_file is not None:
            self._keys, self._keys_by_kid = _load_keys(settings.keys_file)
            algorithms |= _ASYMMETRIC
        if settings.hs256_secret:
            _check_hs256_secret(settings.hs256_secret)
            algorithms.add("HS256")
        self._algorithms = frozenset(algorithms)

    def signed_with_a_private_key(self, token: str) -> bool:
        """Whether the token's header names an algorithm this verifier checks with a public
        key (RS256, ES256), so that only the issuer's private key can make a signature that
        passes. Reads the header alone: says nothing about whether the token is valid."""
        try:
            algorithm, _kid = self._read_header(token)
        except UnauthenticatedError:
            return False
        return algorithm in _ASYMMETRIC

    def verify(self, token: str) -> JwtIdentity:
        """The identity a valid token proves; UnauthenticatedError for anything else."""
        if not looks_like_jwt(token):
            raise UnauthenticatedError("token is malformed")
        algorithm, kid = self._read_header(token)
        claims = self._decode(token, algorithm, self._candidate_keys(algorithm, kid))
        self._check_times(claims)
        return self._identity(claims)

    def _read_header(self, token: str) -> tuple[str, str | None]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UnauthenticatedError("token is malformed") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise UnauthenticatedError("token algorithm not allowed")
        if kid is not None and not isinstance(kid, str):
            raise UnauthenticatedError("token is malformed")
        return algorithm, kid

    def _candidate_keys(self, algorithm: str, kid: str | None) -> list[_PublicKey | str]:
        # The header's alg picks the kind of key, so a public key never serves as an HMAC
        # secret (algorithm confusion) and the HS256 secret never checks RS256 or ES256.
        if algorithm == "HS256":
            return [self._settings.hs256_secret]
        keys = [k for k in self._keys if k.algorithm == algorithm]
        if self._keys_by_kid:
            if kid is not None:
                keys = [k for k in keys if k.kid == kid]
            elif len(keys) != 1:
                keys = []
        if not keys:
            raise UnauthenticatedError("no key matches the token")
        return [k.key for k in keys]

    def _decode(self, token: str, algorithm: str, keys: list[_PublicKey | str]) -> dict[str, Any]:
        for key in keys:
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=self._settings.audience,
                    issuer=self._settings.issuer,
                    options=_DECODE_OPTIONS,
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as error:
                raise UnauthenticatedError(_describe(error)) from None
        raise UnauthenticatedError("token signature invalid")

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock.now().timestamp()
        leeway = self._settings.leeway.total_seconds()
        expires = _numeric_date(claims, "exp")
        if expires is None:
            raise UnauthenticatedError("token lacks the exp claim")
        if expires <= now - leeway:
            raise UnauthenticatedError("token expired")
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and not_before > now + leeway:
            raise UnauthenticatedError("token not yet valid")
        issued = _numeric_date(claims, "iat")
        if issued is not None and issued > now + leeway:
            raise UnauthenticatedError("token issued in the future")
        lifetime = expires - (now if issued is None else issued)
        if lifetime > self._settings.max_lifetime.total_seconds() + leeway:
            raise UnauthenticatedError(
                "token lives longer than the server allows "
                f"({self._settings.max_lifetime.total_seconds():.0f}s)"
            )

    def _identity(self, claims: dict[str, Any]) -> JwtIdentity:
        settings = self._settings
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise UnauthenticatedError("token sub claim must be a non-empty string")
        account_id = _string_claim(claims, settings.account_claim, "account")
        claimed, workspace_ids = _workspaces(claims.get(settings.workspaces_claim))
        return JwtIdentity(
            issuer=settings.issuer,
            subject=subject,
            email=_string_claim(claims, "email", "email"),
            name=_string_claim(claims, "name", "name"),
            account_id=account_id or settings.default_account_id,
            role=_role(claims.get(settings.role_claim)),
            workspaces_claimed=claimed,
            workspace_ids=workspace_ids,
        )


def _describe(error: jwt.PyJWTError) -> str:
    """A short message for a rejected token; PyJWT's own messages are not shown to callers."""
    match error:
        case jwt.InvalidAudienceError():
            return "token audience mismatch"
        case jwt.InvalidIssuerError():
            return "token issuer mismatch"
        case jwt.MissingRequiredClaimError(claim=claim):
            return f"token lacks the {claim} claim"
        case InvalidSubjectError():
            return "token sub claim must be a non-empty string"
        case jwt.InvalidAlgorithmError():
            return "token algorithm not allowed"
        case jwt.DecodeError():
            return "token is malformed"
        case _:
            return "token is invalid"


def _numeric_date(claims: dict[str, Any], claim: str) -> float | None:
    value = claims.get(claim)
    if value is None:
        return None
    # Python's JSON reader accepts NaN and Infinity, and a NaN exp would never expire.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UnauthenticatedError(f"token {claim} claim is not a number")
    return float(value)


def _string_claim(claims: dict[str, Any], claim: str, label: str) -> str:
    value = claims.get(claim)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UnauthenticatedError(f"token {label} claim must be a string")
    return value


def _role(value: object) -> Role | None:
    if value is None:
        return None
    role = role_named(value) if isinstance(value, str) else None
    if role is None:
        shown = repr(value)[:40]
        raise UnauthenticatedError(f"token role claim {shown} is not one of {_ROLE_NAMES}")
    return role


def _workspaces(value: object) -> tuple[bool, frozenset[str] | None]:
    """(claimed, ids) from the workspaces claim: a list of ids, or one string of ids separated
    by spaces or commas; "*" alone means every workspace of the account (None)."""
    if value is None:
        return False, frozenset()
    if isinstance(value, str):
        items: list[str] = re.split(r"[\s,]+", value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise UnauthenticatedError("token workspaces claim must be a list of strings or a string")
    ids = frozenset(item.strip() for item in items if item.strip())
    if "*" not in ids:
        return True, ids
    if len(ids) > 1:
        raise UnauthenticatedError("token workspaces claim mixes '*' with workspace ids")
    return True, None


def _check_hs256_secret(secret: str) -> None:
    try:
        HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(secret)
    except jwt.InvalidKeyError:
        # A public key used as the HMAC secret would let anyone who has it sign tokens.
        raise ValueError(
            "the HS256 secret looks like an asymmetric key; give a random shared secret"
        ) from None


def _load_keys(path: Path) -> tuple[list[_VerificationKey], bool]:
    """The RS256 and ES256 keys in a JWKS or PEM file, and whether they are chosen by kid."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"JWT keys file {path} cannot be read: {error}") from None
    if text.lstrip().startswith("{"):
        keys, by_kid = _load_jwks(path, text), True
    elif "-----BEGIN " in text:
        keys, by_kid = _load_pem(path, text), False
    else:
        raise ValueError(f"JWT keys file {path} is neither a JWKS document nor a PEM file")
    if not keys:
        raise ValueError(f"JWT keys file {path} holds no RS256 or ES256 public key")
    return keys, by_kid


def _load_jwks(path: Path, text: str) -> list[_VerificationKey]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError(f"JWT keys file {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError(f'JWT keys file {path} has no "keys" list')
    for jwk in document["keys"]:
        if isinstance(jwk, dict) and ("d" in jwk or jwk.get("kty") == "oct"):
            raise ValueError(f"JWT keys file {path} holds private or symmetric key material")
    try:
        key_set = jwt.PyJWKSet.from_dict(document)
    except jwt.PyJWTError as error:
        raise ValueError(f"JWT keys file {path} is not a usable JWKS: {error}") from None
    # Identity providers publish mixed sets; keys for encryption or other algorithms are
    # skipped rather than refused.
    return [
        _VerificationKey(jwk.algorithm_name, jwk.key, jwk.key_id)
        for jwk in key_set
        if jwk.public_key_use in (None, "sig") and _algorithm_of(jwk.key) == jwk.algorithm_name
    ]


def _load_pem(path: Path, text: str) -> list[_VerificationKey]:
    keys = []
    for number, block in enumerate(_PEM_BLOCK.finditer(text), start=1):
        label = block.group(1)
        if "PRIVATE" in label:
            raise ValueError(f"JWT keys file {path} holds a private key (PEM block {number})")
        try:
            if label == "CERTIFICATE":
                key: object = x509.load_pem_x509_certificate(block.group().encode()).public_key()
            elif label.endswith("PUBLIC KEY"):
                key = serialization.load_pem_public_key(block.group().encode())
            else:
                raise ValueError(f"unsupported PEM type {label!r}")
        except ValueError as error:
            raise ValueError(f"JWT keys file {path}: PEM block {number}: {error}") from None
        # An operator assembles a PEM file by hand, so a key we cannot use is a mistake.
        algorithm = _algorithm_of(key)
        if algorithm is None or not isinstance(key, _PublicKey):
            raise ValueError(
                f"JWT keys file {path}: PEM block {number} is a {type(key).__name__}; "
                "only RSA and EC P-256 public keys are supported"
            )
        keys.append(_VerificationKey(algorithm, key))
    return keys


def _algorithm_of(key: object) -> str | None:
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    return None
