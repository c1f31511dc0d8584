"""Whether a principal may make a call: the workspace or account it names must be in the
principal's reach, and the role must grant the permission."""

import threading

from cachetools import LRUCache

from sundial.domain.errors import (
    InvalidArgumentError,
    PermissionDeniedError,
)
from sundial.domain.principals import Permission, Principal, Role
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

# Workspace ids kept in memory at most.
_CACHE_LIMIT = 100_000


class WorkspaceDirectory:
    """Which account owns a workspace: the process's one workspace-to-account cache. An
    entry never goes stale, as a workspace never changes account and is never deleted."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._accounts: LRUCache[str, str] = LRUCache(maxsize=_CACHE_LIMIT)
        # cachetools' caches are not thread-safe alone.
        self._lock = threading.Lock()

    def account_of(self, workspace_id: str) -> str | None:
        with self._lock:
            account_id = self._accounts.get(workspace_id)
        if account_id is not None:
            return account_id
        with UnitOfWork(self._database, write=False) as uow:
            account_id = uow.tenancy.account_of_workspace(workspace_id)
        if account_id is not None:
            with self._lock:
                self._accounts[workspace_id] = account_id
        return account_id


class Authorizer:
    """Checks a principal against what an RPC needs, before anything is looked up.

    An RPC that names a workspace needs the workspace in the principal's account and grant;
    one that names only an account (the admin API) needs that account and an account-wide
    principal. A workspace or account the principal cannot reach is PERMISSION_DENIED whether
    or not it exists, so no answer tells another tenant's ids from made-up ones."""

    def __init__(self, workspaces: WorkspaceDirectory) -> None:
        self._workspaces = workspaces

    def authorize(
        self,
        principal: Principal,
        permission: Permission,
        *,
        account_id: str | None = None,
        workspace_id: str | None = None,
    ) -> None:
        if permission is Permission.UNSPECIFIED:
            raise PermissionDeniedError("this method has no permission declared; it is refused")
        if not principal.allows(permission):
            raise PermissionDeniedError(
                f"the {_role_name(principal.role)} role lacks the "
                f"{permission.name.lower()} permission this method needs"
            )
        if account_id is not None:
            if not account_id:
                raise InvalidArgumentError.single("account_id", "account_id is required")
            if account_id != principal.account_id:
                raise _denied("account", account_id)
        if workspace_id is not None:
            if not workspace_id:
                raise InvalidArgumentError.single("workspace_id", "workspace_id is required")
            if (
                not principal.reaches(workspace_id)
                or self._workspaces.account_of(workspace_id) != principal.account_id
            ):
                raise _denied("workspace", workspace_id)
        elif account_id is not None and not principal.account_wide:
            raise PermissionDeniedError(
                "this method needs a key or user that reaches every workspace of the account"
            )


def _denied(kind: str, resource_id: str) -> PermissionDeniedError:
    return PermissionDeniedError(
        f"permission denied on {kind} {resource_id!r} (or it does not exist)"
    )


def _role_name(role: Role) -> str:
    return "unset" if role is Role.UNSPECIFIED else role.name.lower()
