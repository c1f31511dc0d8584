"""Where the tools' calls go and whose key they carry. Over stdio the process has one key
(SUNDIAL_API_KEY, as for every client command). Over HTTP each request brings its own
`Authorization: Bearer <key>` and the tools call Sundial with that key, so the gRPC API
decides what the caller may do, as for any other client; an HTTP caller never gets the key
the process was started with.

A new JsonClient per tool call costs little: gRPC channels to one address share their
connections (gRPC core's subchannel pool), and nothing is kept that a key could leak into."""

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import Context

from sundial.api.call_errors import ApiError
from sundial.api.json_client import JsonClient

WORKSPACE_HEADER = "sundial-workspace"
_BEARER = "bearer "


@dataclass(frozen=True)
class Api:
    """One tool call's connection to Sundial, and the workspace it works in."""

    client: JsonClient
    workspace: str

    def call(self, method: str, request: Mapping[str, Any]) -> dict[str, Any]:
        return self.client.call(method, request)


@dataclass(frozen=True)
class Upstream:
    """The Sundial server the tools call. `api_key` is the process's own key (stdio);
    empty over HTTP, where every request must bring one."""

    address: str
    workspace: str
    api_key: str = field(default="", repr=False)

    @contextmanager
    def connect(self, headers: Mapping[str, str] | None) -> Iterator[Api]:
        """A connection for a call with these HTTP request headers (None over stdio)."""
        key = self.api_key if headers is None else bearer_key(headers)
        if not key:
            raise ApiError(
                "UNAUTHENTICATED",
                "no API key: send `Authorization: Bearer <key>` with each request"
                if headers is not None
                else "no API key: start `sundial mcp` with SUNDIAL_API_KEY set",
            )
        workspace = (headers or {}).get(WORKSPACE_HEADER, "") or self.workspace
        if not workspace:
            raise ApiError(
                "FAILED_PRECONDITION",
                "no workspace: start `sundial mcp` with --workspace (or SUNDIAL_WORKSPACE), "
                "or send a Sundial-Workspace header",
            )
        with JsonClient(self.address, key) as client:
            yield Api(client, workspace)

    def accepts(self, key: str) -> bool | None:
        """Whether Sundial accepts `key` (one call any valid key may make); None when it
        cannot tell (unreachable), so that the tool call reports why."""
        try:
            with JsonClient(self.address, key) as client:
                client.call("WorkspaceService.ListWorkspaces", {"accountId": "-", "pageSize": 1})
        except ApiError as error:
            if error.code == "UNAUTHENTICATED":
                return False
            # Authenticated, however the call itself ended (no grant, no such account).
            return None if error.code in _UNDECIDED else True
        return True


_UNDECIDED = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "UNKNOWN"})


def connect(ctx: "Context[Upstream]") -> AbstractContextManager[Api]:
    """The connection for the tool call `ctx` belongs to (the Upstream is the server's
    lifespan state, see tool_server.py)."""
    return ctx.request_context.lifespan_context.connect(ctx.headers)


def bearer_key(headers: Mapping[str, str]) -> str:
    """The key of an `Authorization: Bearer <key>` header, or empty."""
    value = headers.get("authorization", "")
    if not value.lower().startswith(_BEARER):
        return ""
    return value[len(_BEARER) :].strip()
