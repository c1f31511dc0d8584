"""The options and the paging every `... list` command shares: one page (and a hint with
the next page token), or `--all` pages."""

from collections.abc import Callable, Sequence
from typing import Any

import click

from sundial.cli.output import Column, print_many
from sundial.cli.session import Session


def list_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--page-token", default="", help="a page a previous list hinted")(
        command
    )
    command = click.option(
        "--page-size", type=click.IntRange(min=0, max=1000), default=0, help="0: the server's 50"
    )(command)
    return click.option("--all", "every_page", is_flag=True, help="every page, not just one")(
        command
    )


def list_resources(
    session: Session,
    method: str,
    request: dict[str, Any],
    items: str,
    columns: Sequence[Column],
    *,
    every_page: bool,
    page_size: int,
    page_token: str,
) -> int:
    client = session.client()
    request = {**request, "pageToken": page_token}
    if every_page:
        resources = client.pages(method, request, items, page_size=page_size or 1000)
        print_many(session.output, resources, columns)
        return 0
    if page_size:
        request["pageSize"] = page_size
    page = client.call(method, request)
    print_many(session.output, page.get(items, []), columns, page.get("nextPageToken", ""))
    return 0
