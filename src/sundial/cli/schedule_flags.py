"""The `schedules create|update|preview` flags for the common cases, turned into the
ProtoJSON of a spec. Each flag says which spec field it sets (`FIELDS`), which is also the
update mask `schedules update` sends. Durations (`90s`, `15m`, `1h30m`, `2d`) and times
(ISO 8601 with an offset) are parsed here because ProtoJSON wants `5400s` and RFC 3339 UTC;
a value that does not parse is a usage error naming the flag, never a guess."""

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from sundial.cli.errors import Decorator
from sundial.cli.resource_commands import with_options

OVERLAP_POLICIES = ("allow", "skip", "buffer-one", "buffer-all", "cancel-other")

# flag parameter name -> the spec field (ProtoJSON path) it sets.
FIELDS = {
    "cron": "spec.schedule.cronExpressions",
    "every": "spec.schedule.intervals",
    "at": "spec.schedule.at",
    "timezone": "spec.schedule.timezone",
    "message": "spec.initialMessage",
    "overlap": "spec.overlapPolicy",
    "data": "spec.data",
    "notes": "spec.notes",
    "max_fires": "spec.maxFires",
    "name": "metadata.name",
}

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


class DurationType(click.ParamType[str, Any]):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        match = _DURATION.fullmatch(str(value))
        if not value or match is None:
            self.fail(f"{value!r} is not a duration like 90s, 15m, 1h30m or 2d", param, ctx)
        days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
        if total <= 0:
            self.fail(f"{value!r} must be longer than zero", param, ctx)
        return f"{total}s"


class TimestampType(click.ParamType[str, Any]):
    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time like 2026-12-24T18:00:00Z", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{value!r} needs an offset (Z or +01:00): which zone is it in?", param, ctx)
        return parsed.isoformat()


class JsonType(click.ParamType[Any, Any]):
    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return json.loads(str(value))
        except ValueError as error:
            self.fail(f"{value!r} is not JSON: {error}", param, ctx)


def spec_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """The flags of `schedules create` and `update`, given to the command as `flags`."""
    options: tuple[Decorator, ...] = (
        click.option("--name", help="the schedule's name"),
        *timing_flags_list(),
        click.option("--message", help="spec.initialMessage: what the agent is asked to do"),
        click.option(
            "--overlap",
            type=click.Choice(OVERLAP_POLICIES),
            help="when a run is still going at the next fire (default: skip)",
        ),
        click.option("--data", type=JsonType(), help="spec.data: JSON handed to each run"),
        click.option("--notes", help="spec.notes"),
        click.option("--max-fires", type=click.IntRange(min=1), help="stop after N fires"),
    )
    return with_options(command, options)


def timing_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """The flags that say when a schedule fires (`schedules preview` has only these)."""
    return with_options(command, timing_flags_list())


def timing_flags_list() -> tuple[Decorator, ...]:
    return (
        click.option("--cron", multiple=True, help="cron string, e.g. '0 9 * * MON-FRI' (repeat)"),
        click.option(
            "--every", multiple=True, type=DurationType(), help="interval: 90s, 15m, 1h30m (repeat)"
        ),
        click.option(
            "--at", multiple=True, type=TimestampType(), help="one-shot ISO 8601 time (repeat)"
        ),
        click.option("--timezone", help="IANA zone of cron strings and calendars (default UTC)"),
    )


def spec_document(flags: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`{"metadata": ..., "spec": ...}` from the flags given, and the fields they set."""
    metadata: dict[str, Any] = {}
    spec: dict[str, Any] = {}
    schedule = schedule_document(flags)
    if schedule:
        spec["schedule"] = schedule
    if flags.get("name") is not None:
        metadata["name"] = flags["name"]
    if flags.get("message") is not None:
        spec["initialMessage"] = flags["message"]
    if flags.get("overlap") is not None:
        spec["overlapPolicy"] = "OVERLAP_POLICY_" + flags["overlap"].upper().replace("-", "_")
    if flags.get("data") is not None:
        spec["data"] = flags["data"]
    if flags.get("notes") is not None:
        spec["notes"] = flags["notes"]
    if flags.get("max_fires") is not None:
        spec["maxFires"] = flags["max_fires"]
    given = [path for name, path in FIELDS.items() if flags.get(name) not in (None, ())]
    return {"metadata": metadata, "spec": spec}, given


def schedule_document(flags: dict[str, Any]) -> dict[str, Any]:
    """The `spec.schedule` part of the flags given (empty when none was)."""
    schedule: dict[str, Any] = {}
    if flags.get("cron"):
        schedule["cronExpressions"] = list(flags["cron"])
    if flags.get("every"):
        schedule["intervals"] = [{"every": every} for every in flags["every"]]
    if flags.get("at"):
        schedule["at"] = list(flags["at"])
    if flags.get("timezone") is not None:
        schedule["timezone"] = flags["timezone"]
    return schedule


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`base` (a file's document) with `overrides` (the flags) laid over it, key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged
