// Runs (objectives): a list across the workspace's agents, filtered by status and schedule
// on the server and by time range on the page; a run's attempts, timing, output and
// error, with cancel; two to ten runs of a schedule compared side by side.
import { ApiError, call, listAll, segment, ws } from "../api";
import { announce, go, link, type Route } from "../app";
import { button, definitions, field, h, replace, section, table } from "../dom";
import { badge, between, objectiveStatus, prettyJson, timeElement, triggerKind, humanSeconds, seconds } from "../format";
import type { Agent, Objective } from "../model";
import { scheduleHash } from "../schedule_actions";

const PAGE_SIZE = 100;
// "Every agent" asks each agent for its newest runs; past this many agents, pick one.
const MAX_AGENTS_AT_ONCE = 20;
const STATUSES = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"];
const FINISHED = new Set(["OBJECTIVE_STATUS_SUCCEEDED", "OBJECTIVE_STATUS_FAILED", "OBJECTIVE_STATUS_CANCELLED", "OBJECTIVE_STATUS_TIMED_OUT"]);

export function runHash(agentId: string, objectiveId: string): string {
  return `#/runs/${encodeURIComponent(objectiveId)}?agent=${encodeURIComponent(agentId)}`;
}

function objectivesPath(agentId: string): string {
  return ws(`/agents/${segment(agentId)}/objectives`);
}

function localInput(value: string | null): string {
  return value ?? "";
}

export async function runsPage(page: HTMLElement, route: Route): Promise<void> {
  const params = route.params;
  const agents = await listAll<Agent>(ws("/agents"), "agents");
  const agent = h(
    "select",
    { name: "agent" },
    h("option", { value: "" }, "Every agent"),
    agents.map((item) => h("option", { value: item.metadata.id, selected: params.get("agent") === item.metadata.id }, item.metadata.name || item.metadata.id)),
  );
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "Any status"),
    STATUSES.map((value) => h("option", { value, selected: params.get("status") === value }, objectiveStatus(`OBJECTIVE_STATUS_${value}`))),
  );
  const schedule = h("input", { type: "text", name: "schedule", value: params.get("schedule") ?? "", placeholder: "sched_…" });
  const from = h("input", { type: "datetime-local", name: "from", value: localInput(params.get("from")) });
  const until = h("input", { type: "datetime-local", name: "until", value: localInput(params.get("until")) });
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter runs" },
    field("Agent", agent),
    field("Status", status),
    field("Schedule ID", schedule),
    field("Scheduled from", from),
    field("Scheduled until", until),
    h("button", { type: "submit" }, "Apply filters"),
  );
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of [["agent", agent.value], ["status", status.value], ["schedule", schedule.value.trim()], ["from", from.value], ["until", until.value]]) {
      if (value) next.set(name, value);
    }
    go(`#/runs?${next.toString()}`);
  });
  const clauses: string[] = [];
  if (params.get("schedule")) clauses.push(`schedule_id = ${JSON.stringify(params.get("schedule"))}`);
  if (params.get("status")) clauses.push(`status = ${params.get("status")}`);
  const filter = clauses.join(" AND ");
  const matching = agents.filter((item) => !params.get("agent") || item.metadata.id === params.get("agent"));
  const chosen = matching.slice(0, MAX_AGENTS_AT_ONCE);
  const problem = h("p", { class: "error", role: "alert" });
  const note =
    matching.length > chosen.length
      ? h("p", { class: "hint" }, `Showing the runs of the first ${chosen.length} of ${matching.length} agents: pick an agent to see the others.`)
      : null;
  let runs: Objective[] = [];
  let nextToken = "";
  try {
    const pages = await Promise.all(
      chosen.map((item) =>
        call<{ objectives?: Objective[]; nextPageToken?: string }>("GET", objectivesPath(item.metadata.id), {
          query: { pageSize: PAGE_SIZE, filter, pageToken: chosen.length === 1 ? (params.get("page") ?? "") : "" },
        }),
      ),
    );
    runs = pages.flatMap((item) => item.objectives ?? []);
    nextToken = chosen.length === 1 ? (pages[0]?.nextPageToken ?? "") : "";
  } catch (error) {
    problem.textContent = (error as ApiError).message;
  }
  const lower = params.get("from") ? new Date(params.get("from") ?? "").getTime() : -Infinity;
  const upper = params.get("until") ? new Date(params.get("until") ?? "").getTime() : Infinity;
  runs = runs
    .filter((run) => {
      const at = new Date(run.spec.scheduledTime ?? run.metadata.createdAt ?? 0).getTime();
      return at >= lower && at <= upper;
    })
    .sort((a, b) => (b.metadata.createdAt ?? "").localeCompare(a.metadata.createdAt ?? ""));
  const rows = runs.map((run) => [
    link(runHash(run.spec.agentId ?? "", run.metadata.id), run.metadata.id),
    run.spec.scheduleId ? link(scheduleHash(run.spec.agentId ?? "", run.spec.scheduleId), run.spec.scheduleId) : "—",
    run.spec.agentId ?? "—",
    badge(objectiveStatus(run.info.status)),
    triggerKind(run.spec.triggerKind),
    timeElement(run.spec.scheduledTime),
    between(run.info.startedAt, run.info.completedAt),
  ]);
  const pager = h("div", { class: "pager" });
  if (nextToken) {
    const next = new URLSearchParams(params);
    next.set("page", nextToken);
    pager.append(link(`#/runs?${next.toString()}`, "Next page", { class: "button-link" }));
  }
  replace(
    page,
    h("h1", {}, "Runs"),
    filters,
    problem,
    note,
    runs.length ? table("Runs", ["Run", "Schedule", "Agent", "Status", "Trigger", "Scheduled", "Duration"], rows, { "data-testid": "runs-table" }) : h("p", {}, "No runs match."),
    pager,
  );
}

export async function runPage(page: HTMLElement, route: Route): Promise<void> {
  const objectiveId = route.path[1] ?? "";
  const agentId = route.params.get("agent") ?? "";
  const path = `${objectivesPath(agentId)}/${segment(objectiveId)}`;
  const run = await call<Objective>("GET", path);
  const attempts: Objective[] = [run];
  for (let previous = run.info.retryOf; previous && attempts.length < 10; ) {
    try {
      const earlier = await call<Objective>("GET", `${objectivesPath(agentId)}/${segment(previous)}`);
      attempts.push(earlier);
      previous = earlier.info.retryOf;
    } catch {
      break;
    }
  }
  const status = run.info.status ?? "";
  const reason = h("input", { type: "text", name: "reason", autocomplete: "off" });
  const cancel = FINISHED.has(status)
    ? null
    : h(
        "div",
        { class: "inline-form" },
        field("Cancel reason", reason),
        button("Cancel run", async () => {
          try {
            await call("POST", `${path}:cancel`, { body: { reason: reason.value } });
            announce(`Cancelled ${objectiveId}.`);
            go(location.hash);
          } catch (error) {
            announce(`Could not cancel: ${(error as Error).message}`, "error");
          }
        }),
      );
  replace(
    page,
    h("h1", {}, `Run ${objectiveId}`),
    h("p", { class: "lead" }, badge(objectiveStatus(status))),
    cancel,
    section(
      "Timing",
      definitions([
        ["Schedule", run.spec.scheduleId ? link(scheduleHash(agentId, run.spec.scheduleId), run.spec.scheduleId) : "—"],
        ["Agent", agentId],
        ["Trigger", triggerKind(run.spec.triggerKind)],
        ["Scheduled", timeElement(run.spec.scheduledTime)],
        ["Fired", timeElement(run.info.firedAt)],
        ["Started", timeElement(run.info.startedAt)],
        ["Completed", timeElement(run.info.completedAt)],
        ["Duration", between(run.info.startedAt, run.info.completedAt)],
        ["Deadline", timeElement(run.info.deadline)],
        ["Worker", run.info.workerId || "—"],
        ["Attempt", String(run.info.attempt ?? 1)],
      ]),
    ),
    section(
      "Attempts",
      table(
        "Attempts of this run, newest first",
        ["Run", "Attempt", "Status", "Started", "Duration", "Error"],
        attempts.map((item) => [
          item.metadata.id === objectiveId ? item.metadata.id : link(runHash(agentId, item.metadata.id), item.metadata.id),
          String(item.info.attempt ?? 1),
          badge(objectiveStatus(item.info.status)),
          timeElement(item.info.startedAt),
          between(item.info.startedAt, item.info.completedAt),
          item.info.error || "—",
        ]),
      ),
    ),
    section("Output", run.info.output === undefined ? h("p", {}, "No output.") : h("pre", { "data-testid": "run-output", tabindex: "0" }, prettyJson(run.info.output))),
    section("Error", run.info.error ? h("pre", { class: "error-text", "data-testid": "run-error", tabindex: "0" }, run.info.error) : h("p", {}, "No error.")),
    section("Message", h("pre", { tabindex: "0" }, run.spec.initialMessage || "—")),
  );
}

interface Comparison {
  objectives?: { objectiveId: string; status?: string; attempt?: number; triggerKind?: string; scheduledTime?: string; duration?: string }[];
  differences?: { path: string; values?: { present?: boolean; value?: unknown }[] }[];
}

export async function comparePage(page: HTMLElement, route: Route): Promise<void> {
  const agentId = route.params.get("agent") ?? "";
  const scheduleId = route.params.get("schedule") ?? "";
  const ids = (route.params.get("ids") ?? "").split(",").filter(Boolean);
  const answer = await call<Comparison>("GET", ws(`/agents/${segment(agentId)}/schedules/${segment(scheduleId)}/objectives:compare`), {
    query: { objectiveIds: ids },
  });
  const compared = answer.objectives ?? [];
  const headers = ["Field", ...compared.map((item) => item.objectiveId)];
  const row = (label: string, values: (string | HTMLElement)[]): (string | HTMLElement)[] => [h("strong", {}, label), ...values];
  replace(
    page,
    h("h1", {}, "Compare runs"),
    h("p", {}, "Schedule ", link(scheduleHash(agentId, scheduleId), scheduleId)),
    table("The runs side by side", headers, [
      row("Status", compared.map((item) => badge(objectiveStatus(item.status)))),
      row("Attempt", compared.map((item) => String(item.attempt ?? 1))),
      row("Trigger", compared.map((item) => triggerKind(item.triggerKind))),
      row("Scheduled", compared.map((item) => timeElement(item.scheduledTime))),
      row("Duration", compared.map((item) => humanSeconds(seconds(item.duration)))),
    ], { "data-testid": "compare-table" }),
    section(
      "Differences",
      (answer.differences ?? []).length
        ? table(
            "Values that differ (output, error, message, data)",
            ["Path", ...compared.map((item) => item.objectiveId)],
            (answer.differences ?? []).map((difference) => [
              h("code", {}, difference.path),
              ...(difference.values ?? []).map((value) => (value.present ? h("pre", {}, prettyJson(value.value)) : "absent")),
            ]),
          )
        : h("p", {}, "The runs do not differ."),
    ),
  );
}
