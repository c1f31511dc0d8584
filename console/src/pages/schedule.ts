// One schedule: what it is (readable and as ProtoJSON), when it fires (calendar and
// heatmap from PreviewSchedule), how it went (stats, recent runs), and what can be done to
// it (pause with a reason, resume, trigger, backfill, edit with live preview, archive,
// delete after confirmation).
import { ApiError, call, ws } from "../api";
import { announce, go, link, type Route } from "../app";
import { fireCalendar } from "../calendar";
import { button, definitions, field, h, replace, scrollArea, section, table } from "../dom";
import { scheduleEditor } from "../editor";
import { showErrors, type FieldTargets } from "../field_errors";
import {
  badge,
  between,
  enumLabel,
  humanSeconds,
  objectiveStatus,
  percent,
  prettyJson,
  scheduleStatus,
  seconds,
  timeElement,
  triggerKind,
} from "../format";
import { emptyCounts, heatmap } from "../heatmap";
import type { Objective, ObjectiveStats, Preview, Schedule } from "../model";
import { act, PAST_TENSE, schedulePath, type ScheduleAction } from "../schedule_actions";
import { localHour, validZone, weekday, dayKey } from "../zones";
import { runHash } from "./runs";

const RECENT_RUNS = 20;
const HEATMAP_FIRES = 1000;

export async function schedulePage(page: HTMLElement, route: Route): Promise<void> {
  const scheduleId = route.path[1] ?? "";
  const agentId = route.params.get("agent") ?? "";
  const path = schedulePath(agentId, scheduleId);
  const schedule = await call<Schedule>("GET", path);
  const zone = validZone(schedule.spec.schedule?.timezone || "UTC");
  const name = schedule.metadata.name || schedule.metadata.id;
  const reload = (): void => go(location.hash);

  const reason = h("input", { type: "text", name: "reason", autocomplete: "off" });
  const doAction = async (action: ScheduleAction, body: Record<string, unknown> = {}): Promise<void> => {
    try {
      await act(action, agentId, scheduleId, body);
      announce(`${PAST_TENSE[action]} ${name}.`);
      reload();
    } catch (error) {
      announce(`Could not ${action} ${name}: ${(error as Error).message}`, "error");
    }
  };
  const status = schedule.spec.status ?? "";
  const actions = h(
    "div",
    { class: "actions", role: "group", "aria-label": "Schedule actions" },
    status === "AGENT_SCHEDULE_STATUS_ACTIVE"
      ? h("div", { class: "inline-form" }, field("Pause reason", reason), button("Pause", () => void doAction("pause", { reason: reason.value })))
      : null,
    status === "AGENT_SCHEDULE_STATUS_PAUSED" ? button("Resume", () => void doAction("resume")) : null,
    status !== "AGENT_SCHEDULE_STATUS_ARCHIVED" ? button("Trigger", () => void doAction("trigger")) : null,
  );

  replace(
    page,
    h("h1", {}, name),
    h("p", { class: "lead" }, badge(scheduleStatus(status)), " ", h("span", { "data-testid": "schedule-description" }, schedule.info.description ?? "")),
    actions,
    section(
      "Summary",
      definitions([
        ["Agent", schedule.info.agentId ?? agentId],
        ["Next fire", timeElement(schedule.info.nextFireAt, zone)],
        ["Last fire", timeElement(schedule.info.lastFireAt, zone)],
        ["Last run", schedule.info.lastObjectiveId ? link(runHash(agentId, schedule.info.lastObjectiveId), objectiveStatus(schedule.info.lastObjectiveStatus)) : "—"],
        ["Failures in a row", String(schedule.info.consecutiveFailureCount ?? 0)],
        ["Fires", String(schedule.info.totalFires ?? 0)],
        ["Missed", String(schedule.info.missedFires ?? 0)],
        ["Skipped", String(schedule.info.skippedFires ?? 0)],
        ["Manual", String(schedule.info.manualFires ?? 0)],
        ["Backfilled", String(schedule.info.backfillFires ?? 0)],
        ["Time zone", zone],
      ]),
    ),
    await statsSection(path),
    section("Calendar", fireCalendar(zone, async (start, end) => previewFires(schedule, scheduleId, start, end), "schedule-calendar")),
    await heatmapSection(schedule, scheduleId, zone),
    await runsSection(agentId, scheduleId),
    backfillSection(agentId, scheduleId, name),
    editSection(schedule, path),
    specSection(schedule),
    dangerSection(schedule, agentId, scheduleId, name, doAction),
  );
}

async function previewFires(schedule: Schedule, scheduleId: string, start: Date, end: Date): Promise<{ time: string }[]> {
  const preview = await call<Preview>("POST", "/v1/schedules:preview", {
    body: { schedule: schedule.spec.schedule ?? {}, scheduleId, startTime: new Date(start.getTime() - 1).toISOString(), count: 1000 },
  });
  return (preview.fireTimes ?? []).filter((fire) => new Date(fire) < end).map((fire) => ({ time: fire }));
}

async function statsSection(path: string): Promise<HTMLElement> {
  try {
    const stats = await call<{ today?: ObjectiveStats; window?: ObjectiveStats; windowFires?: Record<string, number> }>("GET", `${path}/stats`, {
      query: { window: "604800s" },
    });
    const row = (label: string, item: ObjectiveStats | undefined): HTMLElement[] => [
      h("th", { scope: "row" }, label),
      ...[
        String(item?.counts?.total ?? 0),
        String(item?.counts?.succeeded ?? 0),
        String(item?.counts?.failed ?? 0),
        percent(item?.successRate),
        humanSeconds(seconds(item?.averageDuration)),
        humanSeconds(seconds(item?.p95Duration)),
      ].map((text) => h("td", {}, text)),
    ];
    const fires = stats.windowFires ?? {};
    return section(
      "Counters",
      scrollArea(
        "Runs today and over the last 7 days",
        h(
          "table",
          { "data-testid": "schedule-stats" },
          h("caption", {}, "Runs today and over the last 7 days"),
          h("thead", {}, h("tr", {}, ["Period", "Runs", "Succeeded", "Failed", "Success rate", "Average duration", "p95 duration"].map((text) => h("th", { scope: "col" }, text)))),
          h("tbody", {}, h("tr", {}, row("Today", stats.today)), h("tr", {}, row("7 days", stats.window))),
        ),
      ),
      h("p", {}, `Fires in 7 days: ${fires.scheduled ?? 0} scheduled, ${fires.manual ?? 0} manual, ${fires.backfill ?? 0} backfill, ${fires.retry ?? 0} retries.`),
    );
  } catch (error) {
    return section("Counters", h("p", { class: "error" }, (error as Error).message));
  }
}

async function heatmapSection(schedule: Schedule, scheduleId: string, zone: string): Promise<HTMLElement> {
  const counts = emptyCounts();
  try {
    const preview = await call<Preview>("POST", "/v1/schedules:preview", {
      body: { schedule: schedule.spec.schedule ?? {}, scheduleId, count: HEATMAP_FIRES },
    });
    for (const fire of preview.fireTimes ?? []) {
      const instant = new Date(fire);
      const row = counts[weekday(dayKey(instant, zone))];
      if (row) row[localHour(instant, zone)] = (row[localHour(instant, zone)] ?? 0) + 1;
    }
    const total = preview.fireTimes?.length ?? 0;
    return section("Heatmap", heatmap(`The next ${total} fires by weekday and hour (${zone})`, counts, "schedule-heatmap"));
  } catch (error) {
    return section("Heatmap", h("p", { class: "error" }, (error as Error).message));
  }
}

async function runsSection(agentId: string, scheduleId: string): Promise<HTMLElement> {
  const response = await call<{ objectives?: Objective[] }>("GET", ws(`/agents/${encodeURIComponent(agentId)}/objectives`), {
    query: { pageSize: RECENT_RUNS, filter: `schedule_id = ${JSON.stringify(scheduleId)}` },
  });
  const runs = response.objectives ?? [];
  const chosen = new Set<string>();
  const compare = button("Compare selected", () => {
    go(`#/compare?agent=${encodeURIComponent(agentId)}&schedule=${encodeURIComponent(scheduleId)}&ids=${[...chosen].map(encodeURIComponent).join(",")}`);
  }, { disabled: true });
  const rows = runs.map((run) => {
    const box = h("input", { type: "checkbox", "aria-label": `Compare ${run.metadata.id}` });
    box.addEventListener("change", () => {
      if (box.checked) chosen.add(run.metadata.id);
      else chosen.delete(run.metadata.id);
      compare.disabled = chosen.size < 2 || chosen.size > 10;
    });
    return [
      box,
      link(runHash(agentId, run.metadata.id), run.metadata.id),
      badge(objectiveStatus(run.info.status)),
      triggerKind(run.spec.triggerKind),
      timeElement(run.spec.scheduledTime),
      between(run.info.startedAt, run.info.completedAt),
      String(run.info.attempt ?? 1),
    ];
  });
  return section(
    "Recent runs",
    runs.length
      ? [table("Recent runs", ["Compare", "Run", "Status", "Trigger", "Scheduled", "Duration", "Attempt"], rows, { "data-testid": "recent-runs" }), compare]
      : h("p", {}, "No runs yet."),
  );
}

function backfillSection(agentId: string, scheduleId: string, name: string): HTMLElement {
  const start = h("input", { type: "datetime-local", name: "start", required: true });
  const end = h("input", { type: "datetime-local", name: "end", required: true });
  const problem = h("p", { class: "error" });
  const targets: FieldTargets = [
    ["startTime", start],
    ["endTime", end],
  ];
  const form = h("form", { class: "inline-form", novalidate: true }, field("Backfill from", start, "Your local time"), field("Backfill until", end), problem, h("button", { type: "submit" }, "Backfill"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const toIso = (value: string): string => (value ? new Date(value).toISOString() : "");
    try {
      const answer = await call<{ createdCount?: number; existingCount?: number }>("POST", `${schedulePath(agentId, scheduleId)}:backfill`, {
        body: { startTime: toIso(start.value) || undefined, endTime: toIso(end.value) || undefined },
      });
      announce(`Backfilled ${name}: ${answer.createdCount ?? 0} runs created, ${answer.existingCount ?? 0} already there.`);
      go(location.hash);
    } catch (error) {
      if (error instanceof ApiError) showErrors(targets, error, problem);
    }
  });
  return section("Backfill", form);
}

function editSection(schedule: Schedule, path: string): HTMLElement {
  const cron = schedule.spec.schedule?.cronExpressions?.[0] ?? "";
  const editor = scheduleEditor(cron, schedule.spec.schedule?.timezone ?? "UTC", schedule.metadata.id);
  const message = h("textarea", { name: "message", rows: 3, value: schedule.spec.initialMessage ?? "" });
  const problem = h("p", { class: "error", role: "alert" });
  const targets: FieldTargets = [["spec.schedule.timezone", editor.zone], ["spec.initialMessage", message], ...editor.targets];
  const form = h("form", { class: "card", novalidate: true }, editor.fields, field("Message", message), problem, h("button", { type: "submit" }, "Save changes"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const mask = ["spec.initialMessage"];
    const spec: Record<string, unknown> = { initialMessage: message.value };
    if (editor.words.value.trim()) {
      const rules = await editor.rules();
      if (!rules) return;
      spec.schedule = rules;
      mask.push("spec.schedule");
    }
    try {
      await call("PATCH", path, { body: { spec, updateMask: mask.join(","), etag: schedule.metadata.etag } });
      announce("Saved the schedule.");
      go(location.hash);
    } catch (error) {
      if (error instanceof ApiError) showErrors(targets, error, problem);
    }
  });
  return section("Edit", h("p", { class: "hint" }, `Now: ${schedule.info.description ?? ""}. Type new words or cron to replace the rules.`), form);
}

function specSection(schedule: Schedule): HTMLElement {
  const rules = schedule.spec.schedule ?? {};
  return section(
    "Specification",
    definitions([
      ["In words", schedule.info.description || "—"],
      ["Time zone", rules.timezone || "UTC"],
      ["Cron", rules.cronExpressions?.join("; ") || "—"],
      ["Intervals", rules.intervals?.map((item) => `every ${item.every}${item.offset ? ` offset ${item.offset}` : ""}`).join("; ") || "—"],
      ["Calendars", rules.calendars?.length ? `${rules.calendars.length} calendar rule(s)` : "—"],
      ["Single times", rules.at?.join(", ") || "—"],
      ["Starts", rules.startTime ?? "—"],
      ["Ends", rules.endTime ?? "—"],
      ["Jitter", rules.jitter ?? "—"],
      ["Overlap", enumLabel(schedule.spec.overlapPolicy, "OVERLAP_POLICY_")],
      ["Catch-up window", schedule.spec.catchupWindow ?? "—"],
      ["Execution timeout", schedule.spec.executionTimeout ?? "—"],
      ["Pause on failure", schedule.spec.pauseOnFailure ? "yes" : "no"],
      ["Message", schedule.spec.initialMessage || "—"],
      ["Labels", Object.entries(schedule.metadata.labels ?? {}).map(([key, value]) => `${key}=${value}`).join(", ") || "—"],
    ]),
    h("details", {}, h("summary", {}, "ProtoJSON"), h("pre", { "data-testid": "schedule-json", tabindex: "0" }, prettyJson(schedule))),
  );
}

function dangerSection(
  schedule: Schedule,
  agentId: string,
  scheduleId: string,
  name: string,
  doAction: (action: ScheduleAction) => Promise<void>,
): HTMLElement {
  const dialogTitle = `delete-title-${scheduleId}`;
  const dialog = h(
    "dialog",
    { "aria-labelledby": dialogTitle },
    h("h2", { id: dialogTitle }, `Delete ${name}?`),
    h("p", {}, "The schedule and its future fires go; runs already made stay. This cannot be undone."),
  );
  const confirm = button("Delete schedule", async () => {
    try {
      await call("DELETE", schedulePath(agentId, scheduleId), { query: { etag: schedule.metadata.etag } });
      dialog.close();
      announce(`Deleted ${name}.`);
      go("#/schedules");
    } catch (error) {
      announce(`Could not delete ${name}: ${(error as Error).message}`, "error");
      dialog.close();
    }
  }, { class: "danger" });
  dialog.append(h("div", { class: "actions" }, confirm, button("Cancel", () => dialog.close(), { class: "secondary" })));
  const archived = schedule.spec.status === "AGENT_SCHEDULE_STATUS_ARCHIVED";
  return section(
    "Archive or delete",
    h(
      "div",
      { class: "actions" },
      archived ? null : button("Archive", () => void doAction("archive"), { class: "secondary" }),
      button("Delete", () => dialog.showModal(), { class: "danger" }),
    ),
    dialog,
  );
}
