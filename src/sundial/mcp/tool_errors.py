"""A failed API call as an MCP tool error: a result with `isError` that the model reads and
can act on, not a protocol error that only the host sees (the SDK's own advice). The text
says what to do next; the structured part carries the status code and, for INVALID_ARGUMENT,
each field violation with the tool argument it came from, so a host can show it by field."""

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from mcp.types import CallToolResult, TextContent

from sundial.api.call_errors import ApiError, RequestDocumentError

_log = logging.getLogger("sundial.mcp")
P = ParamSpec("P")
R = TypeVar("R")

# What the model can do about each code, after the server's own message.
_ADVICE = {
    "PERMISSION_DENIED": (
        "The API key this MCP server calls Sundial with does not allow this. Other arguments "
        "will not help: ask the user for a key whose role allows it (a viewer key only reads; "
        "creating, changing and triggering need editor or admin)."
    ),
    "UNAUTHENTICATED": (
        "Sundial did not accept the API key (missing, wrong, expired or revoked). Ask the user "
        "to check the key the MCP server is given."
    ),
    "NOT_FOUND": "Check the id: list_scheduled_runs and list_runs show the ones that exist.",
    "ABORTED": "It changed since you read it: read it again, then retry with its new etag.",
    "UNAVAILABLE": "Sundial cannot be reached right now; retrying later may work.",
}


class ToolArgumentError(ValueError):
    """A tool argument the tool itself refused before calling the API."""

    def __init__(self, argument: str, description: str) -> None:
        super().__init__(f"{argument}: {description}")
        self.argument = argument
        self.description = description


def reports_api_errors(
    arguments: Mapping[str, str],
) -> Callable[[Callable[P, R]], Callable[P, R | CallToolResult]]:
    """Turns the tool's failed calls into tool errors. `arguments` maps a prefix of the
    server's field paths (`spec.initial_message`) to the tool argument that fills it
    (`message`), so the model is told which of its arguments to fix."""

    def decorate(tool: Callable[P, R]) -> Callable[P, R | CallToolResult]:
        @functools.wraps(tool)
        def call(*args: P.args, **kwargs: P.kwargs) -> R | CallToolResult:
            try:
                answer = tool(*args, **kwargs)
            except ApiError as error:
                failed = api_error_result(error, arguments)
            except ToolArgumentError as error:
                violation = {"field": error.argument, "argument": error.argument}
                violation["description"] = error.description
                failed = _result("INVALID_ARGUMENT", "an argument was refused", [violation])
            except RequestDocumentError as error:
                failed = _result("INVALID_ARGUMENT", str(error), [])
            else:
                _log.info("tool call", extra={"tool": tool.__name__, "code": "OK"})
                return answer
            # The arguments are the caller's data: only the tool and the code are logged.
            code = failed.structured_content["error"]["code"]
            _log.info("tool call failed", extra={"tool": tool.__name__, "code": code})
            return failed

        return call

    return decorate


def api_error_result(error: ApiError, arguments: Mapping[str, str]) -> CallToolResult:
    violations = [
        {
            "field": violation.field,
            "argument": _argument_of(violation.field, arguments),
            "description": violation.description,
        }
        for violation in error.violations
    ]
    return _result(error.code, error.message, violations)


def _argument_of(field: str, arguments: Mapping[str, str]) -> str | None:
    for prefix in sorted(arguments, key=len, reverse=True):
        if field == prefix or field.startswith((prefix + ".", prefix + "[")):
            return arguments[prefix]
    return None


def _result(code: str, message: str, violations: list[dict[str, Any]]) -> CallToolResult:
    lines = [f"{code}: {message}"]
    for violation in violations:
        name = violation["argument"] or violation["field"]
        lines.append(f"- {name}: {violation['description']}")
    if code in _ADVICE:
        lines.append(_ADVICE[code])
    error = {"code": code, "message": message, "field_violations": violations}
    return CallToolResult(
        content=[TextContent(type="text", text="\n".join(lines))],
        structured_content={"error": error},
        is_error=True,
    )
