"""Accounts, workspaces and profiles: who owns what, and who acted."""

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sundial.domain.metadata import AccountResourceMetadata


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
class Principal:
    """The authenticated caller of a use case: its account and profile."""

    account_id: str
    profile_id: str
