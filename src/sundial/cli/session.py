"""What every client command shares: where the server is and who calls it (flags, then
SUNDIAL_* variables, then the chosen context of the config file), the output format and
`--debug`. `@client_command` adds those options and hands the command a `Session`."""

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from sundial.cli import exit_codes
from sundial.cli.contexts import load_config
from sundial.cli.errors import DEBUG_KEY, CommandError

if TYPE_CHECKING:
    from sundial.api.json_client import JsonClient

DEFAULT_ADDRESS = "127.0.0.1:50051"
OUTPUT_FORMATS = ("table", "json", "yaml")


@dataclass
class Session:
    address: str
    api_key: str = field(repr=False)
    workspace: str
    account: str
    output: str
    _client: "JsonClient | None" = field(default=None, repr=False)

    def client(self) -> "JsonClient":
        if self._client is None:
            from sundial.api.json_client import JsonClient  # noqa: PLC0415

            if not self.api_key:
                raise CommandError(
                    "no API key: set SUNDIAL_API_KEY, pass --api-key-file, or give the "
                    "context one (sundial config set-context NAME --api-key-file FILE)"
                )
            self._client = JsonClient(self.address, self.api_key)
            click.get_current_context().call_on_close(self._client.close)
        return self._client

    def call(self, method: str, request: dict[str, Any]) -> dict[str, Any]:
        return self.client().call(method, request)

    def workspace_id(self) -> str:
        if not self.workspace:
            raise CommandError(
                "no workspace: pass --workspace, set SUNDIAL_WORKSPACE, or give the context one"
            )
        return self.workspace

    def account_id(self) -> str:
        if not self.account:
            raise CommandError(
                "no account: pass --account, set SUNDIAL_ACCOUNT, or give the context one "
                "(`sundial serve` prints it at start: `account: acct_...`)"
            )
        return self.account


def client_command(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the connection, output and debug options; the command gets `session` first."""

    @click.option("--context", "context_name", envvar="SUNDIAL_CONTEXT", help="context to use")
    @click.option(
        "--address", help=f"server's gRPC HOST:PORT [env SUNDIAL_ADDRESS; {DEFAULT_ADDRESS}]"
    )
    @click.option(
        "--api-key-file",
        type=click.Path(dir_okay=False),
        help="file holding the API key [env SUNDIAL_API_KEY holds the key itself]",
    )
    @click.option("--workspace", help="ws_ id [env SUNDIAL_WORKSPACE]")
    @click.option("--account", help="acct_ id, for workspaces and keys [env SUNDIAL_ACCOUNT]")
    @click.option(
        "-o",
        "--output",
        type=click.Choice(OUTPUT_FORMATS),
        help="table (default), or json/yaml: the ProtoJSON of the resource(s)",
    )
    @click.option("--debug", is_flag=True, help="show tracebacks")
    @functools.wraps(command)
    def with_session(
        context_name: str | None,
        address: str | None,
        api_key_file: str | None,
        workspace: str | None,
        account: str | None,
        output: str | None,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        if debug:
            click.get_current_context().meta[DEBUG_KEY] = True
        session = _session(context_name, address, api_key_file, workspace, account, output)
        return command(session, **kwargs)

    return with_session


def load_session(
    context_name: str | None, address: str | None, api_key_file: str | None, workspace: str | None
) -> Session:
    """The session of a command that has the connection options but no output format
    (`sundial mcp`)."""
    return _session(context_name, address, api_key_file, workspace, None, None)


def _session(
    context_name: str | None,
    address: str | None,
    api_key_file: str | None,
    workspace: str | None,
    account: str | None,
    output: str | None,
) -> Session:
    config = load_config()
    name = context_name or config.current_context
    context = config.context(name) if name else {}
    key_file = api_key_file or (
        None if "SUNDIAL_API_KEY" in os.environ else context.get("api-key-file")
    )
    return Session(
        address=address
        or os.environ.get("SUNDIAL_ADDRESS")
        or context.get("address")
        or DEFAULT_ADDRESS,
        api_key=_read_key(key_file) if key_file else os.environ.get("SUNDIAL_API_KEY", "").strip(),
        workspace=workspace or os.environ.get("SUNDIAL_WORKSPACE") or context.get("workspace", ""),
        account=account or os.environ.get("SUNDIAL_ACCOUNT") or context.get("account", ""),
        output=output or "table",
    )


def _read_key(path: str) -> str:
    """A secret never goes on the command line, where `ps` shows it: only its file does."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except OSError as error:
        raise CommandError(
            f"cannot read the API key file {path}: {error.strerror}", exit_codes.USAGE
        ) from None
