"""Accounts and workspaces. Until authentication lands, every call acts as the bootstrap
account's SYSTEM profile, created on the first start."""

from dataclasses import dataclass

from sundial.domain.clock import Clock
from sundial.domain.errors import InvalidArgumentError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.metadata import AccountResourceMetadata
from sundial.domain.tenancy import Account, Principal, Profile, ProfileSpec, ProfileType, Workspace
from sundial.service.validation import MAX_NAME_LENGTH
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

BOOTSTRAP_ACCOUNT_NAME = "default"
DEFAULT_WORKSPACE_NAME = "default"


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """The bootstrap account, its SYSTEM principal and its first workspace."""

    account: Account
    principal: Principal
    default_workspace: Workspace
    created: bool


class TenancyService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def bootstrap(self) -> Bootstrap:
        """Creates the bootstrap account, SYSTEM profile and default workspace on an empty
        database; returns them either way."""
        with UnitOfWork(self._database, write=True) as uow:
            account = uow.tenancy.first_account()
            if account is not None:
                profile = uow.tenancy.find_profile(account.id, ProfileType.SYSTEM)
                workspaces = uow.tenancy.list_workspaces(account.id)
                if profile is None or not workspaces:
                    raise RuntimeError(
                        f"account {account.id} lacks its SYSTEM profile or workspace"
                    )
                principal = Principal(account.id, profile.metadata.id)
                return Bootstrap(account, principal, workspaces[0], created=False)
            now = self._clock.now()
            account = Account(new_id(IdPrefix.ACCOUNT), BOOTSTRAP_ACCOUNT_NAME, now)
            profile_id = new_id(IdPrefix.PROFILE)
            profile = Profile(
                metadata=AccountResourceMetadata(
                    id=profile_id,
                    account_id=account.id,
                    name="system",
                    profile_id=profile_id,
                    created_at=now,
                ),
                spec=ProfileSpec(type=ProfileType.SYSTEM, name="Sundial"),
            )
            workspace = Workspace(
                new_id(IdPrefix.WORKSPACE), account.id, DEFAULT_WORKSPACE_NAME, now
            )
            uow.tenancy.add_account(account)
            uow.session.flush()
            uow.tenancy.add_profile(profile)
            uow.tenancy.add_workspace(workspace)
            uow.commit()
            return Bootstrap(account, Principal(account.id, profile_id), workspace, created=True)

    def create_workspace(self, principal: Principal, name: str) -> Workspace:
        if not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise InvalidArgumentError.single(
                "name", f"workspace name must be 1-{MAX_NAME_LENGTH} characters"
            )
        workspace = Workspace(
            new_id(IdPrefix.WORKSPACE), principal.account_id, name, self._clock.now()
        )
        with UnitOfWork(self._database, write=True) as uow:
            uow.tenancy.add_workspace(workspace)
            uow.commit()
        return workspace


def require_workspace(uow: UnitOfWork, principal: Principal, workspace_id: str) -> Workspace:
    """The workspace, if it exists in the principal's account; NOT_FOUND otherwise."""
    workspace = (
        uow.tenancy.get_workspace(principal.account_id, workspace_id) if workspace_id else None
    )
    if workspace is None:
        raise NotFoundError("workspace", workspace_id)
    return workspace
