"""Metadata shared by every resource (seed 001's ResourceMetadata and friends)."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MetadataInput:
    """The user-writable metadata fields (CreateResourceMetadata on the wire)."""

    name: str = ""
    bundle_key: str = ""
    external_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResourceMetadata:
    """Identity of a workspace-scoped resource; all but the MetadataInput fields are
    written by the server."""

    id: str = ""
    account_id: str = ""
    workspace_id: str = ""
    profile_id: str = ""
    name: str = ""
    bundle_key: str = ""
    external_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    etag: str = ""


@dataclass(frozen=True, slots=True)
class AccountResourceMetadata:
    """Identity of an account-scoped resource (a profile)."""

    id: str = ""
    account_id: str = ""
    name: str = ""
    profile_id: str = ""
    external_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
