"""`sundial schedules describe`: one schedule in a readable layout, with its next fire
times (PreviewSchedule), its most recent runs (ListObjectives) and its counters. With
`-o json|yaml` it prints `{schedule, nextFireTimes, recentRuns}`."""

import click

from sundial.cli.output import Resource, display, print_document, print_fields, print_many
from sundial.cli.output import field_column as column
from sundial.cli.runs import COLUMNS as RUN_COLUMNS
from sundial.cli.runs import run_filter
from sundial.cli.schedules import ALL_AGENTS, agent_option, next_fires, schedules, when
from sundial.cli.session import Session, client_command


@schedules.command("describe")
@click.argument("schedule_id")
@agent_option()
@click.option("-n", "--count", type=click.IntRange(1, 100), default=5, show_default=True,
              help="next fire times and recent runs to show")  # fmt: skip
@client_command
def describe_schedule(session: Session, schedule_id: str, agent: str, count: int) -> int:
    """A schedule: its rules, status, counters, next fire times and recent runs."""
    workspace = session.workspace_id()
    schedule = session.call(
        "AgentScheduleService.GetAgentSchedule",
        {"workspaceId": workspace, "agentId": agent, "scheduleId": schedule_id},
    )
    rules = schedule.get("spec", {}).get("schedule", {})
    upcoming = (
        next_fires(session, rules, schedule_id, count, None).get("fireTimes", [])
        if schedule.get("spec", {}).get("status") == "AGENT_SCHEDULE_STATUS_ACTIVE"
        else []
    )
    runs = session.call(
        "ObjectiveService.ListObjectives",
        {
            "workspaceId": workspace,
            "agentId": schedule.get("info", {}).get("agentId", ALL_AGENTS),
            "filter": run_filter(schedule_id, None, ""),
            "pageSize": count,
        },
    ).get("objectives", [])
    if session.output != "table":
        document = {"schedule": schedule, "nextFireTimes": upcoming, "recentRuns": runs}
        print_document(session.output, document)
        return 0
    print_fields(f"Schedule {schedule_id}", _summary(schedule))
    click.echo()
    print_fields("Counters", _counters(schedule))
    click.echo()
    print_many("table", [{"time": time} for time in upcoming], (column("NEXT FIRES", "time"),))
    if not upcoming:
        click.echo("no next fire times (paused, archived, or the rules ran out)")
    click.echo()
    if runs:
        print_many("table", runs, RUN_COLUMNS)
    else:
        click.echo("no runs yet")
    return 0


def _summary(schedule: Resource) -> list[tuple[str, str]]:
    metadata, spec, info = (schedule.get(part, {}) for part in ("metadata", "spec", "info"))
    return [
        ("Name", display(metadata.get("name"))),
        ("Agent", display(info.get("agentId"))),
        ("Status", display(spec.get("status"))),
        ("When", when(schedule)),
        ("Description", display(info.get("description"))),
        ("Message", display(spec.get("initialMessage"))),
        ("Overlap", display(spec.get("overlapPolicy") or "OVERLAP_POLICY_SKIP")),
        ("Notes", display(spec.get("notes"))),
        ("Etag", display(metadata.get("etag"))),
    ]


def _counters(schedule: Resource) -> list[tuple[str, str]]:
    info = schedule.get("info", {})
    rows = [
        ("Fires", str(info.get("totalFires", 0))),
        ("Missed", str(info.get("missedFires", 0))),
        ("Skipped", str(info.get("skippedFires", 0))),
        ("Failures in a row", str(info.get("consecutiveFailureCount", 0))),
        ("Last fire", display(info.get("lastFireAt"))),
        ("Last run", display(info.get("lastObjectiveId"))),
        ("Last run status", display(info.get("lastObjectiveStatus"))),
        ("Next fire", display(info.get("nextFireAt"))),
        ("Running", display(info.get("runningObjectiveIds"))),
    ]
    if "remainingFires" in info:
        rows.append(("Fires left", str(info["remainingFires"])))
    if info.get("lastSkipReason"):
        rows.append(("Last skip", f"{info.get('lastSkippedAt', '')} {info['lastSkipReason']}"))
    return rows
