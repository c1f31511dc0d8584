"""The admin API's profile use cases (users and their grants), and what API keys share with
them: workspace grants and account-wide pages. Every call here comes from an account-wide
admin of `principal.account_id` (the authorizer checked)."""

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from sundial.domain.clock import Clock
from sundial.domain.errors import AlreadyExistsError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import Page
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal, Role
from sundial.domain.tenancy import ApiKey, Profile, ProfileSpec, ProfileType
from sundial.service.idempotency import (
    RequestKey,
    create_or_replay,
    find_replay,
    record_request,
    request_key,
)
from sundial.service.pagination import (
    PageRequest,
    decode_page_token,
    effective_page_size,
    encode_page_token,
    query_fingerprint,
)
from sundial.service.tenancy import new_profile
from sundial.service.updates import Writable, merge_update
from sundial.service.validation import Violations, check_metadata, check_request_id
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

T = TypeVar("T", Profile, ApiKey)

MAX_EMAIL_LENGTH = 320
MAX_WORKSPACE_GRANTS = 100
# What UpdateProfile may change.
_PROFILE_PATHS = (
    "metadata.name",
    "metadata.labels",
    "spec.name",
    "spec.role",
    "spec.workspace_ids",
)


def account_page(
    principal: Principal,
    kind: str,
    request: PageRequest,
    fetch: Callable[[UnitOfWork, str, int], list[T]],
    database: Database,
) -> Page[T]:
    """One page of the caller's account's profiles or keys, as `fetch` reads them."""
    limit = effective_page_size(request.page_size)
    query = query_fingerprint(kind, principal.account_id)
    after_id = decode_page_token(request.page_token, query)
    with UnitOfWork(database, write=False) as uow:
        rows = fetch(uow, after_id, limit)
    items = rows[:limit]
    token = encode_page_token(items[-1].metadata.id, query) if len(rows) > limit else ""
    return Page(items, token)


def check_grants(
    violations: Violations,
    uow: UnitOfWork,
    principal: Principal,
    role: Role,
    workspace_ids: Sequence[str],
    *,
    field_prefix: str,
    role_required: bool,
) -> None:
    """Adds a violation for a missing role and for each grant that is no workspace of the
    caller's account."""
    if role_required and role is Role.UNSPECIFIED:
        violations.add(f"{field_prefix}.role", "role is required: admin, editor, viewer or worker")
    if len(workspace_ids) > MAX_WORKSPACE_GRANTS:
        violations.add(
            f"{field_prefix}.workspace_ids", f"at most {MAX_WORKSPACE_GRANTS} workspaces"
        )
        return
    for index, workspace_id in enumerate(workspace_ids):
        if uow.tenancy.get_workspace(principal.account_id, workspace_id) is None:
            violations.add(
                f"{field_prefix}.workspace_ids[{index}]",
                f"workspace {workspace_id!r} is not a workspace of this account",
            )


class ProfileService:
    def __init__(
        self, database: Database, clock: Clock, *, on_changed: Callable[[str], None]
    ) -> None:
        self._database = database
        self._clock = clock
        # Told the id of every profile whose grants change, so cached sign-ins drop it.
        self._on_changed = on_changed

    def create(
        self,
        principal: Principal,
        metadata: MetadataInput,
        spec: ProfileSpec,
        *,
        request_id: str = "",
    ) -> Profile:
        violations = Violations()
        check_metadata(violations, metadata)
        check_request_id(violations, request_id)
        if spec.type not in (ProfileType.USER, ProfileType.UNSPECIFIED):
            violations.add(
                "spec.type", "only USER profiles can be created; API keys make their own"
            )
        email = spec.email.strip().lower()
        if "@" not in email or len(email) > MAX_EMAIL_LENGTH:
            violations.add("spec.email", "a user profile needs a valid email address")
        with UnitOfWork(self._database, write=False) as uow:
            check_grants(
                violations,
                uow,
                principal,
                spec.role,
                spec.workspace_ids,
                field_prefix="spec",
                role_required=False,
            )
        violations.raise_if_any()

        profile = new_profile(
            principal,
            new_id(IdPrefix.PROFILE),
            replace(metadata, bundle_key="", external_id=""),
            replace(spec, type=ProfileType.USER, email=email, name=metadata.name),
            self._clock.now(),
        )
        key = request_key(principal.account_id, "CreateProfile", request_id, metadata, spec)
        return create_or_replay(key, lambda: self._create_once(principal, key, profile))

    def _create_once(self, principal: Principal, key: RequestKey, profile: Profile) -> Profile:
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                return _require_profile(uow, principal, replayed_id)
            email = profile.spec.email
            if uow.tenancy.user_with_email(principal.account_id, email):
                raise AlreadyExistsError(f"a user profile with email {email!r} already exists")
            uow.tenancy.add_profile(profile)
            record_request(uow, self._clock, key, profile.metadata.id)
            # Answered as a Get will read it.
            created = _require_profile(uow, principal, profile.metadata.id)
            uow.commit()
        return created

    def get(self, principal: Principal, profile_id: str) -> Profile:
        with UnitOfWork(self._database, write=False) as uow:
            return _require_profile(uow, principal, profile_id)

    def list_profiles(self, principal: Principal, request: PageRequest) -> Page[Profile]:
        return account_page(
            principal,
            "profiles",
            request,
            lambda uow, after, limit: uow.tenancy.list_profiles(
                principal.account_id, after_id=after, limit=limit
            ),
            self._database,
        )

    def update(
        self,
        principal: Principal,
        profile_id: str,
        metadata: MetadataInput,
        spec: ProfileSpec,
        *,
        update_mask: list[str] | None,
    ) -> Profile:
        with UnitOfWork(self._database, write=True) as uow:
            current = _require_profile(uow, principal, profile_id)
            meta = current.metadata
            before: Writable[ProfileSpec] = Writable(
                MetadataInput(name=meta.name, labels=dict(meta.labels)), current.spec
            )
            after = merge_update(before, Writable(metadata, spec), update_mask)
            changed = _changed_paths(before, after)
            violations = Violations()
            for path in changed:
                if path not in _PROFILE_PATHS:
                    violations.add(path, f"{path} cannot be changed")
            if current.spec.type is not ProfileType.USER and (
                "spec.role" in changed or "spec.workspace_ids" in changed
            ):
                violations.add("spec.role", "only USER profiles hold grants; change the key")
            check_metadata(violations, after.metadata)
            check_grants(
                violations,
                uow,
                principal,
                after.spec.role,
                after.spec.workspace_ids,
                field_prefix="spec",
                role_required=False,
            )
            violations.raise_if_any()
            name = after.spec.name if "spec.name" in changed else after.metadata.name
            updated = Profile(
                metadata=replace(meta, name=name, labels=dict(after.metadata.labels)),
                spec=replace(after.spec, name=name),
            )
            uow.tenancy.save_profile(updated)
            uow.commit()
        self._on_changed(profile_id)
        return updated


def _changed_paths(before: Writable[ProfileSpec], after: Writable[ProfileSpec]) -> list[str]:
    paths = []
    for name in ("name", "bundle_key", "external_id", "labels"):
        if getattr(before.metadata, name) != getattr(after.metadata, name):
            paths.append(f"metadata.{name}")
    for name in ("type", "email", "name", "role", "workspace_ids"):
        if getattr(before.spec, name) != getattr(after.spec, name):
            paths.append(f"spec.{name}")
    return paths


def _require_profile(uow: UnitOfWork, principal: Principal, profile_id: str) -> Profile:
    profile = uow.tenancy.get_profile(principal.account_id, profile_id)
    if profile is None:
        raise NotFoundError("profile", profile_id)
    return profile
