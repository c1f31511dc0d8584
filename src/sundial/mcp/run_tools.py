"""The tools that read runs (objectives): what schedules fired and what the agent's
workers made of them. All of them only read."""

import json
from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, JsonValue

from sundial.mcp.results import RunDetail, RunSummary, run_detail, run_summary
from sundial.mcp.schedule_tools import ANY_AGENT, agent_id_of
from sundial.mcp.tool_errors import reports_api_errors
from sundial.mcp.upstream import Upstream, connect

_FINAL = ("succeeded", "failed", "cancelled", "timed_out")
_RUN_ARGUMENTS = {
    "objective_id": "run_id",
    "objective_ids": "run_ids",
    "schedule_id": "schedule_id",
}

RunId = Annotated[str, Field(description="obj_ id, from list_runs or trigger_scheduled_run")]
RunStatus = Literal[
    "pending", "buffered", "running", "succeeded", "failed", "cancelled", "timed_out"
]


class RunList(BaseModel):
    runs: list[RunSummary] = Field(description="newest first")
    next_page_token: str = Field(description="pass as page_token for more; empty at the end")


class RunOutput(BaseModel):
    """What a run's worker reported."""

    run_id: str
    status: str
    finished: bool = Field(description="false while pending or running: check again later")
    has_output: bool
    output: JsonValue = Field(default=None, description="the worker's result on success")
    error: str | None = Field(default=None, description="why it failed, timed out or was cancelled")
    message: str


class ComparedRun(BaseModel):
    run_id: str
    status: str
    attempt: int
    trigger: str
    scheduled_for: str | None
    duration: str | None = Field(description='e.g. "12.5s"; null unless it started and ended')


class ComparedValue(BaseModel):
    run_id: str
    present: bool = Field(description="whether the run has this path at all")
    value: JsonValue = None


class Difference(BaseModel):
    path: str = Field(description='where the runs differ, e.g. "output.scores[2]"')
    values: list[ComparedValue]


class RunComparison(BaseModel):
    runs: list[ComparedRun]
    differences: list[Difference] = Field(description="empty when output and data agree")
    message: str


@reports_api_errors({**_RUN_ARGUMENTS, "agent_id": "agent", "filter": "status"})
def list_runs(
    ctx: Context[Upstream],
    schedule_id: Annotated[str, Field(description="Only this schedule's runs (sched_ id).")] = "",
    agent: Annotated[str, Field(description="Only this agent's (agent_ id or name).")] = "",
    status: Annotated[RunStatus | None, Field(description="Only runs in this status.")] = None,
    page_size: Annotated[int, Field(ge=1, le=100)] = 20,
    page_token: Annotated[str, Field(description="next_page_token of the previous page.")] = "",
) -> RunList:
    """List runs, newest first: each fire of a schedule, manual trigger, backfill or retry,
    with its status and when it ran. Narrow by schedule, agent or status."""
    terms = []
    if schedule_id:
        terms.append(f"schedule_id = {json.dumps(schedule_id)}")
    if status:
        terms.append(f"status = {status.upper()}")
    with connect(ctx) as api:
        page = api.call(
            "ObjectiveService.ListObjectives",
            {
                "workspaceId": api.workspace,
                "agentId": agent_id_of(api, agent) if agent else ANY_AGENT,
                "filter": " AND ".join(terms),
                "pageSize": page_size,
                "pageToken": page_token,
            },
        )
    return RunList(
        runs=[run_summary(objective) for objective in page.get("objectives", [])],
        next_page_token=page.get("nextPageToken", ""),
    )


def _get(ctx: Context[Upstream], run_id: str) -> RunDetail:
    with connect(ctx) as api:
        objective = api.call(
            "ObjectiveService.GetObjective",
            {"workspaceId": api.workspace, "agentId": ANY_AGENT, "objectiveId": run_id},
        )
    return run_detail(objective)


@reports_api_errors(_RUN_ARGUMENTS)
def get_run(ctx: Context[Upstream], run_id: RunId) -> RunDetail:
    """One run in full: its status, times, attempt, the message and data it was given, its
    error, and its output once it succeeded."""
    return _get(ctx, run_id)


@reports_api_errors(_RUN_ARGUMENTS)
def get_run_output(ctx: Context[Upstream], run_id: RunId) -> RunOutput:
    """What a run produced: the output its worker reported, or why it failed. A run still
    pending or running has none yet (finished is false): check again later."""
    run = _get(ctx, run_id)
    finished = run.status in _FINAL
    if run.has_output:
        said = f"Run {run_id} {run.status}; its output is in `output`."
    elif run.error:
        said = f"Run {run_id} {run.status}: {run.error}"
    elif finished:
        said = f"Run {run_id} {run.status} without output."
    else:
        said = f"Run {run_id} is {run.status}: no output yet."
    return RunOutput(
        run_id=run_id,
        status=run.status,
        finished=finished,
        has_output=run.has_output,
        output=run.output,
        error=run.error,
        message=said,
    )


@reports_api_errors(_RUN_ARGUMENTS)
def compare_runs(
    ctx: Context[Upstream],
    schedule_id: Annotated[str, Field(description="The schedule every run belongs to.")],
    run_ids: Annotated[
        list[str], Field(min_length=2, max_length=10, description="2 to 10 obj_ ids.")
    ],
) -> RunComparison:
    """Put runs of one schedule side by side: status, attempts and duration of each, and
    every path where their output or data differ. Use it to see what changed between a good
    run and a bad one."""
    with connect(ctx) as api:
        compared = api.call(
            "InsightService.CompareObjectives",
            {
                "workspaceId": api.workspace,
                "agentId": ANY_AGENT,
                "scheduleId": schedule_id,
                "objectiveIds": run_ids,
            },
        )
    runs = [
        ComparedRun(
            run_id=entry.get("objectiveId", ""),
            status=str(entry.get("status", "")).removeprefix("OBJECTIVE_STATUS_").lower(),
            attempt=entry.get("attempt", 1),
            trigger=str(entry.get("triggerKind", "")).removeprefix("TRIGGER_KIND_").lower(),
            scheduled_for=entry.get("scheduledTime"),
            duration=entry.get("duration"),
        )
        for entry in compared.get("objectives", [])
    ]
    differences = [
        Difference(
            path=difference.get("path", ""),
            values=[
                ComparedValue(
                    run_id=run.run_id, present=value.get("present", False), value=value.get("value")
                )
                for run, value in zip(runs, difference.get("values", []), strict=False)
            ],
        )
        for difference in compared.get("differences", [])
    ]
    said = f"{len(differences)} path(s) differ." if differences else "Their output and data agree."
    return RunComparison(runs=runs, differences=differences, message=said)


READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
TOOLS = (
    (list_runs, READ_ONLY),
    (get_run, READ_ONLY),
    (get_run_output, READ_ONLY),
    (compare_runs, READ_ONLY),
)
