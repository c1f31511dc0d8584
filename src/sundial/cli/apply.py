"""`sundial apply -f FILE|DIR`: make the workspace's webhooks, agents, chains and schedules
of one bundle (`metadata.bundleKey`) what the files say, each matched by its
`metadata.externalId`.

It lists the bundle's resources (the List calls filter on bundle_key, so nothing outside
the bundle is read, let alone changed), plans the changes (cli/apply_plan.py) and makes
them (cli/apply_writes.py): creates what is new, updates what changed (the etag it read,
and only the changed fields in the update mask) and, with `--prune`, deletes the bundle's
resources that left the files. `--dry-run` prints the same plan, with each changed field's
current and desired value, and changes nothing."""

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from sundial.cli import exit_codes
from sundial.cli.apply_plan import (
    CREATE,
    DELETE,
    UNCHANGED,
    UPDATE,
    Change,
    Plan,
    desired_spec,
    make_plan,
)
from sundial.cli.apply_writes import execute
from sundial.cli.bundle_files import read_bundle
from sundial.cli.bundle_references import AGENT, CHAIN, SCHEDULE, WEBHOOK
from sundial.cli.errors import SundialCommand
from sundial.cli.output import Resource, lookup, print_document
from sundial.cli.session import Session, client_command

if TYPE_CHECKING:
    from sundial.api.json_client import JsonClient

_DONE = {CREATE: "created", UPDATE: "updated", DELETE: "deleted", UNCHANGED: "unchanged"}
_LIST_PAGE_SIZE = 1000
_HINTED_LEFT_OUT = 5
# The List call of each kind, the field of its answer, and what it takes besides the filter.
_LISTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    WEBHOOK: ("WebhookService.ListWebhooks", "webhooks", {}),
    AGENT: ("AgentService.ListAgents", "agents", {}),
    CHAIN: ("ChainService.ListChains", "chains", {}),
    SCHEDULE: (
        "AgentScheduleService.ListAgentSchedules",
        "agentSchedules",
        {"agentId": "-", "showArchived": True},
    ),
}


@click.command("apply", cls=SundialCommand)
@click.option(
    "-f", "--filename", "paths", multiple=True, required=True,
    help="YAML or JSON file, or a directory of them (repeatable; - for stdin)",
)  # fmt: skip
@click.option("--prune", is_flag=True, help="delete the bundle's resources that left the files")
@click.option("--dry-run", is_flag=True, help="print what would change, change nothing")
@client_command
def apply_command(session: Session, paths: tuple[str, ...], prune: bool, dry_run: bool) -> int:
    """Create, update (and with --prune delete) the webhooks, agents, chains and schedules
    of a bundle so that they are what the files say; applying the same files again changes
    nothing."""
    bundle = read_bundle(paths)
    workspace = session.workspace_id()
    client = session.client()
    plan = make_plan(bundle, _bundle_resources(client, workspace, bundle.key), prune=prune)
    text = session.output == "table"
    done: list[Change] = []
    for change in plan.changes if dry_run else execute(client, workspace, plan):
        if text:
            _print_change(change, plan, dry_run=dry_run)
        done.append(change)
    if text:
        click.echo(_summary(plan, done, dry_run=dry_run))
    else:
        print_document(session.output, _document(plan, done, dry_run=dry_run))
    if plan.left_out:
        labels = ", ".join(c.label for c in plan.left_out[:_HINTED_LEFT_OUT])
        more = ", ..." if len(plan.left_out) > _HINTED_LEFT_OUT else ""
        click.echo(
            f"bundle {plan.bundle_key!r} has {len(plan.left_out)} resource(s) not in the "
            f"files ({labels}{more}); --prune deletes them",
            err=True,
        )
    return exit_codes.OK


def _bundle_resources(
    client: "JsonClient", workspace: str, bundle_key: str
) -> dict[str, list[Resource]]:
    """The webhooks, agents, chains and schedules (archived ones too) that carry
    `bundle_key`, by kind."""
    quoted = bundle_key.replace("\\", "\\\\").replace('"', '\\"')
    request = {"workspaceId": workspace, "filter": f'bundle_key = "{quoted}"'}
    return {
        kind: list(client.pages(method, {**request, **extra}, field, page_size=_LIST_PAGE_SIZE))
        for kind, (method, field, extra) in _LISTS.items()
    }


def _print_change(change: Change, plan: Plan, *, dry_run: bool) -> None:
    verb = (
        f"would {change.action}" if dry_run and change.action != UNCHANGED else _DONE[change.action]
    )
    line = f"{change.label}: {verb}"
    if change.resource_id and change.action in (CREATE, DELETE):
        line += f" {change.resource_id}"
    if change.fields:
        line += f" ({', '.join(change.fields)})"
    click.echo(line)
    if dry_run and change.action == UPDATE and change.document is not None:
        spec = desired_spec(change.document, plan.ids)
        desired = {"metadata": change.document.metadata, "spec": spec}
        for field in change.fields:
            before, after = (_compact(lookup(r, field)) for r in (change.current or {}, desired))
            click.echo(f"    {field}: {before} -> {after}")


def _compact(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value, separators=(",", ":"))


def _counts(changes: Sequence[Change]) -> dict[str, int]:
    counts = dict.fromkeys((CREATE, UPDATE, DELETE, UNCHANGED), 0)
    for change in changes:
        counts[change.action] += 1
    return counts


def _summary(plan: Plan, done: Sequence[Change], *, dry_run: bool) -> str:
    counts = _counts(done)
    if dry_run:
        return (
            f"bundle {plan.bundle_key} (dry run, nothing changed): {counts[CREATE]} to create, "
            f"{counts[UPDATE]} to update, {counts[DELETE]} to delete, "
            f"{counts[UNCHANGED]} unchanged"
        )
    return (
        f"bundle {plan.bundle_key}: {counts[CREATE]} created, {counts[UPDATE]} updated, "
        f"{counts[DELETE]} deleted, {counts[UNCHANGED]} unchanged"
    )


def _document(plan: Plan, done: Sequence[Change], *, dry_run: bool) -> dict[str, Any]:
    return {
        "bundleKey": plan.bundle_key,
        "dryRun": dry_run,
        "counts": _counts(done),
        "changes": [
            {
                "kind": change.kind,
                "externalId": change.external_id,
                "action": change.action,
                "id": change.resource_id,
                "fields": list(change.fields),
            }
            for change in done
        ],
    }
