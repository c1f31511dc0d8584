"""`sundial config set-context|use-context|get-contexts|current-context|delete-context`:
the named contexts of the config file (sundial.cli.contexts)."""

import os

import click

from sundial.cli.contexts import load_config
from sundial.cli.errors import SundialGroup
from sundial.cli.output import field_column as column
from sundial.cli.output import print_table


@click.group("config", cls=SundialGroup)
def config() -> None:
    """Named contexts: which server, key file, workspace and account to use."""


@config.command("set-context")
@click.argument("name")
@click.option("--address", help="the server's gRPC HOST:PORT")
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False, exists=True),
    help="file holding the API key (stored as an absolute path; the key stays in the file)",
)
@click.option("--workspace", help="ws_ id")
@click.option("--account", help="acct_ id")
@click.option("--use", is_flag=True, help="also make it the current context")
def set_context(
    name: str,
    address: str | None,
    api_key_file: str | None,
    workspace: str | None,
    account: str | None,
    use: bool,
) -> int:
    """Create context NAME, or change the fields given of it."""
    file = load_config()
    context = file.contexts.setdefault(name, {})
    given = {
        "address": address,
        "api-key-file": os.path.abspath(api_key_file) if api_key_file else None,
        "workspace": workspace,
        "account": account,
    }
    context.update({key: value for key, value in given.items() if value is not None})
    if use or not file.current_context:
        file.current_context = name
    file.save()
    click.echo(f"context {name} saved in {file.path}")
    return 0


@config.command("use-context")
@click.argument("name")
def use_context(name: str) -> int:
    """Make NAME the current context."""
    file = load_config()
    file.context(name)
    file.current_context = name
    file.save()
    click.echo(f"current context: {name}")
    return 0


@config.command("delete-context")
@click.argument("name")
def delete_context(name: str) -> int:
    """Forget context NAME."""
    file = load_config()
    file.context(name)
    del file.contexts[name]
    if file.current_context == name:
        file.current_context = ""
    file.save()
    click.echo(f"deleted context {name}")
    return 0


@config.command("get-contexts")
def get_contexts() -> int:
    """Every context; * marks the current one."""
    file = load_config()
    rows = [
        {"current": "*" if name == file.current_context else "", "name": name, **values}
        for name, values in file.contexts.items()
    ]
    headers = ("current", "name", "address", "workspace", "account", "api-key-file")
    print_table(rows, [column(header.upper(), header) for header in headers])
    return 0


@config.command("current-context")
def current_context() -> int:
    """The current context's name (exit 3 when none is set)."""
    file = load_config()
    if not file.current_context:
        click.echo(f"no current context in {file.path}", err=True)
        return 3
    click.echo(file.current_context)
    return 0
