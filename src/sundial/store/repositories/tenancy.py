"""Accounts, workspaces, profiles and API keys."""

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from sundial.domain.metadata import AccountResourceMetadata
from sundial.domain.principals import Role
from sundial.domain.tenancy import (
    Account,
    ApiKey,
    ApiKeyInfo,
    ApiKeySpec,
    Profile,
    ProfileSpec,
    ProfileType,
    Workspace,
)
from sundial.store.models import AccountRow, ApiKeyRow, ProfileRow, WorkspaceRow

S = TypeVar("S", bound=Select[Any])


class TenancyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # --- accounts ---

    def first_account(self) -> Account | None:
        row = self._session.scalars(select(AccountRow).order_by(AccountRow.id).limit(1)).first()
        return None if row is None else _account_of(row)

    def get_account(self, account_id: str) -> Account | None:
        row = self._session.get(AccountRow, account_id)
        return None if row is None else _account_of(row)

    def list_accounts(self) -> list[Account]:
        return [_account_of(r) for r in self._session.scalars(select(AccountRow).order_by("id"))]

    def add_account(self, account: Account) -> None:
        self._session.add(
            AccountRow(id=account.id, name=account.name, created_at=account.created_at)
        )

    # --- workspaces ---

    def add_workspace(self, workspace: Workspace) -> None:
        self._session.add(
            WorkspaceRow(
                id=workspace.id,
                account_id=workspace.account_id,
                name=workspace.name,
                created_at=workspace.created_at,
            )
        )

    def get_workspace(self, account_id: str, workspace_id: str) -> Workspace | None:
        row = self._session.get(WorkspaceRow, workspace_id)
        if row is None or row.account_id != account_id:
            return None
        return _workspace_of(row)

    def account_of_workspace(self, workspace_id: str) -> str | None:
        return self._session.scalar(
            select(WorkspaceRow.account_id).where(WorkspaceRow.id == workspace_id)
        )

    def list_workspaces(
        self, account_id: str, *, after_id: str = "", limit: int | None = None
    ) -> list[Workspace]:
        statement = select(WorkspaceRow).where(WorkspaceRow.account_id == account_id)
        rows = self._session.scalars(_keyset(statement, WorkspaceRow, after_id, limit))
        return [_workspace_of(r) for r in rows]

    # --- profiles ---

    def add_profile(self, profile: Profile) -> None:
        meta = profile.metadata
        self._session.add(
            ProfileRow(
                id=meta.id,
                account_id=meta.account_id,
                type=profile.spec.type.name,
                name=meta.name,
                email=profile.spec.email,
                external_id=meta.external_id,
                labels=dict(meta.labels),
                created_by_profile_id=meta.profile_id,
                created_at=meta.created_at,
                role=profile.spec.role.name,
                workspace_ids=list(profile.spec.workspace_ids),
            )
        )

    def get_profile(self, account_id: str, profile_id: str) -> Profile | None:
        row = self._session.get(ProfileRow, profile_id)
        return None if row is None or row.account_id != account_id else profile_of(row)

    def find_profile(self, account_id: str, profile_type: ProfileType) -> Profile | None:
        row = self._session.scalars(
            select(ProfileRow)
            .where(ProfileRow.account_id == account_id, ProfileRow.type == profile_type.name)
            .order_by(ProfileRow.id)
            .limit(1)
        ).first()
        return None if row is None else profile_of(row)

    def find_user(
        self, account_id: str, *, external_id: str = "", email: str = ""
    ) -> Profile | None:
        """The USER profile with this token subject, or (with `email`) the one created ahead
        of its first sign-in, which has no subject yet."""
        statement = select(ProfileRow).where(
            ProfileRow.account_id == account_id, ProfileRow.type == ProfileType.USER.name
        )
        if external_id:
            statement = statement.where(ProfileRow.external_id == external_id)
        else:
            statement = statement.where(ProfileRow.email == email, ProfileRow.external_id == "")
        row = self._session.scalars(statement.order_by(ProfileRow.id).limit(1)).first()
        return None if row is None else profile_of(row)

    def user_with_email(self, account_id: str, email: str) -> bool:
        statement = select(ProfileRow.id).where(
            ProfileRow.account_id == account_id,
            ProfileRow.type == ProfileType.USER.name,
            ProfileRow.email == email,
        )
        return self._session.scalar(statement.limit(1)) is not None

    def save_profile(self, profile: Profile) -> None:
        """Writes what can change: name, external id, labels, email and grants."""
        row = self._session.get(ProfileRow, profile.metadata.id)
        if row is None:
            raise LookupError(profile.metadata.id)
        row.name = profile.metadata.name
        row.external_id = profile.metadata.external_id
        row.labels = dict(profile.metadata.labels)
        row.email = profile.spec.email
        row.role = profile.spec.role.name
        row.workspace_ids = list(profile.spec.workspace_ids)

    def list_profiles(self, account_id: str, *, after_id: str, limit: int) -> list[Profile]:
        statement = select(ProfileRow).where(ProfileRow.account_id == account_id)
        rows = self._session.scalars(_keyset(statement, ProfileRow, after_id, limit))
        return [profile_of(r) for r in rows]

    # --- API keys ---

    def add_api_key(self, key: ApiKey, secret_hash: str) -> None:
        meta = key.metadata
        self._session.add(
            ApiKeyRow(
                id=meta.id,
                account_id=meta.account_id,
                profile_id=key.info.key_profile_id,
                name=meta.name,
                external_id=meta.external_id,
                labels=dict(meta.labels),
                created_by_profile_id=meta.profile_id,
                role=key.spec.role.name,
                workspace_ids=list(key.spec.workspace_ids),
                secret_hash=secret_hash,
                secret_hint=key.info.secret_hint,
                created_at=meta.created_at,
                expire_time=key.spec.expire_time,
                revoke_time=None,
            )
        )

    def get_api_key(self, account_id: str, key_id: str) -> ApiKey | None:
        row = self._session.get(ApiKeyRow, key_id)
        return None if row is None or row.account_id != account_id else _api_key_of(row)

    def find_api_key(self, secret_hash: str) -> tuple[ApiKey, str] | None:
        """The key whose secret has this SHA-256 digest, with the stored digest."""
        row = self._session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.secret_hash == secret_hash)
        ).first()
        return None if row is None else (_api_key_of(row), row.secret_hash)

    def list_api_keys(self, account_id: str, *, after_id: str, limit: int) -> list[ApiKey]:
        statement = select(ApiKeyRow).where(ApiKeyRow.account_id == account_id)
        rows = self._session.scalars(_keyset(statement, ApiKeyRow, after_id, limit))
        return [_api_key_of(r) for r in rows]

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        self._session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoke_time.is_(None))
            .values(revoke_time=at)
        )


def _keyset(
    statement: S,
    model: type[WorkspaceRow] | type[ProfileRow] | type[ApiKeyRow],
    after_id: str,
    limit: int | None,
) -> S:
    """Oldest first, after `after_id`, one more row than `limit` to tell a next page."""
    if after_id:
        statement = statement.where(model.id > after_id)
    statement = statement.order_by(model.id)
    return statement if limit is None else statement.limit(limit + 1)


def _account_of(row: AccountRow) -> Account:
    return Account(row.id, row.name, row.created_at)


def _workspace_of(row: WorkspaceRow) -> Workspace:
    return Workspace(row.id, row.account_id, row.name, row.created_at)


def _metadata_of(row: ProfileRow | ApiKeyRow) -> AccountResourceMetadata:
    return AccountResourceMetadata(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        profile_id=row.created_by_profile_id,
        external_id=row.external_id,
        labels=dict(row.labels),
        created_at=row.created_at,
    )


def profile_of(row: ProfileRow) -> Profile:
    return Profile(
        metadata=_metadata_of(row),
        spec=ProfileSpec(
            type=ProfileType[row.type],
            email=row.email,
            name=row.name,
            role=Role[row.role],
            workspace_ids=tuple(row.workspace_ids),
        ),
    )


def _api_key_of(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        metadata=_metadata_of(row),
        spec=ApiKeySpec(
            role=Role[row.role],
            workspace_ids=tuple(row.workspace_ids),
            expire_time=row.expire_time,
        ),
        info=ApiKeyInfo(
            secret_hint=row.secret_hint,
            key_profile_id=row.profile_id,
            revoke_time=row.revoke_time,
        ),
    )
