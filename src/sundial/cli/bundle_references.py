"""References between the resources of one bundle, written `<kind>/<externalId>` where the
API wants an id (`chainId: chain/nightly`, `webhookId: webhook/alerts`,
`agentId: agent/helper`), so that one apply can create a webhook and the schedule that
delivers to it. A server id (`whk_01…`) is sent as it is; ids never hold a `/`.

Only references that point back along apply's order are allowed (webhooks, then agents,
then chains, then schedules), so that what a resource names exists when it is written:
an agent's and a schedule's `deliveries[].webhookId`, a chain node's `agentId`, a schedule's
`chainId`. A chain node's `scheduleId` and a webhook's `agentIds`/`scheduleIds` take server
ids only."""

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

AGENT = "Agent"
SCHEDULE = "AgentSchedule"
WEBHOOK = "Webhook"
CHAIN = "Chain"
# How apply names a resource (`chain/nightly`) in its output and in references.
NOUNS = {AGENT: "agent", SCHEDULE: "schedule", WEBHOOK: "webhook", CHAIN: "chain"}
_KIND_OF_NOUN = {noun: kind for kind, noun in NOUNS.items()}


@dataclass(frozen=True, slots=True)
class Reference:
    """A `<kind>/<externalId>` value at `path` of a document's spec."""

    path: str  # "spec.deliveries[0].webhookId"
    kind: str  # the kind it names
    external_id: str
    allowed: bool = True  # False where only server ids are taken


def references(kind: str, spec: Mapping[str, Any]) -> Iterator[Reference]:
    """The references in `spec` (canonical ProtoJSON of `kind`'s spec)."""
    for path, value, allowed in _id_fields(kind, spec):
        noun, slash, external_id = value.partition("/")
        if slash and noun in _KIND_OF_NOUN:
            yield Reference(path, _KIND_OF_NOUN[noun], external_id, allowed)


def resolved(kind: str, spec: Mapping[str, Any], ids: Mapping[tuple[str, str], str]) -> Any:
    """`spec` with each reference whose resource has an id in `ids` ((kind, externalId) ->
    id) replaced by that id; the others stay as written (what is still to be created)."""
    result = copy.deepcopy(dict(spec))
    for reference in references(kind, spec):
        found = ids.get((reference.kind, reference.external_id))
        if found:
            _set(result, reference.path.removeprefix("spec."), found)
    return result


def _id_fields(kind: str, spec: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    if kind in (AGENT, SCHEDULE):
        for n, delivery in enumerate(_items(spec.get("deliveries"))):
            yield from _string(f"spec.deliveries[{n}].webhookId", delivery.get("webhookId"), True)
    if kind == SCHEDULE:
        yield from _string("spec.chainId", spec.get("chainId"), True)
    if kind == CHAIN:
        for n, node in enumerate(_items(spec.get("nodes"))):
            yield from _string(f"spec.nodes[{n}].agentId", node.get("agentId"), True)
            yield from _string(f"spec.nodes[{n}].scheduleId", node.get("scheduleId"), False)
    if kind == WEBHOOK:
        for field in ("agentIds", "scheduleIds"):
            for n, value in enumerate(spec.get(field) or []):
                yield from _string(f"spec.{field}[{n}]", value, False)


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value or [] if isinstance(item, dict)]


def _string(path: str, value: Any, allowed: bool) -> Iterator[tuple[str, str, bool]]:
    if isinstance(value, str) and value:
        yield path, value, allowed


def _set(document: dict[str, Any], path: str, value: str) -> None:
    """Sets the leaf at `path` (`nodes[1].agentId`, `chainId`) of `document`."""
    node: Any = document
    parts = path.split(".")
    for part in parts[:-1]:
        name, _, index = part.partition("[")
        node = node[name]
        if index:
            node = node[int(index.rstrip("]"))]
    last, _, index = parts[-1].partition("[")
    if index:
        node[last][int(index.rstrip("]"))] = value
    else:
        node[last] = value
