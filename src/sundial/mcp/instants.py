"""Times as the tools take and show them: RFC 3339 in, RFC 3339 UTC out (what the API
speaks), plus the wall-clock reading in the schedule's zone, because "09:00 in Los Angeles"
is what a person asked for and "16:00Z" is not how they would check it."""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sundial.mcp.tool_errors import ToolArgumentError


def instant_argument(argument: str, value: str) -> str:
    """`value` checked as an RFC 3339 time with an offset; refused naming `argument`."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ToolArgumentError(
            argument, f"{value!r} is not an RFC 3339 time like 2027-03-01T09:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise ToolArgumentError(argument, f"{value!r} needs an offset (Z or +01:00)")
    return parsed.isoformat()


def wall_clock(instant: str, zone: str) -> str:
    """`2026-05-12T08:00:00Z` read in `zone`: `Tue 2026-05-12 01:00 PDT`."""
    try:
        local = datetime.fromisoformat(instant).astimezone(ZoneInfo(zone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return instant
    return local.strftime("%a %Y-%m-%d %H:%M %Z")


def next_run_sentence(next_run_at: str | None, zone: str) -> str:
    """`Next run at 2026-05-12T08:00:00Z (Tue 2026-05-12 01:00 PDT, America/Los_Angeles).`"""
    if not next_run_at:
        return "It has no future runs."
    return f"Next run at {next_run_at} ({wall_clock(next_run_at, zone)}, {zone or 'UTC'})."
