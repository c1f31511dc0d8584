"""The commands that every resource group repeats (`list`, `get`, `create`, `delete`, and
calls on one resource such as `enable` or `revoke`), made from a short description of the
resource: its service, its name, its id argument and its table. A group keeps what is its
own: the flags of its spec and how they make one, and how an answer with a secret is shown.

    CHAIN = ResourceKind("ChainService", "Chain", "chain_id", COLUMNS)
    add_get(chains, CHAIN, "One chain.")   # `sundial chains get CHAIN_ID`: GetChain
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from sundial.cli.documents import read_document
from sundial.cli.errors import CommandError, Decorator
from sundial.cli.listing import list_options, list_resources
from sundial.cli.output import Column, Resource, print_one
from sundial.cli.session import Session, client_command

# What an answer is printed by, when the table and the document are not all of it.
Show = Callable[[Session, Resource], None]
# The spec a create sends: from the file's spec (empty without a file) and the flags given.
SpecOf = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


def in_workspace(session: Session) -> dict[str, str]:
    return {"workspaceId": session.workspace_id()}


def in_account(session: Session) -> dict[str, str]:
    return {"accountId": session.account_id()}


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """One resource as the CLI calls it. `name` makes the method names (`Chain`: ListChains,
    GetChain, ...) and the JSON names (`chains`, `chainId`); `argument` names the id
    argument (`chain_id`, shown as CHAIN_ID) and, without `_id`, the resource in messages."""

    service: str
    name: str
    argument: str
    columns: Sequence[Column]
    scope: Callable[[Session], dict[str, str]] = in_workspace

    def method(self, rpc: str) -> str:
        return f"{self.service}.{rpc}"

    @property
    def noun(self) -> str:
        return self.argument.removesuffix("_id").replace("_", " ")

    def ids(self, session: Session, resource_id: str) -> dict[str, str]:
        """The request fields that name one resource: its scope's id, then its own."""
        return {**self.scope(session), f"{_lower_first(self.name)}Id": resource_id}

    def show(self, session: Session, resource: Resource) -> None:
        print_one(session.output, resource, self.columns)


def add_list(
    group: click.Group, kind: ResourceKind, help_text: str, *, filter_help: str | None = None
) -> None:
    """`list`: one page of the scope's resources (or `--all`); `filter_help` adds `--filter`."""

    def list_command(
        session: Session, every_page: bool, page_size: int, page_token: str, **given: Any
    ) -> int:
        request = kind.scope(session)
        if filter_help is not None:
            request = {**request, "filter": given["filter_"]}
        return list_resources(
            session,
            kind.method(f"List{kind.name}s"),
            request,
            f"{_lower_first(kind.name)}s",
            kind.columns,
            every_page=every_page,
            page_size=page_size,
            page_token=page_token,
        )

    command = list_options(client_command(list_command))
    if filter_help is not None:
        command = click.option("--filter", "filter_", default="", help=filter_help)(command)
    group.command("list", help=help_text)(command)


def add_call(
    group: click.Group,
    kind: ResourceKind,
    command_name: str,
    rpc: str,
    help_text: str,
    *,
    options: Sequence[Decorator] = (),
    show: Show | None = None,
) -> None:
    """A command that calls `rpc` on the resource its id argument names and prints the
    answer (`get`, `enable`, `revoke`, ...); each of `options` sets the request field of its
    parameter's name (`--reason`: `reason`)."""

    def call_command(session: Session, **given: Any) -> int:
        resource_id = given.pop(kind.argument)
        request = {**kind.ids(session, resource_id), **given}
        (show or kind.show)(session, session.call(kind.method(rpc), request))
        return 0

    _register(group, command_name, help_text, kind, options, call_command)


def add_get(group: click.Group, kind: ResourceKind, help_text: str) -> None:
    add_call(group, kind, "get", f"Get{kind.name}", help_text)


def add_delete(
    group: click.Group, kind: ResourceKind, help_text: str, *, options: Sequence[Decorator] = ()
) -> None:
    """`delete ID [--etag E]`; each of `options` sets the request field of its name."""

    def delete_command(session: Session, etag: str, **given: Any) -> int:
        resource_id = given.pop(kind.argument)
        request = {**kind.ids(session, resource_id), **given, "etag": etag}
        session.call(kind.method(f"Delete{kind.name}"), request)
        click.echo(f"deleted {resource_id}", err=session.output != "table")
        return 0

    etag = click.option(
        "--etag", default="", help=f"delete only if the {kind.noun} is still at this etag"
    )
    _register(group, "delete", help_text, kind, [*options, etag], delete_command)


def add_create(
    group: click.Group,
    kind: ResourceKind,
    help_text: str,
    *,
    options: Sequence[Decorator],
    spec_of: SpecOf,
    show: Show | None = None,
) -> None:
    """`create [NAME] ... [--request-id R] [--validate-only]`. `options` are the flags
    between NAME and --request-id, in the order help lists them, `file_option()` among
    them; the file's `metadata` is sent with NAME over its name, and `spec_of` the spec."""

    def create_command(
        session: Session,
        name: str | None,
        file: str | None,
        request_id: str,
        validate_only: bool,
        **flags: Any,
    ) -> int:
        document: dict[str, Any] = read_document(file) if file else {}
        metadata = dict(document.get("metadata") or {})
        spec = spec_of(dict(document.get("spec") or {}), flags)
        if name:
            metadata["name"] = name
        if not metadata.get("name"):
            raise CommandError(f"give the {kind.noun} a NAME (or metadata.name in the file)")
        request = {
            **kind.scope(session),
            "metadata": metadata,
            "spec": spec,
            "requestId": request_id,
            "validateOnly": validate_only,
        }
        (show or kind.show)(session, session.call(kind.method(f"Create{kind.name}"), request))
        return 0

    command: Callable[..., Any] = client_command(create_command)
    command = click.option(
        "--validate-only", is_flag=True, help="check, and show what would be created"
    )(command)
    command = click.option("--request-id", default="", help="idempotency key (24 h)")(command)
    command = with_options(command, options)
    command = click.argument("name", required=False)(command)
    group.command("create", help=help_text)(command)


def with_options(command: Callable[..., Any], options: Sequence[Decorator]) -> Callable[..., Any]:
    """`command` with `options`, which its help lists in their order."""
    for option in reversed(options):
        command = option(command)
    return command


def _register(
    group: click.Group,
    command_name: str,
    help_text: str,
    kind: ResourceKind,
    options: Sequence[Decorator],
    function: Callable[..., int],
) -> None:
    """Adds `command_name ID [options...]` to the group, the options listed in their order."""
    command = with_options(client_command(function), options)
    command = click.argument(kind.argument)(command)
    group.command(command_name, help=help_text)(command)


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]
