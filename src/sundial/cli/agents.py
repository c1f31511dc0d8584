"""`sundial agents list|get|create|delete` (sundial.v1.AgentService)."""

from typing import Any

import click

from sundial.cli.documents import file_option, read_document
from sundial.cli.errors import CommandError, SundialGroup
from sundial.cli.listing import list_options, list_resources
from sundial.cli.output import field_column, print_one
from sundial.cli.session import Session, client_command

COLUMNS = (
    field_column("ID", "metadata.id"),
    field_column("NAME", "metadata.name"),
    field_column("DESCRIPTION", "spec.description"),
    field_column("SCHEDULES", "info.scheduleCount", "0"),
    field_column("CREATED", "metadata.createdAt"),
)


@click.group("agents", cls=SundialGroup)
def agents() -> None:
    """The agents of a workspace."""


@agents.command("list")
@click.option("--filter", "filter_", default="", help="AIP-160 filter, e.g. 'name = \"helper\"'")
@list_options
@client_command
def list_agents(
    session: Session, filter_: str, every_page: bool, page_size: int, page_token: str
) -> int:
    """The workspace's agents, oldest first."""
    request = {"workspaceId": session.workspace_id(), "filter": filter_}
    return list_resources(
        session,
        "AgentService.ListAgents",
        request,
        "agents",
        COLUMNS,
        every_page=every_page,
        page_size=page_size,
        page_token=page_token,
    )


@agents.command("get")
@click.argument("agent_id")
@client_command
def get_agent(session: Session, agent_id: str) -> int:
    """One agent."""
    request = {"workspaceId": session.workspace_id(), "agentId": agent_id}
    print_one(session.output, session.call("AgentService.GetAgent", request), COLUMNS)
    return 0


@agents.command("create")
@click.argument("name", required=False)
@click.option("--description", help="what the agent does, for people")
@file_option()
@click.option(
    "--push-url",
    help="a PUSH agent: Sundial POSTs each objective to this URL (spec.push.url)",
)
@click.option("--request-id", default="", help="idempotency key (24 h)")
@click.option("--validate-only", is_flag=True, help="check, and show what would be created")
@client_command
def create_agent(
    session: Session,
    name: str | None,
    description: str | None,
    file: str | None,
    push_url: str | None,
    request_id: str,
    validate_only: bool,
) -> int:
    """A new agent named NAME (or as the file's `metadata` and `spec` say). A PUSH agent
    created without a secret gets one, shown only in this answer."""
    document: dict[str, Any] = read_document(file) if file else {}
    metadata = dict(document.get("metadata") or {})
    spec = dict(document.get("spec") or {})
    if name:
        metadata["name"] = name
    if description is not None:
        spec["description"] = description
    if push_url is not None:
        spec["mode"] = "AGENT_MODE_PUSH"
        spec["push"] = {**(spec.get("push") or {}), "url": push_url}
    if not metadata.get("name"):
        raise CommandError("give the agent a NAME (or metadata.name in the file)")
    request = {
        "workspaceId": session.workspace_id(),
        "metadata": metadata,
        "spec": spec,
        "requestId": request_id,
        "validateOnly": validate_only,
    }
    created = session.call("AgentService.CreateAgent", request)
    print_one(session.output, created, COLUMNS)
    secret = created.get("info", {}).get("pushSecret", "")
    if secret and session.output == "table":
        # The table has no room for it, and it is never shown again.
        click.echo(f"push signing secret (shown only now): {secret}", err=True)
    return 0


@agents.command("delete")
@click.argument("agent_id")
@click.option("--force", is_flag=True, help="also delete its schedules")
@click.option("--etag", default="", help="delete only if the agent is still at this etag")
@client_command
def delete_agent(session: Session, agent_id: str, force: bool, etag: str) -> int:
    """Delete an agent."""
    request = {
        "workspaceId": session.workspace_id(),
        "agentId": agent_id,
        "force": force,
        "etag": etag,
    }
    session.call("AgentService.DeleteAgent", request)
    click.echo(f"deleted {agent_id}", err=session.output != "table")
    return 0
