"""`sundial keys list|get|create|revoke` (sundial.v1.ApiKeyService). A key's secret is
shown once, by create."""

from datetime import UTC, datetime, timedelta
from typing import Any

import click

from sundial.cli.errors import SundialGroup
from sundial.cli.output import Column, Resource, field_column, print_one
from sundial.cli.resource_commands import ResourceKind, add_call, add_get, add_list, in_account
from sundial.cli.session import Session, client_command

ROLES = ("admin", "editor", "viewer", "worker")


def _state(key: Resource) -> str:
    if key.get("info", {}).get("revokeTime"):
        return "revoked"
    expires = key.get("spec", {}).get("expireTime")
    return f"expires {expires}" if expires else "active"


COLUMNS = (
    field_column("ID", "metadata.id"),
    field_column("NAME", "metadata.name"),
    field_column("ROLE", "spec.role"),
    Column(
        "WORKSPACES", lambda key: ", ".join(key.get("spec", {}).get("workspaceIds", [])) or "all"
    ),
    Column("SECRET", lambda key: f"...{key.get('info', {}).get('secretHint', '')}"),
    Column("STATE", _state),
)


@click.group("keys", cls=SundialGroup)
def keys() -> None:
    """The API keys of the account (an admin key's job)."""


API_KEY = ResourceKind("ApiKeyService", "ApiKey", "key_id", COLUMNS, scope=in_account)
add_list(keys, API_KEY, "The account's API keys (never their secrets).")
add_get(keys, API_KEY, "One API key.")
add_call(
    keys, API_KEY, "revoke", "RevokeApiKey", "Revoke an API key: calls with it fail from now on."
)


@keys.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="what the key may do")
@click.option(
    "--workspace-id", "workspace_ids", multiple=True, help="ws_ id it reaches (repeat; none: all)"
)
@click.option(
    "--expires-in-days", type=click.FloatRange(min=0, min_open=True), help="default: never"
)
@client_command
def create_key(
    session: Session,
    name: str,
    role: str,
    workspace_ids: tuple[str, ...],
    expires_in_days: float | None,
) -> int:
    """A new API key; its secret is printed now and never again."""
    spec: dict[str, Any] = {"role": f"ROLE_{role.upper()}", "workspaceIds": list(workspace_ids)}
    if expires_in_days is not None:
        expires = datetime.now(UTC) + timedelta(days=expires_in_days)
        spec["expireTime"] = expires.isoformat().replace("+00:00", "Z")
    request = {"accountId": session.account_id(), "metadata": {"name": name}, "spec": spec}
    key = session.call("ApiKeyService.CreateApiKey", request)
    print_one(session.output, key, COLUMNS)
    if session.output == "table":
        click.echo(f"secret (shown only now): {key.get('info', {}).get('secret', '')}")
    return 0
