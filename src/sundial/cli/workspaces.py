"""`sundial workspaces list|get|create` (sundial.v1.WorkspaceService)."""

import click

from sundial.cli.errors import SundialGroup
from sundial.cli.output import field_column, print_one
from sundial.cli.resource_commands import ResourceKind, add_get, add_list, in_account
from sundial.cli.session import Session, client_command

COLUMNS = (
    field_column("ID", "id"),
    field_column("NAME", "name"),
    field_column("CREATED", "createdAt"),
)


@click.group("workspaces", cls=SundialGroup)
def workspaces() -> None:
    """The workspaces of the account."""


WORKSPACE = ResourceKind("WorkspaceService", "Workspace", "workspace_id", COLUMNS, scope=in_account)
add_list(workspaces, WORKSPACE, "The account's workspaces.")
add_get(workspaces, WORKSPACE, "One workspace.")


@workspaces.command("create")
@click.argument("name")
@client_command
def create_workspace(session: Session, name: str) -> int:
    """A new workspace (an admin key's job)."""
    request = {"accountId": session.account_id(), "workspace": {"name": name}}
    print_one(session.output, session.call("WorkspaceService.CreateWorkspace", request), COLUMNS)
    return 0
