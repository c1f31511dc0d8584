// The schedules of the workspace (or one agent): filtered on the server by status, agent
// and label, paged by page token (a page of 100 rows renders at once, so a workspace of
// thousands never freezes the tab), searched within the page, acted on in bulk.
import { ApiError, call, listAll, ws } from "../api";
import { announce, go, link, type Route } from "../app";
import { button, field, h, replace, table } from "../dom";
import { badge, objectiveStatus, scheduleStatus, time } from "../format";
import type { Agent, Schedule } from "../model";
import { act, PAST_TENSE, scheduleHash, type ScheduleAction } from "../schedule_actions";

const PAGE_SIZE = 100;
const STATUSES = ["ACTIVE", "PAUSED", "ARCHIVED"];

export function labelFilter(text: string): string | null {
  const match = /^\s*([A-Za-z0-9_.\-/]+)\s*[=:]\s*(.*?)\s*$/.exec(text);
  return match ? `labels.${match[1]} = ${JSON.stringify(match[2])}` : null;
}

export async function schedulesPage(page: HTMLElement, route: Route): Promise<void> {
  const params = route.params;
  const agents = await listAll<Agent>(ws("/agents"), "agents");
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "Any status"),
    STATUSES.map((value) => h("option", { value, selected: params.get("status") === value }, scheduleStatus(`AGENT_SCHEDULE_STATUS_${value}`))),
  );
  const agent = h(
    "select",
    { name: "agent" },
    h("option", { value: "" }, "Every agent"),
    agents.map((item) =>
      h("option", { value: item.metadata.id, selected: params.get("agent") === item.metadata.id }, item.metadata.name || item.metadata.id),
    ),
  );
  const label = h("input", { type: "text", name: "label", value: params.get("label") ?? "", placeholder: "team=platform" });
  const search = h("input", { type: "search", name: "q", value: params.get("q") ?? "" });
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter schedules" },
    field("Status", status),
    field("Agent", agent),
    field("Label", label, "key=value"),
    field("Search", search, "Name, agent or description, on this page"),
    h("button", { type: "submit" }, "Apply filters"),
  );
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of [["status", status.value], ["agent", agent.value], ["label", label.value.trim()], ["q", search.value.trim()]]) {
      if (value) next.set(name, value);
    }
    go(`#/schedules?${next.toString()}`);
  });

  const clauses: string[] = [];
  if (params.get("status")) clauses.push(`status = ${params.get("status")}`);
  const problem = h("p", { class: "error", role: "alert" });
  if (params.get("label")) {
    const clause = labelFilter(params.get("label") ?? "");
    if (clause) clauses.push(clause);
    else problem.textContent = "Write a label filter as key=value.";
  }
  const results = h("div", { class: "results" });
  const agentNames = new Map(agents.map((item) => [item.metadata.id, item.metadata.name || item.metadata.id]));
  const pageTokens: string[] = [""];

  const load = async (token: string): Promise<void> => {
    let response: { agentSchedules?: Schedule[]; nextPageToken?: string };
    try {
      response = await call("GET", ws("/schedules"), {
        query: {
          agentId: params.get("agent") || "-",
          pageSize: PAGE_SIZE,
          pageToken: token,
          filter: clauses.join(" AND "),
          showArchived: params.get("status") === "ARCHIVED",
        },
      });
    } catch (error) {
      problem.textContent = (error as ApiError).message;
      return;
    }
    const needle = (params.get("q") ?? "").toLowerCase();
    const schedules = (response.agentSchedules ?? []).filter(
      (item) =>
        !needle ||
        [item.metadata.name, item.info.agentId, agentNames.get(item.info.agentId ?? ""), item.info.description].some((text) => (text ?? "").toLowerCase().includes(needle)),
    );
    renderRows(results, schedules, agentNames, async () => load(token));
    const pager = h("div", { class: "pager" });
    const index = pageTokens.indexOf(token);
    if (index > 0) pager.append(button("Previous page", () => void load(pageTokens[index - 1] ?? "")));
    if (response.nextPageToken) {
      const next = response.nextPageToken;
      if (!pageTokens.includes(next)) pageTokens.push(next);
      pager.append(button("Next page", () => void load(next)));
    }
    results.append(pager);
  };
  replace(
    page,
    h("div", { class: "title-row" }, h("h1", {}, "Schedules"), link("#/schedules/new", "New schedule", { class: "button-link" })),
    filters,
    problem,
    results,
  );
  await load("");
}

function renderRows(results: HTMLElement, schedules: Schedule[], agentNames: Map<string, string>, reload: () => Promise<void>): void {
  const selected = new Set<Schedule>();
  const boxes: HTMLInputElement[] = [];
  const count = h("p", { class: "selection", "aria-live": "polite" }, "No schedule selected");
  const bulk = (["pause", "resume", "trigger"] as ScheduleAction[]).map((action) =>
    button(action.charAt(0).toUpperCase() + action.slice(1), () => void runBulk(action), { disabled: true, "data-testid": `bulk-${action}` }),
  );
  const refresh = (): void => {
    count.textContent = selected.size ? `${selected.size} selected` : "No schedule selected";
    for (const item of bulk) item.disabled = selected.size === 0;
    all.checked = selected.size > 0 && selected.size === schedules.length;
  };
  const runBulk = async (action: ScheduleAction): Promise<void> => {
    const targets = [...selected];
    let failures = 0;
    for (const target of targets) {
      try {
        await act(action, target.info.agentId ?? "", target.metadata.id);
      } catch {
        failures += 1;
      }
    }
    const done = targets.length - failures;
    announce(
      `${PAST_TENSE[action]} ${done} schedule${done === 1 ? "" : "s"}${failures ? `; ${failures} failed` : ""}.`,
      failures ? "error" : "info",
    );
    await reload();
  };
  const all = h("input", { type: "checkbox", "data-testid": "select-all" });
  all.addEventListener("change", () => {
    for (const [index, box] of boxes.entries()) {
      box.checked = all.checked;
      const schedule = schedules[index];
      if (schedule) {
        if (all.checked) selected.add(schedule);
        else selected.delete(schedule);
      }
    }
    refresh();
  });
  const rows = schedules.map((schedule) => {
    const name = schedule.metadata.name || schedule.metadata.id;
    const box = h("input", { type: "checkbox", "aria-label": `Select ${name}`, "data-testid": `select-${schedule.metadata.id}` });
    box.addEventListener("change", () => {
      if (box.checked) selected.add(schedule);
      else selected.delete(schedule);
      refresh();
    });
    boxes.push(box);
    const failures = schedule.info.consecutiveFailureCount ?? 0;
    return [
      box,
      link(scheduleHash(schedule.info.agentId ?? "", schedule.metadata.id), name),
      agentNames.get(schedule.info.agentId ?? "") ?? schedule.info.agentId ?? "—",
      schedule.info.description ?? "—",
      badge(scheduleStatus(schedule.spec.status)),
      time(schedule.info.nextFireAt),
      schedule.info.lastObjectiveStatus ? badge(objectiveStatus(schedule.info.lastObjectiveStatus)) : "—",
      String(failures),
    ];
  });
  const grid = schedules.length
    ? table("Schedules", ["Select", "Name", "Agent", "Description", "Status", "Next fire", "Last run", "Failures in a row"], rows, {
        "data-testid": "schedules-table",
      })
    : h("p", {}, "No schedules match.");
  replace(results, h("div", { class: "bulk", role: "group", "aria-label": "Bulk actions" }, h("label", { class: "inline" }, all, "Select all"), bulk, count), grid);
}
