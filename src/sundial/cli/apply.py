"""`sundial apply -f FILE|DIR`: make the workspace's agents and schedules of one bundle
(`metadata.bundleKey`) what the files say, each matched by its `metadata.externalId`.

It lists the bundle's resources (ListAgents and ListAgentSchedules filter on bundle_key, so
nothing outside the bundle is read, let alone changed), compares each document with its
resource field by field (sundial.api.resource_documents), and then creates what is new,
updates what changed (the etag it read, and only the changed fields in the update mask) and,
with `--prune`, deletes the bundle's resources that left the files. `--dry-run` prints the
same plan, with each changed field's current and desired value, and changes nothing."""

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

from sundial.api.call_errors import ApiError, FieldViolation
from sundial.api.resource_documents import changed_fields
from sundial.cli import exit_codes
from sundial.cli.bundle_files import (
    AGENT,
    METADATA_MESSAGE,
    SCHEDULE,
    SERVER_WRITTEN_SPEC_FIELDS,
    SPEC_MESSAGES,
    Bundle,
    BundleDocument,
    read_bundle,
)
from sundial.cli.errors import CommandError, SundialCommand
from sundial.cli.output import Resource, lookup, print_document
from sundial.cli.session import Session, client_command

if TYPE_CHECKING:
    from sundial.api.json_client import JsonClient

CREATE, UPDATE, DELETE, UNCHANGED = "create", "update", "delete", "unchanged"
_DONE = {CREATE: "created", UPDATE: "updated", DELETE: "deleted", UNCHANGED: "unchanged"}
_ACTIVE = "AGENT_SCHEDULE_STATUS_ACTIVE"
_LIST_PAGE_SIZE = 1000
_HINTED_LEFT_OUT = 5
# Schedules per BatchCreateAgentSchedules call: the most the server takes.
_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Change:
    """What apply does (or would do) to one resource."""

    action: str
    kind: str
    external_id: str
    resource_id: str = ""
    fields: tuple[str, ...] = ()
    document: BundleDocument | None = None
    current: Resource | None = None

    @property
    def label(self) -> str:
        noun = "agent" if self.kind == AGENT else "schedule"
        return f"{noun}/{self.external_id or self.resource_id}"


@dataclass(frozen=True, slots=True)
class Plan:
    bundle_key: str
    changes: tuple[Change, ...]
    # The bundle's resources that are not in the files, when not pruning.
    left_out: tuple[Change, ...]


@click.command("apply", cls=SundialCommand)
@click.option(
    "-f", "--filename", "paths", multiple=True, required=True,
    help="YAML or JSON file, or a directory of them (repeatable; - for stdin)",
)  # fmt: skip
@click.option("--prune", is_flag=True, help="delete the bundle's resources that left the files")
@click.option("--dry-run", is_flag=True, help="print what would change, change nothing")
@client_command
def apply_command(session: Session, paths: tuple[str, ...], prune: bool, dry_run: bool) -> int:
    """Create, update (and with --prune delete) the agents and schedules of a bundle so that
    they are what the files say; applying the same files again changes nothing."""
    bundle = read_bundle(paths)
    workspace = session.workspace_id()
    client = session.client()
    plan = make_plan(bundle, *_bundle_resources(client, workspace, bundle.key), prune=prune)
    text = session.output == "table"
    done: list[Change] = []
    for change in plan.changes if dry_run else _execute(client, workspace, plan):
        if text:
            _print_change(change, dry_run=dry_run)
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
) -> tuple[list[Resource], list[Resource]]:
    """The agents and schedules (archived ones too) that carry `bundle_key`."""
    quoted = bundle_key.replace("\\", "\\\\").replace('"', '\\"')
    request = {"workspaceId": workspace, "filter": f'bundle_key = "{quoted}"'}
    agents = client.pages("AgentService.ListAgents", request, "agents", page_size=_LIST_PAGE_SIZE)
    schedules = client.pages(
        "AgentScheduleService.ListAgentSchedules",
        {**request, "agentId": "-", "showArchived": True},
        "agentSchedules",
        page_size=_LIST_PAGE_SIZE,
    )
    return list(agents), list(schedules)


def make_plan(
    bundle: Bundle, agents: Sequence[Resource], schedules: Sequence[Resource], *, prune: bool
) -> Plan:
    """What to create, update and delete so that the server's `agents` and `schedules` of
    the bundle become the bundle's documents. Refuses what it cannot do safely."""
    existing_agents = _by_external_id(agents, AGENT, bundle.key)
    existing_schedules = _by_external_id(schedules, SCHEDULE, bundle.key)
    changes = [
        _compare(document, existing_agents.get(document.external_id)) for document in bundle.agents
    ]
    agent_ids = {c.external_id: c.resource_id for c in changes}
    for document in bundle.schedules:
        current = existing_schedules.get(document.external_id)
        if current is not None:
            _check_same_agent(document, current, agent_ids[document.agent])
        changes.append(_compare(document, current))
    wanted = {(d.kind, d.external_id) for d in (*bundle.agents, *bundle.schedules)}
    gone = [
        Change(DELETE, kind, _external_id(resource), _id(resource), current=resource)
        for kind, resources in ((SCHEDULE, schedules), (AGENT, agents))
        for resource in resources
        if (kind, _external_id(resource)) not in wanted
    ]
    if not prune:
        return Plan(bundle.key, tuple(changes), tuple(gone))
    _check_agents_can_go(gone)
    return Plan(bundle.key, (*changes, *gone), ())


def _by_external_id(
    resources: Sequence[Resource], kind: str, bundle_key: str
) -> dict[str, Resource]:
    found: dict[str, Resource] = {}
    for resource in resources:
        external_id = _external_id(resource)
        if not external_id:
            continue  # in the bundle, but no document can name it: pruned with --prune
        other = found.setdefault(external_id, resource)
        if other is not resource:
            raise CommandError(
                f"bundle {bundle_key!r} holds two {kind}s with metadata.externalId "
                f"{external_id!r} ({_id(other)}, {_id(resource)}): delete one first",
                exit_codes.CONFLICT,
            )
    return found


def _compare(document: BundleDocument, current: Resource | None) -> Change:
    if current is None:
        return Change(CREATE, document.kind, document.external_id, document=document)
    fields = tuple(_changed_fields(document, current))
    action = UPDATE if fields else UNCHANGED
    return Change(
        action, document.kind, document.external_id, _id(current), fields, document, current
    )


def _changed_fields(document: BundleDocument, current: Resource) -> Iterator[str]:
    for path in changed_fields(METADATA_MESSAGE, document.metadata, current.get("metadata", {})):
        yield f"metadata.{path}"
    desired, found = _desired_spec(document), dict(current.get("spec", {}))
    if document.kind == SCHEDULE:
        for field in set(SERVER_WRITTEN_SPEC_FIELDS) - document.managed:
            found.pop(field, None)
    for path in changed_fields(SPEC_MESSAGES[document.kind], desired, found):
        yield f"spec.{path}"


def _desired_spec(document: BundleDocument) -> dict[str, Any]:
    """The spec to compare and send: a schedule's status the document leaves unspecified
    is ACTIVE (the server's default on create)."""
    if document.kind == SCHEDULE and "status" in document.managed:
        return {"status": _ACTIVE, **document.spec}
    return document.spec


def _check_same_agent(document: BundleDocument, current: Resource, agent_id: str) -> None:
    current_agent = current.get("info", {}).get("agentId", "")
    if current_agent != agent_id:
        raise CommandError(
            f"{document.source}: agent: schedule/{document.external_id} ({_id(current)}) "
            f"belongs to {current_agent}, not to agent/{document.agent}: a schedule cannot move "
            "to another agent (give it a new externalId, or delete it first)",
            exit_codes.CONFLICT,
        )


def _check_agents_can_go(gone: Sequence[Change]) -> None:
    """An agent leaves only with the bundle's schedules of it: others are never deleted."""
    leaving: dict[str, int] = {}
    for change in gone:
        if change.kind == SCHEDULE and change.current is not None:
            agent = change.current.get("info", {}).get("agentId", "")
            leaving[agent] = leaving.get(agent, 0) + 1
    for change in gone:
        if change.kind != AGENT or change.current is None:
            continue
        count = int(change.current.get("info", {}).get("scheduleCount", 0))
        others = count - leaving.get(change.resource_id, 0)
        if others > 0:
            raise CommandError(
                f"--prune: {change.label} ({change.resource_id}) left the files but has "
                f"{others} schedule(s) outside the bundle: delete or re-home them first",
                exit_codes.CONFLICT,
            )


def _execute(client: "JsonClient", workspace: str, plan: Plan) -> Iterator[Change]:
    """Makes the plan's changes, in order, yielding each as it is done (with the id of
    what it created)."""
    agent_ids: dict[str, str] = {}
    creates: list[Change] = []
    for change in plan.changes:
        document = change.document
        if change.action == DELETE:
            continue
        if change.kind == AGENT:
            written = _write_agent(client, workspace, change)
            agent_ids[written.external_id] = written.resource_id
            yield written
        elif change.action == CREATE and document is not None:
            creates.append(change)
    requests = [
        _schedule_request(workspace, agent_ids[c.document.agent], c.document)
        for c in creates
        if c.document is not None
    ]
    for change, created in zip(
        creates, _create_schedules(client, workspace, requests), strict=True
    ):
        yield replace(change, resource_id=_id(created))
    for change in plan.changes:
        if change.kind == SCHEDULE and change.action in (UPDATE, UNCHANGED):
            yield _write_schedule(client, workspace, change)
    for change in plan.changes:
        if change.action == DELETE:
            _delete(client, workspace, change)
            yield change


def _create_schedules(
    client: "JsonClient", workspace: str, requests: Sequence[dict[str, Any]]
) -> Iterator[Resource]:
    """Creates the schedules (CreateAgentSchedule requests), yielding each in order: one
    BatchCreateAgentSchedules call per 1,000, with agent "-" (each request names its own
    agent), so each call creates all of its schedules or none. After a failure, earlier
    batches stay created: applying again finds them by externalId."""
    for start in range(0, len(requests), _BATCH_SIZE):
        batch = requests[start : start + _BATCH_SIZE]
        try:
            response = client.call(
                "AgentScheduleService.BatchCreateAgentSchedules",
                {"workspaceId": workspace, "agentId": "-", "requests": list(batch)},
            )
        except ApiError as error:
            raise _failed_batch(batch, error) from None
        yield from response.get("agentSchedules", [])


_BATCH_INDEX = re.compile(r"^requests\[(\d+)\]\.?")


def _failed_batch(batch: Sequence[dict[str, Any]], error: ApiError) -> CommandError:
    """A refused batch, its violations named by the schedules' externalIds rather than by
    their indexes in the batch (`schedule/nightly: INVALID_ARGUMENT: spec.schedule...`)."""
    by_schedule: dict[str, list[FieldViolation]] = {}
    for violation in error.violations:
        found = _BATCH_INDEX.match(violation.field)
        if found is None or int(found[1]) >= len(batch):
            by_schedule.setdefault("schedules", []).append(violation)
            continue
        what = f"schedule/{batch[int(found[1])]['metadata']['externalId']}"
        field = violation.field[found.end() :] or "request"
        by_schedule.setdefault(what, []).append(replace(violation, field=field))
    if not by_schedule:
        return _failed("schedules", error)
    line = "; ".join(
        f"{what}: {ApiError(error.code, error.message, tuple(violations)).one_line()}"
        for what, violations in by_schedule.items()
    )
    return CommandError(line, exit_codes.for_status_code(error.code))


def _schedule_request(workspace: str, agent_id: str, document: BundleDocument) -> dict[str, Any]:
    return {
        "workspaceId": workspace,
        "agentId": agent_id,
        "metadata": document.metadata,
        "spec": document.spec,
    }


def _write_agent(client: "JsonClient", workspace: str, change: Change) -> Change:
    document = change.document
    assert document is not None
    try:
        if change.action == CREATE:
            request = {
                "workspaceId": workspace,
                "metadata": document.metadata,
                "spec": document.spec,
            }
            created = client.call("AgentService.CreateAgent", request)
            _tell_made_secret(change, created)
            return replace(change, resource_id=_id(created))
        if change.action == UPDATE:
            updated = client.call("AgentService.UpdateAgent", {
                "workspaceId": workspace, "agentId": change.resource_id,
                **_update_fields(change, document.spec),
            })  # fmt: skip
            _tell_made_secret(change, updated)
    except ApiError as error:
        raise _failed(f"{change.label} ({document.source})", error) from None
    return change


def _tell_made_secret(change: Change, agent: dict[str, Any]) -> None:
    """A PUSH agent's signing secret that the server made is in this answer only."""
    secret = agent.get("info", {}).get("pushSecret", "")
    if secret:
        click.echo(f"{change.label}: push signing secret (shown only now): {secret}", err=True)


def _write_schedule(client: "JsonClient", workspace: str, change: Change) -> Change:
    document, current = change.document, change.current
    if change.action != UPDATE or document is None or current is None:
        return change
    request = {
        "workspaceId": workspace,
        "agentId": current.get("info", {}).get("agentId", ""),
        "scheduleId": change.resource_id,
        **_update_fields(change, _desired_spec(document)),
    }
    try:
        client.call("AgentScheduleService.UpdateAgentSchedule", request)
    except ApiError as error:
        raise _failed(f"{change.label} ({document.source})", error) from None
    return change


def _update_fields(change: Change, spec: dict[str, Any]) -> dict[str, Any]:
    assert change.document is not None
    assert change.current is not None
    return {
        "metadata": change.document.metadata,
        "spec": spec,
        "updateMask": ",".join(change.fields),
        "etag": change.current.get("metadata", {}).get("etag", ""),
    }


def _delete(client: "JsonClient", workspace: str, change: Change) -> None:
    current = change.current or {}
    etag = current.get("metadata", {}).get("etag", "")
    try:
        if change.kind == SCHEDULE:
            client.call("AgentScheduleService.DeleteAgentSchedule", {
                "workspaceId": workspace, "agentId": current.get("info", {}).get("agentId", ""),
                "scheduleId": change.resource_id, "etag": etag,
            })  # fmt: skip
        else:
            client.call("AgentService.DeleteAgent", {
                "workspaceId": workspace, "agentId": change.resource_id, "etag": etag,
            })  # fmt: skip
    except ApiError as error:
        raise _failed(f"{change.label} ({change.resource_id})", error) from None


def _failed(what: str, error: ApiError) -> CommandError:
    """A failed call, naming the resource; what was done before it stays done (applying
    again goes on from there)."""
    return CommandError(f"{what}: {error.one_line()}", exit_codes.for_status_code(error.code))


def _print_change(change: Change, *, dry_run: bool) -> None:
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
        desired = {"metadata": change.document.metadata, "spec": _desired_spec(change.document)}
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


def _id(resource: Resource) -> str:
    return str(resource.get("metadata", {}).get("id", ""))


def _external_id(resource: Resource) -> str:
    return str(resource.get("metadata", {}).get("externalId", ""))
