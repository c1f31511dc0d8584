"""Printing what a client command got: a Rich table (no colour when stdout is not a
terminal), or the ProtoJSON of the resource(s) as JSON or YAML. A list prints a JSON
array (a YAML sequence) of resources; its next page token goes to stderr, so that stdout
stays a clean document."""

import json
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import click
import yaml
from rich import box
from rich.console import Console
from rich.table import Table

Resource = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    value: Callable[[Resource], str]


def field_column(header: str, path: str, default: str = "") -> Column:
    """A column showing the value at a dotted path (`spec.status`), enum prefixes cut;
    `default` for a value ProtoJSON leaves out (a zero count)."""
    return Column(header, lambda resource: display(lookup(resource, path)) or default)


def lookup(resource: Resource, path: str) -> Any:
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


_ENUM_PREFIXES = (
    "AGENT_SCHEDULE_STATUS_",
    "OBJECTIVE_STATUS_",
    "OVERLAP_POLICY_",
    "TRIGGER_KIND_",
    "ROLE_",
    "VARIATION_SELECTION_MODE_",
    "WEBHOOK_STATE_",
    "WEBHOOK_FORMAT_",
    "EVENT_TYPE_",
    "DELIVERY_STATUS_",
    "CHAIN_RUN_STATUS_",
    "CHAIN_NODE_STATUS_",
    "CHAIN_TRIGGER_KIND_",
    "CHAIN_EDGE_TYPE_",
)


def display(value: Any) -> str:
    """How a table shows a ProtoJSON value."""
    if value is None:
        return ""
    if isinstance(value, str):
        for prefix in _ENUM_PREFIXES:
            if value.startswith(prefix):
                return value.removeprefix(prefix)
        return value
    if isinstance(value, list):
        return ", ".join(display(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def console() -> Console:
    """Rich's console on stdout; off a terminal: no colour, and wide enough never to cut."""
    out = Console(highlight=False)
    if out.is_terminal:
        return out
    return Console(
        highlight=False, no_color=True, width=max(shutil.get_terminal_size().columns, 400)
    )


def print_one(output: str, resource: Resource, columns: Sequence[Column]) -> None:
    if output != "table":
        print_document(output, resource)
        return
    print_table([resource], columns)


def print_many(
    output: str, resources: Iterable[Resource], columns: Sequence[Column], next_page_token: str = ""
) -> None:
    items = list(resources)
    if output != "table":
        print_document(output, items)
    else:
        print_table(items, columns)
    if next_page_token:
        click.echo(f"more: --page-token {next_page_token} (or --all)", err=True)


def print_table(resources: Sequence[Resource], columns: Sequence[Column]) -> None:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in columns:
        table.add_column(column.header, overflow="fold")
    for resource in resources:
        table.add_row(*(column.value(resource) for column in columns))
    console().print(table)


def print_document(output: str, document: Any) -> None:
    if output == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)


def print_fields(title: str, rows: Sequence[tuple[str, str]]) -> None:
    """A two-column block of labelled values (for describe)."""
    table = Table(box=None, show_header=False, pad_edge=False, title=title, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console().print(table)
