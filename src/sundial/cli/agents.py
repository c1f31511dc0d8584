"""`sundial agents list|get|create|delete` (sundial.v1.AgentService)."""

from typing import Any

import click

from sundial.cli.documents import file_option
from sundial.cli.errors import SundialGroup
from sundial.cli.output import Resource, field_column, print_one
from sundial.cli.resource_commands import (
    ResourceKind,
    add_create,
    add_delete,
    add_get,
    add_list,
)
from sundial.cli.session import Session

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


AGENT = ResourceKind("AgentService", "Agent", "agent_id", COLUMNS)
add_list(
    agents,
    AGENT,
    "The workspace's agents, oldest first.",
    filter_help="AIP-160 filter, e.g. 'name = \"helper\"'",
)
add_get(agents, AGENT, "One agent.")


def _spec_of(file_spec: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    spec = dict(file_spec)
    if flags["description"] is not None:
        spec["description"] = flags["description"]
    if flags["push_url"] is not None:
        spec["mode"] = "AGENT_MODE_PUSH"
        spec["push"] = {**(spec.get("push") or {}), "url": flags["push_url"]}
    return spec


def _print_with_secret(session: Session, created: Resource) -> None:
    print_one(session.output, created, COLUMNS)
    secret = created.get("info", {}).get("pushSecret", "")
    if secret and session.output == "table":
        # The table has no room for it, and it is never shown again.
        click.echo(f"push signing secret (shown only now): {secret}", err=True)


add_create(
    agents,
    AGENT,
    "A new agent named NAME (or as the file's `metadata` and `spec` say). A PUSH agent "
    "created without a secret gets one, shown only in this answer.",
    options=[
        click.option("--description", help="what the agent does, for people"),
        file_option(),
        click.option(
            "--push-url",
            help="a PUSH agent: Sundial POSTs each objective to this URL (spec.push.url)",
        ),
    ],
    spec_of=_spec_of,
    show=_print_with_secret,
)
add_delete(
    agents,
    AGENT,
    "Delete an agent.",
    options=[click.option("--force", is_flag=True, help="also delete its schedules")],
)
