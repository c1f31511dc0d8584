"""Minting JWTs in tests: a TokenIssuer holds an RSA (RS256) and an EC P-256 (ES256) key,
publishes their public halves as a JWKS or PEM file for JwtSettings.keys_file, and signs
tokens for ISSUER and AUDIENCE.

    issuer = TokenIssuer()
    settings = JwtSettings(ISSUER, AUDIENCE, keys_file=issuer.write_jwks(tmp_path))
    token = issuer.mint(now=clock.now(), extra={"sundial_role": "editor"})
"""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://issuer.test/"
AUDIENCE = "sundial-test"
RSA_KID = "rsa-1"
EC_KID = "ec-1"


class TokenIssuer:
    """A test identity provider with one RSA and one EC P-256 signing key."""

    def __init__(self) -> None:
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self._other_keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {}

    def write_jwks(self, directory: Path) -> Path:
        """Writes `jwks.json` (both public keys, kids RSA_KID and EC_KID) and returns its path."""
        keys = [
            {**RSAAlgorithm.to_jwk(self.rsa_key.public_key(), as_dict=True), "kid": RSA_KID},
            {**ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True), "kid": EC_KID},
        ]
        path = directory / "jwks.json"
        path.write_text(json.dumps({"keys": [{**k, "use": "sig"} for k in keys]}))
        return path

    def write_pem(self, directory: Path) -> Path:
        """Writes `keys.pem` (the RSA key as a self-signed X.509 certificate, the EC key as a
        public key) and returns its path."""
        ec_pem = self.ec_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        path = directory / "keys.pem"
        path.write_bytes(self.rsa_certificate_pem() + ec_pem)
        return path

    def rsa_public_pem(self) -> bytes:
        """The RSA public key as PEM bytes."""
        return self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def rsa_certificate_pem(self) -> bytes:
        """A self-signed certificate for the RSA key, as PEM bytes."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.test")])
        start = datetime(2000, 1, 1, tzinfo=UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.rsa_key.public_key())
            .serial_number(1)
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=365 * 100))
            .sign(self.rsa_key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM)

    def claims(
        self,
        *,
        now: datetime,
        subject: str = "user-1",
        issuer: str = ISSUER,
        audience: str | list[str] = AUDIENCE,
        expires_in: timedelta = timedelta(minutes=5),
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """iss, aud, sub, iat and exp, then `extra` (where a None value removes the claim)."""
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int((now + expires_in).timestamp()),
            **(extra or {}),
        }
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self,
        *,
        now: datetime,
        subject: str = "user-1",
        issuer: str = ISSUER,
        audience: str | list[str] = AUDIENCE,
        expires_in: timedelta = timedelta(minutes=5),
        algorithm: str = "RS256",
        kid: bool | str = True,
        extra: dict[str, Any] | None = None,
        sign_with_other_key: bool = False,
    ) -> str:
        """A signed token. `algorithm` RS* uses the RSA key, ES256 the EC key; `kid` True puts
        that key's kid in the header, a string puts that kid, False none; `sign_with_other_key`
        signs with a fresh key of the same type (same kid) that no keys file holds."""
        family = "EC" if algorithm.startswith("ES") else "RSA"
        key = self._other_key(family) if sign_with_other_key else self._key(family)
        headers = {}
        if kid:
            headers["kid"] = (
                kid if isinstance(kid, str) else (EC_KID if family == "EC" else RSA_KID)
            )
        payload = self.claims(
            now=now,
            subject=subject,
            issuer=issuer,
            audience=audience,
            expires_in=expires_in,
            extra=extra,
        )
        return jwt.encode(payload, key, algorithm=algorithm, headers=headers)

    @staticmethod
    def hs256(secret: str | bytes, claims: dict[str, Any]) -> str:
        """An HS256 token over `claims`. Signed here rather than by PyJWT, which refuses
        PEM-shaped secrets, so tests can forge algorithm-confusion tokens too."""
        key = secret.encode() if isinstance(secret, str) else secret
        signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims)}"
        signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_base64url(signature)}"

    def _key(self, family: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
        return self.ec_key if family == "EC" else self.rsa_key

    def _other_key(self, family: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
        if family not in self._other_keys:
            self._other_keys[family] = (
                ec.generate_private_key(ec.SECP256R1())
                if family == "EC"
                else rsa.generate_private_key(public_exponent=65537, key_size=2048)
            )
        return self._other_keys[family]


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token with any header and signature bytes, e.g. `{"alg": "none"}`."""
    return f"{_segment(header)}.{_segment(claims)}.{_base64url(signature)}"


def _segment(value: dict[str, Any]) -> str:
    return _base64url(json.dumps(value, separators=(",", ":")).encode())


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
