"""`sundial schedules ...` (sundial.v1.AgentScheduleService). A schedule is found by its
sched_ id alone (the server looks it up across agents) unless `--agent` narrows it;
only `create` needs the agent. `describe` lives in sundial.cli.describe."""

from typing import Any

import click

from sundial.cli.documents import file_option, read_document
from sundial.cli.errors import CommandError, Decorator, SundialGroup
from sundial.cli.listing import list_options, list_resources
from sundial.cli.output import Column, Resource, field_column, print_many, print_one
from sundial.cli.runs import COLUMNS as RUN_COLUMNS
from sundial.cli.schedule_flags import (
    TimestampType,
    merge,
    schedule_document,
    spec_document,
    spec_flags,
    timing_flags,
)
from sundial.cli.session import Session, client_command

ALL_AGENTS = "-"


def when(schedule: Resource) -> str:
    """The rules in brief: `cron 0 9 * * *`, `every 3600s`, `at ...`, `3 calendars`."""
    rules = schedule.get("spec", {}).get("schedule", {})
    parts = [f"cron {cron}" for cron in rules.get("cronExpressions", [])]
    parts += [f"every {interval.get('every', '')}" for interval in rules.get("intervals", [])]
    parts += [f"at {at}" for at in rules.get("at", [])]
    calendars = len(rules.get("calendars", []))
    if calendars:
        parts.append(f"{calendars} calendar{'s' if calendars > 1 else ''}")
    zone = rules.get("timezone")
    return "; ".join(parts) + (f" ({zone})" if zone else "")


COLUMNS = (
    field_column("ID", "metadata.id"),
    field_column("AGENT", "info.agentId"),
    field_column("NAME", "metadata.name"),
    field_column("STATUS", "spec.status"),
    Column("WHEN", when),
    field_column("NEXT FIRE", "info.nextFireAt"),
    field_column("FIRES", "info.totalFires", "0"),
)


def agent_option() -> Decorator:
    return click.option(
        "--agent", default=ALL_AGENTS, help="agent_ id (default: found from the schedule id)"
    )


def _ids(session: Session, agent: str, schedule_id: str) -> dict[str, str]:
    return {"workspaceId": session.workspace_id(), "agentId": agent, "scheduleId": schedule_id}


@click.group("schedules", cls=SundialGroup)
def schedules() -> None:
    """Agent schedules: when Sundial fires a run of an agent."""


@schedules.command("list")
@agent_option()
@click.option("--filter", "filter_", default="", help="AIP-160 filter, e.g. 'status = PAUSED'")
@click.option("--show-archived", is_flag=True, help="include archived schedules")
@list_options
@client_command
def list_schedules(
    session: Session,
    agent: str,
    filter_: str,
    show_archived: bool,
    every_page: bool,
    page_size: int,
    page_token: str,
) -> int:
    """The schedules of the workspace (or of one agent)."""
    request = {
        "workspaceId": session.workspace_id(),
        "agentId": "" if agent == ALL_AGENTS else agent,
        "filter": filter_,
        "showArchived": show_archived,
    }
    return list_resources(
        session,
        "AgentScheduleService.ListAgentSchedules",
        request,
        "agentSchedules",
        COLUMNS,
        every_page=every_page,
        page_size=page_size,
        page_token=page_token,
    )


@schedules.command("get")
@click.argument("schedule_id")
@agent_option()
@client_command
def get_schedule(session: Session, schedule_id: str, agent: str) -> int:
    """One schedule."""
    schedule = session.call(
        "AgentScheduleService.GetAgentSchedule", _ids(session, agent, schedule_id)
    )
    print_one(session.output, schedule, COLUMNS)
    return 0


@schedules.command("create")
@click.argument("agent_id")
@spec_flags
@click.option("--paused", is_flag=True, help="create it paused")
@file_option()
@click.option("--request-id", default="", help="idempotency key (24 h)")
@click.option("--validate-only", is_flag=True, help="check, and show what would be created")
@client_command
def create_schedule(
    session: Session,
    agent_id: str,
    paused: bool,
    file: str | None,
    request_id: str,
    validate_only: bool,
    **flags: Any,
) -> int:
    """A new schedule of AGENT_ID, from flags (--cron/--every/--at, --message, ...) and/or
    -f FILE (`metadata` and `spec`, as `schedules get -o yaml` prints them, without the
    output-only fields); flags win over the file."""
    document, _ = spec_document(flags)
    if paused:
        document["spec"]["status"] = "AGENT_SCHEDULE_STATUS_PAUSED"
    if file:
        document = merge(_create_document(read_document(file), file), document)
    request = {
        "workspaceId": session.workspace_id(),
        "agentId": agent_id,
        **document,
        "requestId": request_id,
        "validateOnly": validate_only,
    }
    schedule = session.call("AgentScheduleService.CreateAgentSchedule", request)
    print_one(session.output, schedule, COLUMNS)
    return 0


def _create_document(document: dict[str, Any], path: str) -> dict[str, Any]:
    unknown = sorted(set(document) - {"metadata", "spec"})
    if unknown:
        raise CommandError(f"{path}: {unknown[0]} is not one of metadata, spec")
    return {"metadata": document.get("metadata") or {}, "spec": document.get("spec") or {}}


@schedules.command("update")
@click.argument("schedule_id")
@agent_option()
@spec_flags
@file_option()
@click.option("--etag", default="", help="update only if the schedule is still at this etag")
@client_command
def update_schedule(
    session: Session, schedule_id: str, agent: str, file: str | None, etag: str, **flags: Any
) -> int:
    """Change the fields the flags name (e.g. --cron replaces the cron strings), or with
    -f FILE every field the file sets."""
    document, fields = spec_document(flags)
    if file:
        document = merge(_create_document(read_document(file), file), document)
        fields = []  # every populated field
    elif not fields:
        raise CommandError("nothing to change: give a flag (--cron, --message, ...) or -f FILE")
    request = {
        **_ids(session, agent, schedule_id),
        **document,
        "etag": etag,
        "updateMask": ",".join(fields),
    }
    schedule = session.call("AgentScheduleService.UpdateAgentSchedule", request)
    print_one(session.output, schedule, COLUMNS)
    return 0


def _status_command(name: str, method: str, summary: str, *, reason: bool = False) -> None:
    @schedules.command(name, help=summary)
    @click.argument("schedule_id")
    @agent_option()
    @click.option("--etag", default="", help="only if the schedule is still at this etag")
    @client_command
    def change(session: Session, schedule_id: str, agent: str, etag: str, **extra: Any) -> int:
        request = {**_ids(session, agent, schedule_id), "etag": etag, **extra}
        print_one(session.output, session.call(method, request), COLUMNS)
        return 0

    if reason:
        click.option("--reason", default="", help="kept in the schedule's notes")(change)


_status_command(
    "pause", "AgentScheduleService.PauseAgentSchedule", "Stop firing (resume does not replay).",
    reason=True,
)  # fmt: skip
_status_command(
    "resume", "AgentScheduleService.ResumeAgentSchedule", "Fire again from the next fire time."
)
_status_command(
    "archive", "AgentScheduleService.ArchiveAgentSchedule", "Stop for good (hidden from list)."
)


@schedules.command("delete")
@click.argument("schedule_id")
@agent_option()
@click.option("--etag", default="", help="delete only if the schedule is still at this etag")
@client_command
def delete_schedule(session: Session, schedule_id: str, agent: str, etag: str) -> int:
    """Delete a schedule (its runs stay)."""
    request = {**_ids(session, agent, schedule_id), "etag": etag}
    session.call("AgentScheduleService.DeleteAgentSchedule", request)
    click.echo(f"deleted {schedule_id}", err=session.output != "table")
    return 0


@schedules.command("trigger")
@click.argument("schedule_id")
@agent_option()
@click.option("--request-id", default="", help="idempotency key (24 h): one run per key")
@client_command
def trigger_schedule(session: Session, schedule_id: str, agent: str, request_id: str) -> int:
    """Fire now: a run outside the schedule's times; prints the run."""
    request = {**_ids(session, agent, schedule_id), "requestId": request_id}
    run = session.call("AgentScheduleService.TriggerAgentSchedule", request)
    print_one(session.output, run, RUN_COLUMNS)
    return 0


@schedules.command("backfill")
@click.argument("schedule_id")
@agent_option()
@click.option("--start", required=True, type=TimestampType(), help="from (inclusive), ISO 8601")
@click.option("--end", required=True, type=TimestampType(), help="to (exclusive), not after now")
@client_command
def backfill_schedule(session: Session, schedule_id: str, agent: str, start: str, end: str) -> int:
    """Fire every nominal time of the schedule in [--start, --end) (at most 10,000); times
    that have a run already are not fired again."""
    request = {**_ids(session, agent, schedule_id), "startTime": start, "endTime": end}
    response = session.call("AgentScheduleService.BackfillAgentSchedule", request)
    if session.output != "table":
        print_one(session.output, response, ())
        return 0
    print_many("table", response.get("objectives", []), RUN_COLUMNS)
    click.echo(
        f"created {response.get('createdCount', 0)}, already there "
        f"{response.get('existingCount', 0)}, skipped {response.get('skippedCount', 0)}"
    )
    return 0


@schedules.command("preview")
@click.argument("schedule_id", required=False)
@timing_flags
@click.option("-n", "--count", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--after", type=TimestampType(), help="fire times after this (default: now)")
@client_command
def preview_schedule(
    session: Session, schedule_id: str | None, count: int, after: str | None, **flags: Any
) -> int:
    """The next fire times of a schedule (SCHEDULE_ID), or of rules given as flags
    (--cron/--every/--at/--timezone) before creating anything."""
    rules = schedule_document(flags)
    if schedule_id and rules:
        raise CommandError("give a SCHEDULE_ID or rules (--cron, --every, --at), not both")
    if schedule_id:
        schedule = session.call(
            "AgentScheduleService.GetAgentSchedule", _ids(session, ALL_AGENTS, schedule_id)
        )
        rules = schedule.get("spec", {}).get("schedule", {})
    elif not rules:
        raise CommandError("give a SCHEDULE_ID or rules to preview (--cron, --every, --at)")
    preview = next_fires(session, rules, schedule_id or "", count, after)
    if session.output != "table":
        print_one(session.output, preview, ())
        return 0
    rows = [
        {"fire": fire, "nominal": nominal}
        for fire, nominal in zip(
            preview.get("fireTimes", []), preview.get("nominalTimes", []), strict=False
        )
    ]
    print_many(
        "table", rows, (field_column("FIRES AT", "fire"), field_column("NOMINAL", "nominal"))
    )
    return 0


def next_fires(
    session: Session, rules: dict[str, Any], schedule_id: str, count: int, after: str | None
) -> dict[str, Any]:
    request: dict[str, Any] = {"schedule": rules, "scheduleId": schedule_id, "count": count}
    if after:
        request["startTime"] = after
    return session.call("AgentScheduleService.PreviewSchedule", request)
