"""Update semantics shared by every resource: etags and AIP-134 masks over the writable
part of a resource (its user metadata and its spec)."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sundial.domain.errors import EtagMismatchError
from sundial.domain.metadata import MetadataInput, ResourceMetadata
from sundial.domain.principals import Principal
from sundial.service.field_masks import WILDCARD, apply_paths, check_paths, populated_paths

S = TypeVar("S")

# Paths a client may send but that name output-only fields: ignored (AIP-134, AIP-203).
_OUTPUT_ONLY_PREFIXES = (
    "info.",
    "metadata.id",
    "metadata.account_id",
    "metadata.workspace_id",
    "metadata.profile_id",
    "metadata.created_at",
    "metadata.updated_at",
    "metadata.etag",
)


@dataclass(frozen=True, slots=True)
class Writable(Generic[S]):
    """What an Update may change."""

    metadata: MetadataInput
    spec: S

    @staticmethod
    def of(metadata: ResourceMetadata, spec: Any) -> "Writable[Any]":
        return Writable(
            MetadataInput(
                name=metadata.name,
                bundle_key=metadata.bundle_key,
                external_id=metadata.external_id,
                labels=dict(metadata.labels),
            ),
            spec,
        )

    def apply_to(self, metadata: ResourceMetadata, now: datetime) -> ResourceMetadata:
        return replace(
            metadata,
            name=self.metadata.name,
            bundle_key=self.metadata.bundle_key,
            external_id=self.metadata.external_id,
            labels=dict(self.metadata.labels),
            updated_at=now,
        )


def new_metadata(
    principal: Principal,
    workspace_id: str,
    resource_id: str,
    metadata: MetadataInput,
    now: datetime,
) -> ResourceMetadata:
    """The metadata of a resource being created; without an id (validate_only) it has no
    timestamps either, since nothing is written."""
    moment = now if resource_id else None
    return ResourceMetadata(
        id=resource_id,
        account_id=principal.account_id,
        workspace_id=workspace_id,
        profile_id=principal.profile_id,
        name=metadata.name,
        bundle_key=metadata.bundle_key,
        external_id=metadata.external_id,
        labels=dict(metadata.labels),
        created_at=moment,
        updated_at=moment,
    )


def merge_update(
    current: Writable[S], patch: Writable[S], update_mask: list[str] | None
) -> Writable[S]:
    """`current` changed as the mask says: no mask means every populated field of the patch;
    `*` replaces metadata and spec entirely."""
    if not update_mask:
        paths = populated_paths(patch)
    elif update_mask == [WILDCARD]:
        paths = ["metadata", "spec"]
    else:
        paths = check_paths(current, update_mask, ignored_prefixes=_OUTPUT_ONLY_PREFIXES)
    return apply_paths(current, patch, paths)


def check_etag(metadata: ResourceMetadata, etag: str) -> None:
    """ABORTED unless `etag` is empty or the resource's current etag."""
    if etag and etag != metadata.etag:
        raise EtagMismatchError(metadata.id, etag)
