"""`sundial mcp`: Sundial's tools for agents over the Model Context Protocol (sundial.mcp),
as a client of the gRPC API found like every client command's (--address, --context,
SUNDIAL_ADDRESS). Over stdio, what an MCP host starts as a subprocess, it calls with the
key in SUNDIAL_API_KEY (or --api-key-file); with --http it serves streamable HTTP and calls
with each request's own bearer key."""

import click

from sundial.cli.errors import CommandError, SundialCommand
from sundial.cli.serve import CheckedType
from sundial.cli.session import load_session
from sundial.settings import listen_address

DEFAULT_MCP_ADDRESS = "127.0.0.1:8765"


@click.command("mcp", cls=SundialCommand)
@click.option("--context", "context_name", envvar="SUNDIAL_CONTEXT", help="context to use")
@click.option("--address", help="server's gRPC HOST:PORT [env SUNDIAL_ADDRESS; 127.0.0.1:50051]")
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False),
    help="file holding the API key, for stdio [env SUNDIAL_API_KEY holds the key itself]",
)
@click.option("--workspace", help="ws_ id the tools work in [env SUNDIAL_WORKSPACE]")
@click.option("--http", "over_http", is_flag=True, help="serve streamable HTTP, not stdio")
@click.option(
    "--mcp-address",
    envvar="SUNDIAL_MCP_ADDRESS",
    default=DEFAULT_MCP_ADDRESS,
    show_default=True,
    type=CheckedType("HOST:PORT", listen_address),
    help="where --http listens (port 0: a free one) [env SUNDIAL_MCP_ADDRESS]",
)
def mcp_command(
    context_name: str | None,
    address: str | None,
    api_key_file: str | None,
    workspace: str | None,
    over_http: bool,
    mcp_address: str,
) -> int:
    """Serve Sundial's tools to MCP hosts (create_scheduled_run, list_runs, ...): on stdio
    for a host that starts this command, or with --http on --mcp-address at /mcp, where
    each request sends `Authorization: Bearer <key>` (and may pick another workspace with a
    Sundial-Workspace header)."""
    from sundial.mcp.upstream import Upstream  # noqa: PLC0415

    session = load_session(context_name, address, api_key_file, workspace)
    if over_http:
        from sundial.mcp.http_transport import serve_http  # noqa: PLC0415

        # The process's own key is never lent to HTTP callers: each brings its own.
        upstream = Upstream(session.address, session.workspace)
        host, _, port = mcp_address.rpartition(":")
        serve_http(
            upstream,
            host.strip("[]"),
            int(port),
            lambda url: click.echo(f"serving MCP on {url}"),
        )
        return 0
    if not session.api_key:
        raise CommandError(
            "no API key: set SUNDIAL_API_KEY, pass --api-key-file, or give the context one"
        )
    from sundial.mcp.tool_server import run_stdio  # noqa: PLC0415

    run_stdio(Upstream(session.address, session.workspace, session.api_key))
    return 0
