"""What the tools answer: pydantic models, which the MCP SDK publishes as each tool's output
schema and checks every result against, built from the ProtoJSON the gRPC API returns.

Field names follow seed 000's tool results (`schedule_id`, `next_run_at`, `last_run_status`)
rather than the API's `metadata/spec/info`: a model reads these, and flat names with
lower-case statuses are what it can act on without knowing the resource layout."""

from typing import Any

from pydantic import BaseModel, Field, JsonValue

Resource = dict[str, Any]


class ScheduleSummary(BaseModel):
    """A scheduled run: when it fires its agent, with what, and how its runs went."""

    schedule_id: str = Field(description="sched_ id; what the other tools take")
    agent_id: str = Field(description="agent_ id of the agent each run goes to")
    name: str
    status: str = Field(description="active, paused or archived")
    enabled: bool = Field(description="true while active (it fires on its cadence)")
    cadence: str = Field(
        description="the cron strings as written, or the rules in words for other rules"
    )
    description: str = Field(description="the whole schedule in English, as the server reads it")
    timezone: str = Field(description="IANA zone the cadence is read in")
    message: str = Field(description="what each run asks the agent to do")
    data: JsonValue = Field(default=None, description="JSON handed to every run")
    next_run_at: str | None = Field(
        default=None, description="RFC 3339 UTC; null when paused or finished"
    )
    upcoming_run_times: list[str] = Field(default_factory=list, description="next few fire times")
    last_run_at: str | None = None
    last_run_id: str | None = None
    last_run_status: str | None = Field(
        default=None, description="pending, running, succeeded, failed, cancelled, timed_out"
    )
    consecutive_failure_count: int = 0
    total_runs: int = Field(default=0, description="scheduled fires so far (not manual ones)")
    created_at: str | None = None
    etag: str = Field(default="", description="the version; pass to update to avoid lost writes")


class RunSummary(BaseModel):
    """A run (an objective): one fire of a schedule, a manual trigger, backfill or retry."""

    run_id: str = Field(description="obj_ id; what get_run and get_run_output take")
    schedule_id: str
    agent_id: str
    status: str = Field(
        description="pending, buffered, running, succeeded, failed, cancelled or timed_out"
    )
    trigger: str = Field(description="scheduled, manual, backfill or retry")
    scheduled_for: str | None = Field(default=None, description="nominal time, RFC 3339 UTC")
    started_at: str | None = None
    completed_at: str | None = None
    attempt: int = 1
    error: str | None = Field(default=None, description="why it failed, timed out or was cancelled")


class RunDetail(RunSummary):
    """A run with what it was asked and what its worker reported."""

    message: str = Field(description="the run's first user message")
    data: JsonValue = None
    output: JsonValue = Field(default=None, description="what the worker reported on success")
    has_output: bool = False


def _enum(value: Any, prefix: str) -> str | None:
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    name = value.removeprefix(prefix).lower()
    return None if name == "unspecified" else name


def cadence_of(rules: Resource, description: str) -> str:
    """The cron strings as written when the rules are cron strings alone, else the words."""
    crons = rules.get("cronExpressions", [])
    others = ("calendars", "intervals", "at", "excludeCalendars", "startTime", "endTime")
    if crons and not any(rules.get(key) for key in others):
        return "; ".join(crons)
    return description


def schedule_summary(schedule: Resource) -> ScheduleSummary:
    metadata = schedule.get("metadata", {})
    spec = schedule.get("spec", {})
    info = schedule.get("info", {})
    rules = spec.get("schedule", {})
    description = info.get("description", "")
    status = _enum(spec.get("status"), "AGENT_SCHEDULE_STATUS_") or "active"
    recent = info.get("recentFires", [])
    return ScheduleSummary(
        schedule_id=metadata.get("id", ""),
        agent_id=info.get("agentId", ""),
        name=metadata.get("name", ""),
        status=status,
        enabled=status == "active",
        cadence=cadence_of(rules, description),
        description=description,
        timezone=rules.get("timezone") or "UTC",
        message=spec.get("initialMessage", ""),
        data=spec.get("data"),
        next_run_at=info.get("nextFireAt"),
        upcoming_run_times=info.get("futureFireTimes", [])[:5],
        last_run_at=recent[0].get("firedAt") if recent else info.get("lastFireAt"),
        last_run_id=info.get("lastObjectiveId") or None,
        last_run_status=_enum(info.get("lastObjectiveStatus"), "OBJECTIVE_STATUS_"),
        consecutive_failure_count=info.get("consecutiveFailureCount", 0),
        total_runs=info.get("totalFires", 0),
        created_at=metadata.get("createdAt"),
        etag=metadata.get("etag", ""),
    )


def _run_fields(objective: Resource) -> dict[str, Any]:
    metadata = objective.get("metadata", {})
    spec = objective.get("spec", {})
    info = objective.get("info", {})
    return {
        "run_id": metadata.get("id", ""),
        "schedule_id": spec.get("scheduleId", ""),
        "agent_id": spec.get("agentId", ""),
        "status": _enum(info.get("status"), "OBJECTIVE_STATUS_") or "pending",
        "trigger": _enum(spec.get("triggerKind"), "TRIGGER_KIND_") or "scheduled",
        "scheduled_for": spec.get("scheduledTime"),
        "started_at": info.get("startedAt"),
        "completed_at": info.get("completedAt"),
        "attempt": info.get("attempt", 1),
        "error": info.get("error") or None,
    }


def run_summary(objective: Resource) -> RunSummary:
    return RunSummary(**_run_fields(objective))


def run_detail(objective: Resource) -> RunDetail:
    spec = objective.get("spec", {})
    info = objective.get("info", {})
    return RunDetail(
        **_run_fields(objective),
        message=spec.get("initialMessage", ""),
        data=spec.get("data"),
        output=info.get("output"),
        has_output="output" in info,
    )
