"""Carries out an apply plan over the API, in order: webhooks, agents and chains one call
each (so that what a later document references exists, with its id), then the new schedules
in batches, the changed schedules, and last the deletes (the plan lists them schedules
first). An update sends the etag apply read and only the changed fields in its mask. A
secret the server makes (a webhook's, a PUSH agent's) is in the create answer only: it is
printed once, to stderr, and nowhere else."""

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from sundial.api.call_errors import ApiError, FieldViolation
from sundial.cli import exit_codes
from sundial.cli.apply_plan import (
    CREATE,
    DELETE,
    UNCHANGED,
    UPDATE,
    Change,
    Ids,
    Plan,
    desired_spec,
    id_of,
)
from sundial.cli.bundle_files import BundleDocument
from sundial.cli.bundle_references import AGENT, CHAIN, SCHEDULE, WEBHOOK
from sundial.cli.errors import CommandError
from sundial.cli.output import Resource

if TYPE_CHECKING:
    from sundial.api.json_client import JsonClient

# Schedules per BatchCreateAgentSchedules call: the most the server takes.
_BATCH_SIZE = 1000
# The service, the resource's method name and its id field, of the kinds written one by one.
_SERVICES = {
    AGENT: ("AgentService", "Agent", "agentId"),
    WEBHOOK: ("WebhookService", "Webhook", "webhookId"),
    CHAIN: ("ChainService", "Chain", "chainId"),
}
# Where a create's answer holds a secret the server made, and what to call it.
_MADE_SECRETS = {
    AGENT: ("pushSecret", "push signing secret"),
    WEBHOOK: ("secret", "signing secret"),
}


def execute(client: "JsonClient", workspace: str, plan: Plan) -> Iterator[Change]:
    """Makes the plan's changes, in order, yielding each as it is done (with the id of
    what it created)."""
    ids: Ids = dict(plan.ids)
    creates: list[Change] = []
    for change in plan.changes:
        if change.action == DELETE:
            continue
        if change.kind != SCHEDULE:
            written = _write(client, workspace, change, ids)
            ids[(change.kind, change.external_id)] = written.resource_id
            yield written
        elif change.action == CREATE:
            creates.append(change)
    requests = [
        _schedule_request(workspace, ids[(AGENT, c.document.agent)], c.document, ids)
        for c in creates
        if c.document is not None
    ]
    for change, created in zip(
        creates, _create_schedules(client, workspace, requests), strict=True
    ):
        yield replace(change, resource_id=id_of(created))
    for change in plan.changes:
        if change.kind == SCHEDULE and change.action in (UPDATE, UNCHANGED):
            yield _write_schedule(client, workspace, change, ids)
    for change in plan.changes:
        if change.action == DELETE:
            _delete(client, workspace, change)
            yield change


def _write(client: "JsonClient", workspace: str, change: Change, ids: Ids) -> Change:
    """Creates or updates a webhook, an agent or a chain."""
    document = change.document
    assert document is not None
    service, name, id_field = _SERVICES[change.kind]
    spec = desired_spec(document, ids)
    try:
        if change.action == CREATE:
            created = client.call(f"{service}.Create{name}", {
                "workspaceId": workspace, "metadata": document.metadata, "spec": spec,
            })  # fmt: skip
            _tell_made_secret(change, created)
            return replace(change, resource_id=id_of(created))
        if change.action == UPDATE:
            updated = client.call(f"{service}.Update{name}", {
                "workspaceId": workspace, id_field: change.resource_id,
                **_update_fields(change, spec),
            })  # fmt: skip
            _tell_made_secret(change, updated)
    except ApiError as error:
        raise _failed(f"{change.label} ({document.source})", error) from None
    return change


def _tell_made_secret(change: Change, resource: Resource) -> None:
    """A signing secret that the server made is in this answer only."""
    field, what = _MADE_SECRETS.get(change.kind, ("", ""))
    secret = resource.get("info", {}).get(field, "") if field else ""
    if secret:
        click.echo(f"{change.label}: {what} (shown only now): {secret}", err=True)


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


def _schedule_request(
    workspace: str, agent_id: str, document: BundleDocument, ids: Ids
) -> dict[str, Any]:
    return {
        "workspaceId": workspace,
        "agentId": agent_id,
        "metadata": document.metadata,
        "spec": desired_spec(document, ids),
    }


def _write_schedule(client: "JsonClient", workspace: str, change: Change, ids: Ids) -> Change:
    document, current = change.document, change.current
    if change.action != UPDATE or document is None or current is None:
        return change
    request = {
        "workspaceId": workspace,
        "agentId": current.get("info", {}).get("agentId", ""),
        "scheduleId": change.resource_id,
        **_update_fields(change, desired_spec(document, ids)),
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
            service, name, id_field = _SERVICES[change.kind]
            client.call(f"{service}.Delete{name}", {
                "workspaceId": workspace, id_field: change.resource_id, "etag": etag,
            })  # fmt: skip
    except ApiError as error:
        raise _failed(f"{change.label} ({change.resource_id})", error) from None


def _failed(what: str, error: ApiError) -> CommandError:
    """A failed call, naming the resource; what was done before it stays done (applying
    again goes on from there)."""
    return CommandError(f"{what}: {error.one_line()}", exit_codes.for_status_code(error.code))
