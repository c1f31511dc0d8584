"""The files `sundial apply -f` reads: YAML or JSON documents of webhooks, agents, chains
and schedules, each `kind: Webhook`, `Agent`, `Chain` or `AgentSchedule` with the resource's
ProtoJSON `metadata` and `spec` (README, "Declarative apply"). A schedule names its agent
with `agent:`, the agent's `metadata.externalId` in the same bundle; other references to
the bundle's resources are `<kind>/<externalId>` where the spec takes an id
(cli/bundle_references.py). A directory is read as its *.yaml, *.yml and *.json files in
name order; a document that is a list holds one resource per item.

Everything is checked before anything is sent: an unknown kind or field, a missing
externalId or name, two bundles in one apply, an externalId used twice, or a reference
(a schedule's agent, a `chain/...`) to what is not in the files is an error naming the
file, the document and the field."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sundial.api.call_errors import RequestDocumentError
from sundial.api.resource_documents import canonical
from sundial.cli.bundle_references import AGENT, CHAIN, NOUNS, SCHEDULE, WEBHOOK, references
from sundial.cli.documents import read_documents
from sundial.cli.errors import CommandError

# In the order apply writes them (what a kind references comes before it).
KINDS = (WEBHOOK, AGENT, CHAIN, SCHEDULE)
SPEC_MESSAGES = {
    AGENT: "sundial.v1.AgentSpec",
    SCHEDULE: "sundial.v1.AgentScheduleSpec",
    WEBHOOK: "sundial.v1.WebhookSpec",
    CHAIN: "sundial.v1.ChainSpec",
}
# What a spec must hold: the server's required fields, checked before anything is sent.
_REQUIRED_SPEC = {
    SCHEDULE: "initialMessage and schedule",
    WEBHOOK: "url",
    CHAIN: "nodes",
}
METADATA_MESSAGE = "sundial.v1.CreateResourceMetadata"
# Schedule fields the server writes too (a pause on failure, a pause reason): apply manages
# them only in documents that set them, so that it does not undo what happened since.
SERVER_WRITTEN_SPEC_FIELDS = ("status", "notes")

_SUFFIXES = (".yaml", ".yml", ".json")
# Written by the server, as `get -o yaml` prints them: ignored (AIP-203), never compared.
_OUTPUT_ONLY_METADATA = frozenset(
    {"id", "accountId", "account_id", "createdAt", "created_at", "profileId", "profile_id",
     "workspaceId", "workspace_id", "updatedAt", "updated_at", "etag"}
)  # fmt: skip
_TOP_LEVEL = {
    AGENT: {"kind", "metadata", "spec", "info"},
    SCHEDULE: {"kind", "agent", "metadata", "spec", "info"},
    WEBHOOK: {"kind", "metadata", "spec", "info"},
    CHAIN: {"kind", "metadata", "spec", "info"},
}


@dataclass(frozen=True, slots=True)
class BundleDocument:
    """One resource as the files want it; `metadata` and `spec` canonical ProtoJSON."""

    source: str  # "bundle.yaml, document 2"
    kind: str
    external_id: str
    metadata: dict[str, Any]
    spec: dict[str, Any]
    agent: str = ""  # a schedule's agent: its externalId
    # Of SERVER_WRITTEN_SPEC_FIELDS, those the document sets.
    managed: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{NOUNS[self.kind]}/{self.external_id}"


@dataclass(frozen=True, slots=True)
class Bundle:
    key: str
    agents: tuple[BundleDocument, ...]
    schedules: tuple[BundleDocument, ...]
    webhooks: tuple[BundleDocument, ...] = ()
    chains: tuple[BundleDocument, ...] = ()

    def of_kind(self, kind: str) -> tuple[BundleDocument, ...]:
        by_kind = {
            AGENT: self.agents,
            SCHEDULE: self.schedules,
            WEBHOOK: self.webhooks,
            CHAIN: self.chains,
        }
        return by_kind[kind]


def read_bundle(paths: Iterable[str]) -> Bundle:
    """The bundle the files (or directories) describe, checked."""
    documents = [document for path in _files(paths) for document in _read_file(path)]
    if not documents:
        raise CommandError("the files hold no documents")
    key = documents[0].metadata["bundleKey"]
    for document in documents:
        if document.metadata["bundleKey"] != key:
            raise CommandError(
                f"{document.source}: metadata.bundleKey {document.metadata['bundleKey']!r} is "
                f"not {key!r} ({documents[0].source}): one apply reconciles one bundle"
            )
    seen: dict[tuple[str, str], BundleDocument] = {}
    for document in documents:
        first = seen.setdefault((document.kind, document.external_id), document)
        if first is not document:
            raise CommandError(
                f"{document.source}: metadata.externalId {document.external_id!r}: "
                f"{first.source} has that {document.kind} already"
            )
    agents = tuple(d for d in documents if d.kind == AGENT)
    agent_ids = {agent.external_id for agent in agents}
    schedules = tuple(d for d in documents if d.kind == SCHEDULE)
    for schedule in schedules:
        if schedule.agent not in agent_ids:
            raise CommandError(
                f"{schedule.source}: agent: no Agent with metadata.externalId "
                f"{schedule.agent!r} in the files"
            )
    for document in documents:
        _check_references(document, seen)
    return Bundle(
        key,
        agents,
        schedules,
        webhooks=tuple(d for d in documents if d.kind == WEBHOOK),
        chains=tuple(d for d in documents if d.kind == CHAIN),
    )


def _check_references(
    document: BundleDocument, documents: dict[tuple[str, str], BundleDocument]
) -> None:
    for reference in references(document.kind, document.spec):
        written = f"{NOUNS[reference.kind]}/{reference.external_id}"
        if not reference.allowed:
            raise CommandError(
                f"{document.source}: {reference.path}: {written!r}: a {document.kind} is "
                f"applied before what it would name here: give the {reference.kind}'s id"
            )
        if (reference.kind, reference.external_id) not in documents:
            raise CommandError(
                f"{document.source}: {reference.path}: no {reference.kind} with "
                f"metadata.externalId {reference.external_id!r} in the files"
            )


def _files(paths: Iterable[str]) -> Iterator[str]:
    for path in paths:
        if path != "-" and Path(path).is_dir():
            found = sorted(p for p in Path(path).iterdir() if p.suffix in _SUFFIXES and p.is_file())
            if not found:
                raise CommandError(f"{path}: no *.yaml, *.yml or *.json files")
            yield from (str(p) for p in found)
        else:
            yield path


def _read_file(path: str) -> Iterator[BundleDocument]:
    number = 0
    for document in read_documents(path):
        items = document if isinstance(document, list) else [document]
        for item in items:
            if item is None:
                continue
            number += 1
            yield _parse(item, f"{path}, document {number}")


def _parse(document: Any, source: str) -> BundleDocument:
    if not isinstance(document, dict):
        raise CommandError(f"{source}: expected a mapping, got {type(document).__name__}")
    kind = document.get("kind")
    if kind not in KINDS:
        raise CommandError(f"{source}: kind: {kind!r} is not one of {', '.join(KINDS)}")
    unknown = sorted(str(key) for key in set(document) - _TOP_LEVEL[kind])
    if unknown:
        allowed = ", ".join(sorted(_TOP_LEVEL[kind] - {"info"}))
        raise CommandError(f"{source}: {unknown[0]}: no such field of a {kind} (has {allowed})")
    raw_metadata = _mapping(document, "metadata", source)
    metadata = _canonical(
        METADATA_MESSAGE,
        {k: v for k, v in raw_metadata.items() if k not in _OUTPUT_ONLY_METADATA},
        source,
        "metadata",
    )
    for field in ("bundleKey", "externalId", "name"):
        if not metadata.get(field):
            raise CommandError(f"{source}: metadata.{field}: required")
    raw_spec = _mapping(document, "spec", source)
    if kind in _REQUIRED_SPEC and not raw_spec:
        raise CommandError(f"{source}: spec: required ({_REQUIRED_SPEC[kind]})")
    spec = _canonical(SPEC_MESSAGES[kind], raw_spec, source, "spec")
    agent = ""
    managed: frozenset[str] = frozenset()
    if kind == SCHEDULE:
        agent = document.get("agent") or ""
        if not isinstance(agent, str) or not agent:
            raise CommandError(f"{source}: agent: required (the externalId of an Agent)")
        managed = frozenset(field for field in SERVER_WRITTEN_SPEC_FIELDS if field in raw_spec)
    return BundleDocument(source, kind, metadata["externalId"], metadata, spec, agent, managed)


def _mapping(document: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = document.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CommandError(f"{source}: {name}: expected a mapping, got {type(value).__name__}")
    return value


def _canonical(message: str, value: dict[str, Any], source: str, path: str) -> dict[str, Any]:
    try:
        return canonical(message, value, path)
    except RequestDocumentError as error:
        raise CommandError(f"{source}: {error}") from None
