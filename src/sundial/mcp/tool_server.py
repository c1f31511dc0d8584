"""The MCP server object: Sundial's tools registered on the SDK's MCPServer, with the
Upstream they call as its lifespan state (the SDK's way to hand shared state to tools)."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from sundial.mcp import run_tools, schedule_tools
from sundial.mcp.upstream import Upstream

NAME = "sundial"
INSTRUCTIONS = (
    "Sundial runs agents on schedules. A scheduled run (a schedule) fires an agent on a "
    "cadence given as a cron string or in words; every fire is a run, with a status and, "
    "once its worker finishes, an output. Check a cadence with preview_schedule, then "
    "create_scheduled_run (with an idempotency_key); find schedules with list_scheduled_runs "
    "and runs with list_runs; pause or resume with update_scheduled_run."
)


def build_server(upstream: Upstream) -> MCPServer[Upstream]:
    """The server with every tool, calling Sundial at `upstream`."""

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Upstream]) -> AsyncIterator[Upstream]:
        yield upstream

    server: MCPServer[Upstream] = MCPServer(
        NAME, instructions=INSTRUCTIONS, version=_version(), lifespan=lifespan
    )
    tools: tuple[tuple[Callable[..., Any], ToolAnnotations], ...] = (
        *schedule_tools.TOOLS,
        *run_tools.TOOLS,
    )
    for tool, annotations in tools:
        server.add_tool(tool, annotations=annotations, structured_output=True)
    return server


def run_stdio(upstream: Upstream) -> None:
    """Serves one MCP client on stdin/stdout until it closes them."""
    build_server(upstream).run("stdio")


def _version() -> str:
    try:
        return version("sundial")
    except PackageNotFoundError:
        return ""
