"""Who may do what: roles, permissions and the authenticated principal."""

import enum
from dataclasses import dataclass


class Role(enum.Enum):
    """Mirrors sundial.v1.Role. What a key or a user may do within its workspaces."""

    UNSPECIFIED = 0
    ADMIN = 1
    EDITOR = 2
    VIEWER = 3
    WORKER = 4


class Permission(enum.Enum):
    """Mirrors sundial.v1.Permission: what an RPC needs (its `sundial.v1.permission`
    option)."""

    UNSPECIFIED = 0
    READ = 1
    WRITE = 2
    WORK = 3
    ADMIN = 4


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.UNSPECIFIED: frozenset(),
    Role.ADMIN: frozenset({Permission.READ, Permission.WRITE, Permission.WORK, Permission.ADMIN}),
    Role.EDITOR: frozenset({Permission.READ, Permission.WRITE, Permission.WORK}),
    Role.VIEWER: frozenset({Permission.READ}),
    # Workers only claim, heartbeat, complete and fail objectives.
    Role.WORKER: frozenset({Permission.WORK}),
}


def role_named(text: str) -> Role | None:
    """`admin`, `ROLE_ADMIN` or `Role.ADMIN`'s name, any case; None for anything else."""
    name = text.strip().upper().removeprefix("ROLE_")
    role = Role.__members__.get(name)
    return None if role is None or role is Role.UNSPECIFIED else role


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a use case: its account and profile, its role, and the
    workspaces it may reach (None: every workspace of its account)."""

    account_id: str
    profile_id: str
    role: Role = Role.UNSPECIFIED
    workspace_ids: frozenset[str] | None = frozenset()

    @property
    def account_wide(self) -> bool:
        return self.workspace_ids is None

    def allows(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def reaches(self, workspace_id: str) -> bool:
        """Whether the grant covers the workspace (its account is checked apart)."""
        return self.workspace_ids is None or workspace_id in self.workspace_ids
