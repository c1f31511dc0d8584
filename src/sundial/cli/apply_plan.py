"""What `sundial apply` does to a bundle: each document compared with the resource of the
same kind and `metadata.externalId` (sundial.api.resource_documents), in the order that
references need (webhooks, agents, chains, then schedules; deletes the other way round).
Refuses, before anything is written, what it cannot do safely."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sundial.api.resource_documents import changed_fields
from sundial.cli import exit_codes
from sundial.cli.bundle_files import (
    KINDS,
    METADATA_MESSAGE,
    SERVER_WRITTEN_SPEC_FIELDS,
    SPEC_MESSAGES,
    Bundle,
    BundleDocument,
)
from sundial.cli.bundle_references import AGENT, CHAIN, NOUNS, SCHEDULE, resolved
from sundial.cli.errors import CommandError
from sundial.cli.output import Resource

CREATE, UPDATE, DELETE, UNCHANGED = "create", "update", "delete", "unchanged"
_ACTIVE = "AGENT_SCHEDULE_STATUS_ACTIVE"

# (kind, externalId) -> the id of the bundle's resource.
Ids = dict[tuple[str, str], str]


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
        return f"{NOUNS[self.kind]}/{self.external_id or self.resource_id}"


@dataclass(frozen=True, slots=True)
class Plan:
    bundle_key: str
    changes: tuple[Change, ...]
    # The bundle's resources that are not in the files, when not pruning.
    left_out: tuple[Change, ...]
    # The ids of the bundle's resources that exist already, for references.
    ids: Ids = field(default_factory=dict)


def make_plan(bundle: Bundle, existing: Mapping[str, Sequence[Resource]], *, prune: bool) -> Plan:
    """What to create, update and delete so that the server's resources of the bundle
    (`existing`, by kind) become the bundle's documents."""
    found = {kind: _by_external_id(existing.get(kind, ()), kind, bundle.key) for kind in KINDS}
    ids: Ids = {
        (kind, external_id): id_of(resource)
        for kind in KINDS
        for external_id, resource in found[kind].items()
    }
    changes: list[Change] = []
    for kind in KINDS:
        for document in bundle.of_kind(kind):
            current = found[kind].get(document.external_id)
            if kind == SCHEDULE and current is not None:
                _check_same_agent(document, current, ids.get((AGENT, document.agent), ""))
            changes.append(_compare(document, current, ids))
    wanted = {(d.kind, d.external_id) for kind in KINDS for d in bundle.of_kind(kind)}
    gone = [
        Change(DELETE, kind, external_id_of(resource), id_of(resource), current=resource)
        for kind in reversed(KINDS)
        for resource in existing.get(kind, ())
        if (kind, external_id_of(resource)) not in wanted
    ]
    if not prune:
        return Plan(bundle.key, tuple(changes), tuple(gone), ids)
    _check_agents_can_go(gone)
    _check_chains_can_go(gone, changes, ids)
    return Plan(bundle.key, (*changes, *gone), (), ids)


def desired_spec(document: BundleDocument, ids: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    """The spec to compare and send: references replaced by the ids known so far, and a
    schedule's status the document leaves unspecified ACTIVE (the server's default)."""
    spec: dict[str, Any] = resolved(document.kind, document.spec, ids)
    if document.kind == SCHEDULE and "status" in document.managed:
        return {"status": _ACTIVE, **spec}
    return spec


def _by_external_id(
    resources: Sequence[Resource], kind: str, bundle_key: str
) -> dict[str, Resource]:
    found: dict[str, Resource] = {}
    for resource in resources:
        external_id = external_id_of(resource)
        if not external_id:
            continue  # in the bundle, but no document can name it: pruned with --prune
        other = found.setdefault(external_id, resource)
        if other is not resource:
            raise CommandError(
                f"bundle {bundle_key!r} holds two {NOUNS[kind]}s with metadata.externalId "
                f"{external_id!r} ({id_of(other)}, {id_of(resource)}): delete one first",
                exit_codes.CONFLICT,
            )
    return found


def _compare(document: BundleDocument, current: Resource | None, ids: Ids) -> Change:
    if current is None:
        return Change(CREATE, document.kind, document.external_id, document=document)
    fields = tuple(_changed_fields(document, current, ids))
    action = UPDATE if fields else UNCHANGED
    return Change(
        action, document.kind, document.external_id, id_of(current), fields, document, current
    )


def _changed_fields(document: BundleDocument, current: Resource, ids: Ids) -> Iterator[str]:
    for path in changed_fields(METADATA_MESSAGE, document.metadata, current.get("metadata", {})):
        yield f"metadata.{path}"
    desired, found = desired_spec(document, ids), dict(current.get("spec", {}))
    if document.kind == SCHEDULE:
        for name in set(SERVER_WRITTEN_SPEC_FIELDS) - document.managed:
            found.pop(name, None)
    for path in changed_fields(SPEC_MESSAGES[document.kind], desired, found):
        yield f"spec.{path}"


def _check_same_agent(document: BundleDocument, current: Resource, agent_id: str) -> None:
    current_agent = current.get("info", {}).get("agentId", "")
    if current_agent != agent_id:
        raise CommandError(
            f"{document.source}: agent: schedule/{document.external_id} ({id_of(current)}) "
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


def _check_chains_can_go(gone: Sequence[Change], changes: Sequence[Change], ids: Ids) -> None:
    """A chain leaves only when no schedule fires it once apply is done: the server refuses
    the delete otherwise, and that refusal would come after the other changes."""
    deleted = {c.resource_id for c in gone if c.kind == SCHEDULE}
    chain_of = {
        c.resource_id: str(desired_spec(c.document, ids).get("chainId", ""))
        for c in changes
        if c.kind == SCHEDULE and c.resource_id and c.document is not None
    }
    for change in gone:
        if change.kind != CHAIN or change.current is None:
            continue
        firing = [
            schedule_id
            for schedule_id in change.current.get("info", {}).get("scheduleIds", [])
            if schedule_id not in deleted
            and chain_of.get(schedule_id, change.resource_id) == change.resource_id
        ]
        if firing:
            raise CommandError(
                f"--prune: {change.label} ({change.resource_id}) left the files but "
                f"schedule(s) {', '.join(firing)} fire it: change or delete them first",
                exit_codes.CONFLICT,
            )


def id_of(resource: Resource) -> str:
    return str(resource.get("metadata", {}).get("id", ""))


def external_id_of(resource: Resource) -> str:
    return str(resource.get("metadata", {}).get("externalId", ""))
