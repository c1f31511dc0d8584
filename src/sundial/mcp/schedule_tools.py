"""The tools that make and change schedules ("scheduled runs" to the model, as in seed 000).
A cadence is always read by the server's ParseSchedule, which takes cron strings as written
and English words alike, so the MCP server has no schedule grammar of its own.

Each tool's docstring is the description the model chooses by; its arguments' `Field`
descriptions are what it fills them from."""

import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, JsonValue

from sundial.mcp.instants import instant_argument, next_run_sentence, wall_clock
from sundial.mcp.results import RunSummary, ScheduleSummary, run_summary, schedule_summary
from sundial.mcp.tool_errors import ToolArgumentError, reports_api_errors
from sundial.mcp.upstream import Api, Upstream, connect

ANY_AGENT = "-"
_SERVICE = "AgentScheduleService"

CADENCE_FORMS = (
    'A cron string ("0 9 * * 1-5", "*/15 * * * *", "@daily") or words: "every weekday at '
    '9am", "every 15 minutes", "mondays and thursdays at 18:30", "on the 1st and 15th at '
    '8:00", "first monday of every month at 10", "tomorrow at noon", "every hour until '
    '2027-01-01". Words may name a zone ("9am Pacific").'
)
Cadence = Annotated[str, Field(description=CADENCE_FORMS)]
TimeZone = Annotated[
    str,
    Field(
        description=(
            "Time zone the cadence is read in when it names none: an IANA name "
            '("America/Los_Angeles") or a common name ("Pacific", "Berlin", "UTC"). '
            "Default UTC."
        )
    ),
]
ScheduleId = Annotated[str, Field(description="sched_ id, from list_scheduled_runs")]
Etag = Annotated[
    str,
    Field(description="Only if the schedule is still at this etag (from an earlier answer)."),
]

# Server field paths -> the argument that fills them, for the errors' field violations.
_CREATE_ARGUMENTS = {
    "text": "cadence",
    "timezone": "timezone",
    "spec.schedule": "cadence",
    "spec.schedule.timezone": "timezone",
    "spec.initial_message": "message",
    "spec.data": "data",
    "metadata.name": "name",
    "agent_id": "agent",
    "request_id": "idempotency_key",
}
_SCHEDULE_ARGUMENTS = {**_CREATE_ARGUMENTS, "schedule_id": "schedule_id", "etag": "etag"}
_PREVIEW_ARGUMENTS = {**_SCHEDULE_ARGUMENTS, "start_time": "after", "count": "count"}


class ScheduleAnswer(BaseModel):
    """A schedule and a sentence about what just happened to it."""

    schedule: ScheduleSummary
    message: str = Field(description='e.g. "Schedule created. Next run at ..."')


class ScheduleList(BaseModel):
    schedules: list[ScheduleSummary]
    next_page_token: str = Field(description="pass as page_token for more; empty at the end")


class DeletedSchedule(BaseModel):
    schedule_id: str
    message: str


class TriggeredRun(BaseModel):
    run: RunSummary
    message: str


class SchedulePreview(BaseModel):
    """When rules would fire, before (or without) creating anything."""

    fire_times: list[str] = Field(description="RFC 3339 UTC, oldest first")
    local_times: list[str] = Field(description="the same times on the wall clock of `timezone`")
    timezone: str
    description: str = Field(description="the rules in English")
    message: str


class ParsedSchedule(BaseModel):
    """What a cadence means to Sundial."""

    schedule: dict[str, JsonValue] = Field(
        description="the rules (AgentScheduleSpecSchedule as ProtoJSON), as create stores them"
    )
    description: str = Field(description="the rules in English")
    timezone: str
    confidence: float = Field(description="1.0 when every part was given; lower when assumed")
    method: str = Field(description="grammar (words) or cron (a cron string kept as written)")


def parse_cadence(api: Api, cadence: str, timezone: str) -> dict[str, Any]:
    """ParseSchedule's answer for `cadence` (its field violations name `text`)."""
    return api.call(f"{_SERVICE}.ParseSchedule", {"text": cadence, "timezone": timezone})


def agent_id_of(api: Api, agent: str) -> str:
    """An agent_ id as given, or the id of the one agent with this exact name."""
    if agent.startswith("agent_"):
        return agent
    listed = api.call(
        "AgentService.ListAgents",
        {"workspaceId": api.workspace, "filter": f"name = {json.dumps(agent)}", "pageSize": 10},
    )
    ids: list[str] = [found["metadata"]["id"] for found in listed.get("agents", [])]
    if not ids:
        raise ToolArgumentError(
            "agent", f"no agent is named {agent!r} in {api.workspace}; give its agent_ id"
        )
    if len(ids) > 1:
        raise ToolArgumentError(
            "agent", f"{len(ids)} agents are named {agent!r}; give one id of: {', '.join(ids)}"
        )
    return ids[0]


def _ids(api: Api, schedule_id: str) -> dict[str, str]:
    return {"workspaceId": api.workspace, "agentId": ANY_AGENT, "scheduleId": schedule_id}


@reports_api_errors(_CREATE_ARGUMENTS)
def create_scheduled_run(
    ctx: Context[Upstream],
    agent: Annotated[str, Field(description="The agent each run goes to: agent_ id or name.")],
    cadence: Cadence,
    message: Annotated[str, Field(description="What each run asks the agent to do.")],
    timezone: TimeZone = "",
    data: Annotated[
        JsonValue, Field(description="JSON handed to every run (must fit the agent's schema).")
    ] = None,
    name: Annotated[str, Field(description="A name for the schedule (default: the cadence).")] = "",
    idempotency_key: Annotated[
        str,
        Field(
            description=(
                "Any unique string. Retrying with the same key within 24 hours returns the "
                "schedule the first call created instead of making a second one."
            )
        ),
    ] = "",
    paused: Annotated[bool, Field(description="Create it paused (no runs until resumed).")] = False,
) -> ScheduleAnswer:
    """Create a schedule that runs an agent on a recurring cadence, or once at a given time.
    Every run sends the agent `message` (and `data`); runs then show in list_runs, get_run,
    get_run_output and compare_runs. Not sure what words mean? Check with preview_schedule
    first. Pass idempotency_key so a retry cannot create a duplicate."""
    with connect(ctx) as api:
        parsed = parse_cadence(api, cadence, timezone)
        spec: dict[str, Any] = {"initialMessage": message, "schedule": parsed.get("schedule", {})}
        if data is not None:
            spec["data"] = data
        if paused:
            spec["status"] = "AGENT_SCHEDULE_STATUS_PAUSED"
        created = api.call(
            f"{_SERVICE}.CreateAgentSchedule",
            {
                "workspaceId": api.workspace,
                "agentId": agent_id_of(api, agent),
                "metadata": {"name": name or cadence[:100]},
                "spec": spec,
                "requestId": idempotency_key,
            },
        )
    summary = schedule_summary(created)
    if paused:
        said = "Schedule created, paused: it runs only once resumed (update_scheduled_run)."
    else:
        said = "Schedule created. " + next_run_sentence(summary.next_run_at, summary.timezone)
    confidence = parsed.get("confidence", 1.0)
    if confidence < 1:
        said += (
            f" Some of the cadence was assumed (confidence {confidence:.1f}): it reads as "
            f"{parsed.get('description', '')!r}; if that is not what was meant, change it "
            "with update_scheduled_run."
        )
    return ScheduleAnswer(schedule=summary, message=said)


@reports_api_errors({"agent_id": "agent", "filter": "status", "page_token": "page_token"})
def list_scheduled_runs(
    ctx: Context[Upstream],
    agent: Annotated[str, Field(description="Only this agent's (agent_ id or name).")] = "",
    status: Annotated[
        Literal["active", "paused", "archived"] | None,
        Field(description="Only schedules in this status (default: active and paused)."),
    ] = None,
    page_size: Annotated[int, Field(ge=1, le=100)] = 20,
    page_token: Annotated[str, Field(description="next_page_token of the previous page.")] = "",
) -> ScheduleList:
    """List the workspace's schedules, oldest first, with their cadence, status, next run
    and how their last run went. Use it to find a schedule_id."""
    with connect(ctx) as api:
        request = {
            "workspaceId": api.workspace,
            "agentId": agent_id_of(api, agent) if agent else "",
            "filter": f"status = {status.upper()}" if status else "",
            "showArchived": status == "archived",
            "pageSize": page_size,
            "pageToken": page_token,
        }
        page = api.call(f"{_SERVICE}.ListAgentSchedules", request)
    return ScheduleList(
        schedules=[schedule_summary(found) for found in page.get("agentSchedules", [])],
        next_page_token=page.get("nextPageToken", ""),
    )


@reports_api_errors(_SCHEDULE_ARGUMENTS)
def update_scheduled_run(
    ctx: Context[Upstream],
    schedule_id: ScheduleId,
    cadence: Annotated[str | None, Field(description=f"A new cadence. {CADENCE_FORMS}")] = None,
    timezone: Annotated[
        str | None, Field(description="A new time zone (IANA or a common name).")
    ] = None,
    message: Annotated[str | None, Field(description="A new message for future runs.")] = None,
    data: Annotated[JsonValue | None, Field(description="New JSON for future runs.")] = None,
    name: Annotated[str | None, Field(description="A new name.")] = None,
    status: Annotated[
        Literal["active", "paused"] | None,
        Field(description="paused stops its runs; active resumes them (no replay of the gap)."),
    ] = None,
    reason: Annotated[str, Field(description="Why it is paused (kept in its notes).")] = "",
    etag: Etag = "",
) -> ScheduleAnswer:
    """Change a schedule: its cadence, time zone, message, data or name, and/or pause it
    (status "paused") or resume it (status "active"). Only the arguments given change."""
    if reason and status != "paused":
        raise ToolArgumentError("reason", 'a reason goes with status "paused"')
    with connect(ctx) as api:
        changed = _update_fields(api, schedule_id, cadence, timezone, message, data, name, etag)
        if status is not None:
            method = "PauseAgentSchedule" if status == "paused" else "ResumeAgentSchedule"
            # After an update the etag given is the old version's: the update checked it.
            request = {**_ids(api, schedule_id), "etag": "" if changed else etag}
            if reason:
                request["reason"] = reason
            changed = api.call(f"{_SERVICE}.{method}", request)
    if changed is None:
        raise ToolArgumentError(
            "status", "nothing to change: give cadence, timezone, message, data, name or status"
        )
    summary = schedule_summary(changed)
    if summary.status == "paused":
        said = "Schedule paused: no runs until it is resumed (status active)."
    else:
        verb = "resumed" if status == "active" else "updated"
        said = f"Schedule {verb}. " + next_run_sentence(summary.next_run_at, summary.timezone)
    return ScheduleAnswer(schedule=summary, message=said)


def _update_fields(
    api: Api,
    schedule_id: str,
    cadence: str | None,
    timezone: str | None,
    message: str | None,
    data: JsonValue | None,
    name: str | None,
    etag: str,
) -> dict[str, Any] | None:
    """UpdateAgentSchedule with the fields given (None when none was)."""
    spec: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    mask: list[str] = []
    if cadence is not None:
        zone = timezone
        if zone is None:
            current = api.call(f"{_SERVICE}.GetAgentSchedule", _ids(api, schedule_id))
            zone = current.get("spec", {}).get("schedule", {}).get("timezone", "")
        spec["schedule"] = parse_cadence(api, cadence, zone).get("schedule", {})
        mask.append("spec.schedule")
    elif timezone is not None:
        spec["schedule"] = {"timezone": timezone}
        mask.append("spec.schedule.timezone")
    if message is not None:
        spec["initialMessage"] = message
        mask.append("spec.initialMessage")
    if data is not None:
        spec["data"] = data
        mask.append("spec.data")
    if name is not None:
        metadata["name"] = name
        mask.append("metadata.name")
    if not mask:
        return None
    request = {
        **_ids(api, schedule_id),
        "spec": spec,
        "metadata": metadata,
        "updateMask": ",".join(mask),
        "etag": etag,
    }
    return api.call(f"{_SERVICE}.UpdateAgentSchedule", request)


@reports_api_errors(_SCHEDULE_ARGUMENTS)
def delete_scheduled_run(
    ctx: Context[Upstream], schedule_id: ScheduleId, etag: Etag = ""
) -> DeletedSchedule:
    """Delete a schedule for good: it runs no more. Its past runs are kept and still show
    in list_runs. To stop it for a while instead, pause it with update_scheduled_run."""
    with connect(ctx) as api:
        api.call(f"{_SERVICE}.DeleteAgentSchedule", {**_ids(api, schedule_id), "etag": etag})
    return DeletedSchedule(
        schedule_id=schedule_id, message=f"Schedule {schedule_id} deleted; its past runs remain."
    )


@reports_api_errors(_SCHEDULE_ARGUMENTS)
def trigger_scheduled_run(
    ctx: Context[Upstream],
    schedule_id: ScheduleId,
    idempotency_key: Annotated[
        str, Field(description="The same key within 24 hours returns the same run.")
    ] = "",
) -> TriggeredRun:
    """Run a schedule now, once, outside its cadence (its next scheduled runs stay as they
    are). Answers the new run; follow it with get_run and get_run_output."""
    with connect(ctx) as api:
        objective = api.call(
            f"{_SERVICE}.TriggerAgentSchedule",
            {**_ids(api, schedule_id), "requestId": idempotency_key},
        )
    run = run_summary(objective)
    return TriggeredRun(
        run=run, message=f"Run {run.run_id} queued now ({run.status}); see get_run_output."
    )


@reports_api_errors(_PREVIEW_ARGUMENTS)
def preview_schedule(
    ctx: Context[Upstream],
    cadence: Annotated[str, Field(description=f"Rules to preview. {CADENCE_FORMS}")] = "",
    schedule_id: Annotated[str, Field(description="Or: an existing schedule's sched_ id.")] = "",
    timezone: TimeZone = "",
    count: Annotated[int, Field(ge=1, le=50, description="How many fire times.")] = 5,
    after: Annotated[
        str, Field(description="Fire times after this RFC 3339 time (default: now).")
    ] = "",
) -> SchedulePreview:
    """Show when a cadence (or an existing schedule) would fire next, with each time on the
    zone's wall clock, without creating or changing anything. Use it to check a cadence
    before create_scheduled_run."""
    if bool(cadence) == bool(schedule_id):
        raise ToolArgumentError("cadence", "give a cadence or a schedule_id (one, not both)")
    with connect(ctx) as api:
        if cadence:
            rules = parse_cadence(api, cadence, timezone).get("schedule", {})
        else:
            schedule = api.call(f"{_SERVICE}.GetAgentSchedule", _ids(api, schedule_id))
            rules = schedule.get("spec", {}).get("schedule", {})
        request: dict[str, Any] = {"schedule": rules, "scheduleId": schedule_id, "count": count}
        if after:
            request["startTime"] = instant_argument("after", after)
        preview = api.call(f"{_SERVICE}.PreviewSchedule", request)
    zone = rules.get("timezone") or "UTC"
    times = preview.get("fireTimes", [])
    return SchedulePreview(
        fire_times=times,
        local_times=[wall_clock(time, zone) for time in times],
        timezone=zone,
        description=preview.get("description", ""),
        message=f"{len(times)} fire time(s). "
        + next_run_sentence(times[0] if times else None, zone),
    )


@reports_api_errors({"text": "text", "timezone": "timezone", "reference_time": "reference_time"})
def parse_schedule(
    ctx: Context[Upstream],
    text: Annotated[str, Field(description=f"The cadence to read. {CADENCE_FORMS}")],
    timezone: TimeZone = "",
    reference_time: Annotated[
        str,
        Field(description='What "tomorrow" and "in 2 hours" count from, RFC 3339 (default now).'),
    ] = "",
) -> ParsedSchedule:
    """Read a cadence in words (or a cron string) into Sundial's schedule rules, with the
    rules in English and how sure the reading is. Changes nothing. Words it cannot read
    come back as an error naming them."""
    request = {"text": text, "timezone": timezone}
    if reference_time:
        request["referenceTime"] = instant_argument("reference_time", reference_time)
    with connect(ctx) as api:
        parsed = api.call(f"{_SERVICE}.ParseSchedule", request)
    rules = parsed.get("schedule", {})
    method = str(parsed.get("method", "")).removeprefix("PARSE_METHOD_").lower()
    return ParsedSchedule(
        schedule=rules,
        description=parsed.get("description", ""),
        timezone=rules.get("timezone") or "UTC",
        confidence=parsed.get("confidence", 0.0),
        method=method,
    )


READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
TOOLS = (
    (create_scheduled_run, ToolAnnotations(read_only_hint=False, open_world_hint=False)),
    (list_scheduled_runs, READ_ONLY),
    (update_scheduled_run, ToolAnnotations(read_only_hint=False, idempotent_hint=True)),
    (delete_scheduled_run, ToolAnnotations(read_only_hint=False, destructive_hint=True)),
    (trigger_scheduled_run, ToolAnnotations(read_only_hint=False, open_world_hint=False)),
    (preview_schedule, READ_ONLY),
    (parse_schedule, READ_ONLY),
)
