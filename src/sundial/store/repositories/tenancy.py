"""Accounts, workspaces and profiles."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from sundial.domain.metadata import AccountResourceMetadata
from sundial.domain.tenancy import Account, Profile, ProfileSpec, ProfileType, Workspace
from sundial.store.models import AccountRow, ProfileRow, WorkspaceRow


class TenancyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def first_account(self) -> Account | None:
        row = self._session.scalars(select(AccountRow).order_by(AccountRow.id).limit(1)).first()
        return None if row is None else Account(row.id, row.name, row.created_at)

    def add_account(self, account: Account) -> None:
        self._session.add(
            AccountRow(id=account.id, name=account.name, created_at=account.created_at)
        )

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
        return Workspace(row.id, row.account_id, row.name, row.created_at)

    def list_workspaces(self, account_id: str) -> list[Workspace]:
        rows = self._session.scalars(
            select(WorkspaceRow)
            .where(WorkspaceRow.account_id == account_id)
            .order_by(WorkspaceRow.id)
        )
        return [Workspace(r.id, r.account_id, r.name, r.created_at) for r in rows]

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
            )
        )

    def find_profile(self, account_id: str, profile_type: ProfileType) -> Profile | None:
        row = self._session.scalars(
            select(ProfileRow)
            .where(ProfileRow.account_id == account_id, ProfileRow.type == profile_type.name)
            .order_by(ProfileRow.id)
            .limit(1)
        ).first()
        return None if row is None else profile_of(row)


def profile_of(row: ProfileRow) -> Profile:
    return Profile(
        metadata=AccountResourceMetadata(
            id=row.id,
            account_id=row.account_id,
            name=row.name,
            profile_id=row.created_by_profile_id,
            external_id=row.external_id,
            labels=dict(row.labels),
            created_at=row.created_at,
        ),
        spec=ProfileSpec(type=ProfileType[row.type], email=row.email, name=row.name),
    )
