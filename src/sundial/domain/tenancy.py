"""Accounts, workspaces and profiles: who owns what, and who acted."""

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sundial.domain.metadata import AccountResourceMetadata
from sundial.domain.principals import Role


class ProfileType(enum.Enum):
    """Mirrors sundial.v1.ProfileType."""

    UNSPECIFIED = 0
    USER = 1
    API_KEY = 2
    SYSTEM = 3


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    type: ProfileType = ProfileType.UNSPECIFIED
    email: str = ""
    name: str = ""
    # A user's grants when its token carries none: no role means no access; no workspaces
    # means every workspace of the account.
    role: Role = Role.UNSPECIFIED
    workspace_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """A user or non-human principal of an account."""

    metadata: AccountResourceMetadata = field(default_factory=AccountResourceMetadata)
    spec: ProfileSpec = field(default_factory=ProfileSpec)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    account_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeySpec:
    role: Role = Role.UNSPECIFIED
    # Empty: every workspace of the account.
    workspace_ids: tuple[str, ...] = ()
    expire_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    # Only in the answer to CreateApiKey; never stored.
    secret: str = ""
    secret_hint: str = ""
    key_profile_id: str = ""
    revoke_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key; metadata.profile_id is the profile that created it, info.key_profile_id
    the API_KEY profile it acts as."""

    metadata: AccountResourceMetadata = field(default_factory=AccountResourceMetadata)
    spec: ApiKeySpec = field(default_factory=ApiKeySpec)
    info: ApiKeyInfo = field(default_factory=ApiKeyInfo)
