"""`sundial chains create|list|get|update|delete|trigger|runs|run|cancel-run`
(sundial.v1.ChainService). A chain is usually written as a file (`-f chain.yaml`: its
`metadata` and `spec`, ProtoJSON); `--node` and `--edge` write small chains inline:

    sundial chains create "Data pipeline" \\
        --node 'fetch=agent_01...:Fetch the data' --node 'transform=sched_01...' \\
        --edge 'fetch->transform' --edge 'fetch->store:on-failure' ...
"""

import json
from typing import Any

import click

from sundial.cli.documents import file_option, read_document
from sundial.cli.errors import CommandError, Decorator, SundialGroup
from sundial.cli.listing import list_options, list_resources
from sundial.cli.output import Column, Resource, display, field_column, print_one
from sundial.cli.resource_commands import (
    ResourceKind,
    add_create,
    add_delete,
    add_get,
    add_list,
    with_options,
)
from sundial.cli.session import Session, client_command

ALL_CHAINS = "-"
EDGE_TYPES = ("on-success", "on-failure", "on-complete")
OVERLAP_POLICIES = ("skip", "allow", "cancel-other")
RUN_STATUSES = ("running", "succeeded", "failed", "cancelled")
# Schedule ids start so (domain/ids.py); any other id in --node is an agent's.
_SCHEDULE_PREFIX = "sched_"


def _count(path: str) -> Column:
    return Column(path.rpartition(".")[2].upper(), lambda chain: str(len(_spec(chain, path))))


def _spec(chain: Resource, path: str) -> list[Any]:
    value = chain.get("spec", {}).get(path.rpartition(".")[2], [])
    return value if isinstance(value, list) else []


def _node_states(run: Resource) -> str:
    nodes = run.get("info", {}).get("nodes", [])
    return " ".join(f"{node.get('name', '')}:{display(node.get('status'))}" for node in nodes)


COLUMNS = (
    field_column("ID", "metadata.id"),
    field_column("NAME", "metadata.name"),
    _count("spec.nodes"),
    _count("spec.edges"),
    field_column("RUNS", "info.runCount", "0"),
    field_column("LAST RUN", "info.lastRunStatus"),
)
RUN_COLUMNS = (
    field_column("ID", "metadata.id"),
    field_column("CHAIN", "spec.chainId"),
    field_column("STATUS", "info.status"),
    field_column("TRIGGER", "spec.triggerKind"),
    Column("NODES", _node_states),
    field_column("STARTED", "info.startedAt"),
    field_column("ENDED", "info.endedAt"),
)


def _parse_node(text: str) -> dict[str, Any]:
    """`NAME=ID[:MESSAGE]`: an agent node (the message is required by the server) or, for
    a `sched_` id, a node that runs that schedule's agent with its message and data."""
    name, equals, rest = text.partition("=")
    target, _, message = rest.partition(":")
    if not equals or not name.strip() or not target.strip():
        raise CommandError(f"--node {text!r}: write it as NAME=AGENT_ID:MESSAGE or NAME=SCHED_ID")
    node: dict[str, Any] = {"name": name.strip()}
    if target.strip().startswith(_SCHEDULE_PREFIX):
        node["scheduleId"] = target.strip()
    else:
        node["agentId"] = target.strip()
    if message:
        node["initialMessage"] = message
    return node


def _parse_edge(text: str) -> dict[str, Any]:
    """`FROM->TO[:on-success|on-failure|on-complete]`."""
    ends, _, kind = text.partition(":")
    source, arrow, target = ends.partition("->")
    if not arrow or not source.strip() or not target.strip():
        raise CommandError(f"--edge {text!r}: write it as FROM->TO or FROM->TO:on-failure")
    edge: dict[str, Any] = {"fromNode": source.strip(), "toNode": target.strip()}
    if kind:
        if kind.strip() not in EDGE_TYPES:
            raise CommandError(f"--edge {text!r}: the type is one of {', '.join(EDGE_TYPES)}")
        edge["type"] = "CHAIN_EDGE_TYPE_" + kind.strip().upper().replace("-", "_")
    return edge


def spec_flags(command: Any) -> Any:
    """The flags that set spec fields; each given one is a path of an update's mask."""
    options: list[Decorator] = [
        click.option(
            "--node", "nodes", multiple=True, metavar="NAME=ID[:MESSAGE]",
            help="a node running an agent (agent_ id) or a schedule's agent (sched_ id); repeat",
        ),
        click.option(
            "--edge", "edges", multiple=True, metavar="FROM->TO[:TYPE]",
            help=f"an edge; TYPE is one of {', '.join(EDGE_TYPES)} (default on-success); repeat",
        ),
        click.option("--description", help="free-form description"),
        click.option(
            "--overlap", type=click.Choice(OVERLAP_POLICIES),
            help="what a start does while a run is RUNNING (default skip)",
        ),
    ]  # fmt: skip
    return with_options(command, options)


def spec_document(flags: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The spec the flags give, and the mask paths of the fields they set."""
    spec: dict[str, Any] = {}
    paths: list[str] = []
    if flags.get("nodes"):
        spec["nodes"] = [_parse_node(text) for text in flags["nodes"]]
        paths.append("spec.nodes")
    if flags.get("edges"):
        spec["edges"] = [_parse_edge(text) for text in flags["edges"]]
        paths.append("spec.edges")
    if flags.get("description") is not None:
        spec["description"] = flags["description"]
        paths.append("spec.description")
    if flags.get("overlap"):
        spec["overlapPolicy"] = "OVERLAP_POLICY_" + flags["overlap"].upper().replace("-", "_")
        paths.append("spec.overlap_policy")
    return spec, paths


@click.group("chains", cls=SundialGroup)
def chains() -> None:
    """Chains: pipelines of agents where one objective's end starts the next."""


CHAIN = ResourceKind("ChainService", "Chain", "chain_id", COLUMNS)
add_list(chains, CHAIN, "The workspace's chains, oldest first.")
add_get(chains, CHAIN, "One chain.")
add_create(
    chains,
    CHAIN,
    "A new chain named NAME (or as the file's `metadata` and `spec` say, the flags over it).",
    options=[spec_flags, file_option()],
    spec_of=lambda file_spec, flags: {**file_spec, **spec_document(flags)[0]},
)


@chains.command("update")
@click.argument("chain_id")
@click.option("--name", help="a new name")
@spec_flags
@file_option()
@click.option("--etag", default="", help="update only if the chain is still at this etag")
@click.option("--validate-only", is_flag=True, help="check, and show what it would become")
@client_command
def update_chain(
    session: Session,
    chain_id: str,
    name: str | None,
    file: str | None,
    etag: str,
    validate_only: bool,
    **flags: Any,
) -> int:
    """Change the fields the flags name (--node and --edge replace the whole list); with a
    file, replace the chain's metadata and spec by the file's."""
    spec, paths = spec_document(flags)
    request: dict[str, Any] = {
        "workspaceId": session.workspace_id(),
        "chainId": chain_id,
        "etag": etag,
        "validateOnly": validate_only,
    }
    metadata: dict[str, Any] = {}
    if file:
        document = read_document(file)
        metadata = dict(document.get("metadata") or {})
        spec = {**(document.get("spec") or {}), **spec}
        paths = ["spec"] + (["metadata"] if metadata else [])
    if name is not None:
        metadata["name"] = name
        paths.append("metadata.name")
    if not paths:
        raise CommandError("nothing to change: give a flag (--node, --edge, --name, -f, ...)")
    request["spec"] = spec
    if metadata:
        request["metadata"] = metadata
    request["updateMask"] = ",".join(paths)
    print_one(session.output, session.call("ChainService.UpdateChain", request), COLUMNS)
    return 0


add_delete(
    chains,
    CHAIN,
    "Delete a chain and its ended runs (refused while a schedule fires it or it runs).",
)


@chains.command("trigger")
@click.argument("chain_id")
@click.option("--data", "data_text", help="a JSON object set over every root node's data")
@click.option("--request-id", default="", help="idempotency key (24 h): the same run")
@client_command
def trigger_chain(session: Session, chain_id: str, data_text: str | None, request_id: str) -> int:
    """Start a run of the chain now."""
    request: dict[str, Any] = {
        "workspaceId": session.workspace_id(),
        "chainId": chain_id,
        "requestId": request_id,
    }
    if data_text is not None:
        try:
            request["data"] = json.loads(data_text)
        except json.JSONDecodeError as error:
            raise CommandError(f"--data is not JSON: {error.msg} (column {error.colno})") from None
    print_one(session.output, session.call("ChainService.TriggerChain", request), RUN_COLUMNS)
    return 0


@chains.command("runs")
@click.argument("chain_id", default=ALL_CHAINS)
@click.option("--status", type=click.Choice(RUN_STATUSES), help="only in this status")
@click.option("--filter", "filter_", default="", help="AIP-160 filter, ANDed with the above")
@list_options
@client_command
def list_runs(
    session: Session,
    chain_id: str,
    status: str | None,
    filter_: str,
    every_page: bool,
    page_size: int,
    page_token: str,
) -> int:
    """The runs of CHAIN_ID (default: of every chain), newest first."""
    terms = [f"status = CHAIN_RUN_STATUS_{status.upper()}"] if status else []
    if filter_:
        terms.append(filter_)
    request = {
        "workspaceId": session.workspace_id(),
        "chainId": chain_id,
        "filter": " AND ".join(terms),
    }
    return list_resources(
        session,
        "ChainService.ListChainRuns",
        request,
        "runs",
        RUN_COLUMNS,
        every_page=every_page,
        page_size=page_size,
        page_token=page_token,
    )


def chain_option() -> Decorator:
    return click.option(
        "--chain", default=ALL_CHAINS, help="chain_ id (default: any chain of the workspace)"
    )


@chains.command("run")
@click.argument("run_id")
@chain_option()
@client_command
def get_run(session: Session, run_id: str, chain: str) -> int:
    """One run, with every node's status and objectives."""
    request = {"workspaceId": session.workspace_id(), "chainId": chain, "runId": run_id}
    print_one(session.output, session.call("ChainService.GetChainRun", request), RUN_COLUMNS)
    return 0


@chains.command("cancel-run")
@click.argument("run_id")
@chain_option()
@click.option("--reason", default="", help="kept on the cancelled objectives")
@client_command
def cancel_run(session: Session, run_id: str, chain: str, reason: str) -> int:
    """Cancel a running run: its running objectives are cancelled, waiting nodes never run."""
    request = {
        "workspaceId": session.workspace_id(),
        "chainId": chain,
        "runId": run_id,
        "reason": reason,
    }
    print_one(session.output, session.call("ChainService.CancelChainRun", request), RUN_COLUMNS)
    return 0
