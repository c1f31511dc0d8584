"""`sundial workspaces list|get|create` (sundial.v1.WorkspaceService)."""

import click

from sundial.cli.errors import SundialGroup
from sundial.cli.listing import list_options, list_resources
from sundial.cli.output import field_column, print_one
from sundial.cli.session import Session, client_command

COLUMNS = (
    field_column("ID", "id"),
    field_column("NAME", "name"),
    field_column("CREATED", "createdAt"),
)


@click.group("workspaces", cls=SundialGroup)
def workspaces() -> None:
    """The workspaces of the account."""


@workspaces.command("list")
@list_options
@client_command
def list_workspaces(session: Session, every_page: bool, page_size: int, page_token: str) -> int:
    """The account's workspaces."""
    request = {"accountId": session.account_id()}
    return list_resources(
        session,
        "WorkspaceService.ListWorkspaces",
        request,
        "workspaces",
        COLUMNS,
        every_page=every_page,
        page_size=page_size,
        page_token=page_token,
    )


@workspaces.command("get")
@click.argument("workspace_id")
@client_command
def get_workspace(session: Session, workspace_id: str) -> int:
    """One workspace."""
    request = {"accountId": session.account_id(), "workspaceId": workspace_id}
    print_one(session.output, session.call("WorkspaceService.GetWorkspace", request), COLUMNS)
    return 0


@workspaces.command("create")
@click.argument("name")
@client_command
def create_workspace(session: Session, name: str) -> int:
    """A new workspace (an admin key's job)."""
    request = {"accountId": session.account_id(), "workspace": {"name": name}}
    print_one(session.output, session.call("WorkspaceService.CreateWorkspace", request), COLUMNS)
    return 0
