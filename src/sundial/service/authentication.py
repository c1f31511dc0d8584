"""Who is calling: API keys and JWTs turned into a Principal (service.authorization then
decides whether it may make the call).

Secrets are never stored or compared: an API key is found by the SHA-256 digest of the
secret the caller sent, and the stored digest is then checked with `hmac.compare_digest`.
Lookups are cached for `cache_ttl`. A revoked key stops working at once in the process
that revoked it, and on other replicas as soon as the news reaches them (PostgreSQL NOTIFY;
within `cache_ttl` at the latest, on SQLite or if a notification is lost)."""

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from cachetools import TTLCache

from sundial.domain.clock import Clock
from sundial.domain.errors import (
    UnauthenticatedError,
)
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.metadata import AccountResourceMetadata
from sundial.domain.principals import Principal
from sundial.domain.tenancy import ApiKey, Profile, ProfileSpec, ProfileType
from sundial.service.tokens import JwtIdentity, JwtVerifier, looks_like_jwt
from sundial.store.database import Database
from sundial.store.duplicate_keys import DuplicateKeyError
from sundial.store.unit_of_work import UnitOfWork

T = TypeVar("T")

SECRET_PREFIX = "sdl_"
# A secret chosen by an operator (SUNDIAL_BOOTSTRAP_API_KEY) must be at least this long.
MIN_SECRET_LENGTH = 24
MAX_SECRET_LENGTH = 512
DEFAULT_CACHE_TTL = timedelta(seconds=10)
_CACHE_LIMIT = 100_000
# What new_secret makes: the prefix and 32 random bytes in base64url, 43 characters.
_GENERATED_SECRET = re.compile(re.escape(SECRET_PREFIX) + r"[A-Za-z0-9_-]{43}")


def new_secret() -> str:
    """A fresh API key secret: 256 random bits."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_hint(secret: str) -> str:
    """The last four characters, enough to tell keys apart and useless to an attacker."""
    return secret[-4:]


class _TtlCache(Generic[T]):
    """A thread-safe cachetools.TTLCache whose entries live `ttl` on the service's clock
    (least recently used ones go first past the size limit)."""

    def __init__(self, clock: Clock, ttl: timedelta) -> None:
        self._entries: TTLCache[str, T] = TTLCache(
            maxsize=_CACHE_LIMIT, ttl=ttl.total_seconds(), timer=lambda: clock.now().timestamp()
        )
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], T]) -> T:
        with self._lock:
            try:
                return self._entries[key]
            except KeyError:
                pass
        value = load()  # outside the lock: a load reads the database
        with self._lock:
            self._entries[key] = value
        return value

    def discard_if(self, predicate: Callable[[T], bool]) -> None:
        with self._lock:
            for key in [k for k, v in self._entries.items() if predicate(v)]:
                del self._entries[key]


@dataclass(frozen=True, slots=True)
class _StoredKey:
    key: ApiKey
    secret_hash: str
    # What the key authenticates as, made once per load rather than on every call.
    principal: Principal = field(init=False)

    def __post_init__(self) -> None:
        key = self.key
        workspaces = frozenset(key.spec.workspace_ids) or None
        principal = Principal(
            key.metadata.account_id, key.info.key_profile_id, key.spec.role, workspaces
        )
        object.__setattr__(self, "principal", principal)


class Authenticator:
    """Turns an `authorization` header into a Principal, or raises UNAUTHENTICATED."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        jwt: JwtVerifier | None = None,
        cache_ttl: timedelta = DEFAULT_CACHE_TTL,
    ) -> None:
        self._database = database
        self._clock = clock
        self._jwt = jwt
        self._keys: _TtlCache[_StoredKey | None] = _TtlCache(clock, cache_ttl)
        self._users: _TtlCache[Profile] = _TtlCache(clock, cache_ttl)

    def authenticate(self, authorization: str) -> Principal:
        token = _bearer_token(authorization)
        if not token:
            raise UnauthenticatedError(
                "missing or malformed credentials: send 'authorization: Bearer <API key or JWT>'"
            )
        if looks_like_jwt(token):
            if self._jwt is None:
                raise UnauthenticatedError("JWT sign-in is not configured on this server")
            return self._principal_of_token(self._jwt.verify(token))
        return self._principal_of_key(token)

    def unguessable(self, authorization: str) -> bool:
        """Whether the credential is of a kind no one can guess: a secret Sundial generated
        (256 random bits) or a JWT signed with the issuer's private key (RS256, ES256). Not a
        secret an operator chose (SUNDIAL_BOOTSTRAP_API_KEY) nor an HS256 token, whose
        secrets may be weak for all Sundial knows. Reads the shape alone: says nothing about
        whether the credential is valid."""
        token = _bearer_token(authorization)
        if looks_like_jwt(token):
            return self._jwt is not None and self._jwt.signed_with_a_private_key(token)
        return _GENERATED_SECRET.fullmatch(token) is not None

    def forget(self, resource_id: str) -> None:
        """Drops a revoked key (`key_…`) or a user whose grants changed (`prof_…`) from the
        caches, here or on another replica, so that the next call reads it anew."""
        self.forget_key(resource_id)
        self.forget_profile(resource_id)

    def forget_key(self, key_id: str) -> None:
        """Drops a key from the cache (it was revoked), so the next call reads it anew."""
        self._keys.discard_if(
            lambda stored: stored is not None and stored.key.metadata.id == key_id
        )

    def forget_profile(self, profile_id: str) -> None:
        """Drops a signed-in user from the cache (its grants changed)."""
        self._users.discard_if(lambda profile: profile.metadata.id == profile_id)

    def _principal_of_key(self, secret: str) -> Principal:
        digest = hash_secret(secret)
        stored = self._keys.get(digest, lambda: self._load_key(digest))
        if stored is None or not hmac.compare_digest(stored.secret_hash, digest):
            raise UnauthenticatedError("the API key is not valid")
        key = stored.key
        if key.info.revoke_time is not None:
            raise UnauthenticatedError("the API key was revoked")
        if key.spec.expire_time is not None and key.spec.expire_time <= self._clock.now():
            raise UnauthenticatedError("the API key has expired")
        return stored.principal

    def _load_key(self, digest: str) -> _StoredKey | None:
        with UnitOfWork(self._database, write=False) as uow:
            found = uow.tenancy.find_api_key(digest)
        return None if found is None else _StoredKey(*found)

    def _principal_of_token(self, identity: JwtIdentity) -> Principal:
        if not identity.account_id:
            raise UnauthenticatedError("the token names no account")
        cache_key = f"{identity.account_id}\x1f{identity.subject}"
        profile = self._users.get(cache_key, lambda: self._user_profile(identity))
        role = identity.role or profile.spec.role
        if identity.workspaces_claimed:
            workspaces = identity.workspace_ids
        else:
            workspaces = frozenset(profile.spec.workspace_ids) or None
        return Principal(identity.account_id, profile.metadata.id, role, workspaces)

    def _user_profile(self, identity: JwtIdentity) -> Profile:
        """The USER profile of the token's subject, created on first sight (or bound to the
        profile an admin created ahead for its email)."""
        for _attempt in range(2):
            with UnitOfWork(self._database, write=True) as uow:
                if uow.tenancy.get_account(identity.account_id) is None:
                    raise UnauthenticatedError("the token's account does not exist")
                found = uow.tenancy.find_user(identity.account_id, external_id=identity.subject)
                if found is not None:
                    return found
                email = identity.email.strip().lower()
                invited = uow.tenancy.find_user(identity.account_id, email=email) if email else None
                if invited is not None:
                    profile = _with_subject(invited, identity.subject)
                    uow.tenancy.save_profile(profile)
                else:
                    profile = _new_user(identity, self._clock.now())
                    uow.tenancy.add_profile(profile)
                try:
                    uow.commit()
                except DuplicateKeyError:
                    continue  # a concurrent first call made it: read it on the next attempt
                return profile
        raise UnauthenticatedError("could not sign the token's user in; retry")


def _bearer_token(authorization: str) -> str:
    """The token of `Bearer <token>`; empty for any other scheme or none."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _with_subject(profile: Profile, subject: str) -> Profile:
    return replace(profile, metadata=replace(profile.metadata, external_id=subject))


def _new_user(identity: JwtIdentity, now: datetime) -> Profile:
    profile_id = new_id(IdPrefix.PROFILE)
    name = (identity.name or identity.email or identity.subject)[:256]
    # No grants until an admin gives some or the token's claims carry them.
    spec = ProfileSpec(type=ProfileType.USER, email=identity.email.strip().lower(), name=name)
    return Profile(
        metadata=AccountResourceMetadata(
            id=profile_id,
            account_id=identity.account_id,
            name=name,
            profile_id=profile_id,
            external_id=identity.subject,
            created_at=now,
        ),
        spec=spec,
    )
