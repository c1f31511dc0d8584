"""`sundial runs list|get|cancel|output`: objectives, one per fire, trigger or backfill
(sundial.v1.ObjectiveService). Without `--agent` they are looked up workspace-wide."""

import json

import click

from sundial.cli.errors import Decorator, SundialGroup
from sundial.cli.listing import list_options, list_resources
from sundial.cli.output import field_column, print_document, print_one
from sundial.cli.session import Session, client_command

ALL_AGENTS = "-"
STATUSES = ("pending", "buffered", "running", "succeeded", "failed", "cancelled", "timed_out")

COLUMNS = (
    field_column("ID", "metadata.id"),
    field_column("AGENT", "spec.agentId"),
    field_column("SCHEDULE", "spec.scheduleId"),
    field_column("STATUS", "info.status"),
    field_column("TRIGGER", "spec.triggerKind"),
    field_column("SCHEDULED", "spec.scheduledTime"),
    field_column("ATTEMPT", "info.attempt", "0"),
)


def agent_option() -> Decorator:
    return click.option(
        "--agent", default=ALL_AGENTS, help="agent_ id (default: any agent of the workspace)"
    )


@click.group("runs", cls=SundialGroup)
def runs() -> None:
    """Objectives: what schedules fired and how the agent's workers did."""


@runs.command("list")
@agent_option()
@click.option("--schedule", default="", help="only this schedule's runs (sched_ id)")
@click.option("--status", type=click.Choice(STATUSES), help="only runs in this status")
@click.option("--filter", "filter_", default="", help="AIP-160 filter, ANDed with the above")
@list_options
@client_command
def list_runs(
    session: Session,
    agent: str,
    schedule: str,
    status: str | None,
    filter_: str,
    every_page: bool,
    page_size: int,
    page_token: str,
) -> int:
    """Runs, newest first."""
    request = {
        "workspaceId": session.workspace_id(),
        "agentId": agent,
        "filter": run_filter(schedule, status, filter_),
    }
    return list_resources(
        session,
        "ObjectiveService.ListObjectives",
        request,
        "objectives",
        COLUMNS,
        every_page=every_page,
        page_size=page_size,
        page_token=page_token,
    )


def run_filter(schedule: str, status: str | None, extra: str) -> str:
    terms = []
    if schedule:
        terms.append(f"schedule_id = {json.dumps(schedule)}")
    if status:
        terms.append(f"status = OBJECTIVE_STATUS_{status.upper()}")
    if extra:
        terms.append(f"({extra})")
    return " AND ".join(terms)


@runs.command("get")
@click.argument("objective_id")
@agent_option()
@client_command
def get_run(session: Session, objective_id: str, agent: str) -> int:
    """One run."""
    request = {"workspaceId": session.workspace_id(), "agentId": agent, "objectiveId": objective_id}
    print_one(session.output, session.call("ObjectiveService.GetObjective", request), COLUMNS)
    return 0


@runs.command("cancel")
@click.argument("objective_id")
@agent_option()
@click.option("--reason", default="", help="recorded on the run")
@client_command
def cancel_run(session: Session, objective_id: str, agent: str, reason: str) -> int:
    """Cancel a pending or running run."""
    request = {
        "workspaceId": session.workspace_id(),
        "agentId": agent,
        "objectiveId": objective_id,
        "reason": reason,
    }
    print_one(session.output, session.call("ObjectiveService.CancelObjective", request), COLUMNS)
    return 0


@runs.command("output")
@click.argument("objective_id")
@agent_option()
@client_command
def run_output(session: Session, objective_id: str, agent: str) -> int:
    """What the run's worker reported: its output, or its error (exit 1 if it failed)."""
    request = {"workspaceId": session.workspace_id(), "agentId": agent, "objectiveId": objective_id}
    objective = session.call("ObjectiveService.GetObjective", request)
    info = objective.get("info", {})
    if "output" in info:
        output = info["output"]
        if session.output == "table":
            text = output if isinstance(output, str) else json.dumps(output, indent=2)
            click.echo(text, nl=not text.endswith("\n"))
        else:
            print_document(session.output, output)
        return 0
    status = info.get("status", "OBJECTIVE_STATUS_UNSPECIFIED").removeprefix("OBJECTIVE_STATUS_")
    if info.get("error"):
        click.echo(f"{status}: {info['error']}", err=True)
        return 1
    click.echo(f"{objective_id} has no output ({status})", err=True)
    return 1
