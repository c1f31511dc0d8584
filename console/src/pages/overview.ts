// The workspace at a glance: today's runs and success rate, the engine's health, where the
// fires fall (heatmap past or future, calendar of every schedule's fires) and quiet slots
// for a new schedule, all from InsightService.
import { call, queryString, ws } from "../api";
import { link, type Route } from "../app";
import { fireCalendar, type CalendarItem } from "../calendar";
import { button, definitions, h, replace, section, table } from "../dom";
import { humanSeconds, percent, seconds, timeElement, viewerZone } from "../format";
import { emptyCounts, heatmap } from "../heatmap";
import type { Heatmap, ObjectiveStats } from "../model";

interface WorkspaceStats {
  schedules?: { active?: number; paused?: number; archived?: number; total?: number };
  today?: ObjectiveStats;
  window?: ObjectiveStats;
}

interface EngineStatus {
  running?: boolean;
  replicas?: { replicaId: string; lastSeenAt?: string; lastPassAt?: string; schedulesExamined?: number }[];
  lastPassAt?: string;
  nextWakeAt?: string;
  recentFireLagP99?: string;
  recentFires?: number;
}

const MAX_CALENDAR_FIRES = 5000;

export async function overviewPage(page: HTMLElement, _route: Route): Promise<void> {
  const zone = viewerZone();
  const [stats, engine] = await Promise.all([
    call<WorkspaceStats>("GET", ws("/stats"), { query: { timeZone: zone } }),
    call<EngineStatus>("GET", ws("/engineStatus")),
  ]);
  const heatmapHolder = h("div", {});
  const showHeatmap = async (source: "HEATMAP_SOURCE_FUTURE" | "HEATMAP_SOURCE_PAST"): Promise<void> => {
    const grid = await call<Heatmap>("GET", ws("/fireHeatmap"), { query: { timeZone: zone, source } });
    const counts = emptyCounts();
    for (const day of grid.days ?? []) counts[day.dayOfWeek ?? 0] = day.hours ?? [];
    const words = source === "HEATMAP_SOURCE_FUTURE" ? "planned for the next 7 days" : "of the last 7 days";
    replace(heatmapHolder, heatmap(`${grid.total ?? 0} fires ${words} (${zone})`, counts, "workspace-heatmap"));
    future.setAttribute("aria-pressed", String(source === "HEATMAP_SOURCE_FUTURE"));
    past.setAttribute("aria-pressed", String(source === "HEATMAP_SOURCE_PAST"));
  };
  const future = button("Next 7 days", () => void showHeatmap("HEATMAP_SOURCE_FUTURE"));
  const past = button("Last 7 days", () => void showHeatmap("HEATMAP_SOURCE_PAST"));
  await showHeatmap("HEATMAP_SOURCE_FUTURE");

  const loadFires = async (start: Date, end: Date): Promise<CalendarItem[]> => {
    const items: CalendarItem[] = [];
    // The API's window is at most 31 days: a month view of six weeks asks twice.
    for (let from = start.getTime(); from < end.getTime(); from += 28 * 86_400_000) {
      const until = Math.min(end.getTime(), from + 28 * 86_400_000);
      let pageToken = "";
      do {
        const answer = await call<{ fires?: { time: string; scheduleName?: string; scheduleId?: string }[]; nextPageToken?: string }>(
          "GET",
          ws("/calendarFires"),
          { query: { startTime: new Date(from).toISOString(), endTime: new Date(until).toISOString(), pageSize: 1000, pageToken } },
        );
        items.push(...(answer.fires ?? []).map((fire) => ({ time: fire.time, label: fire.scheduleName || fire.scheduleId })));
        pageToken = answer.nextPageToken ?? "";
      } while (pageToken && items.length < MAX_CALENDAR_FIRES);
    }
    return items;
  };

  const suggestions = await call<{ suggestions?: { cronExpression: string; plannedFires?: number; reason?: string }[] }>(
    "GET",
    ws("/scheduleSuggestions"),
    { query: { cadence: "SUGGESTION_CADENCE_DAILY", timeZone: zone, maxSuggestions: 3 } },
  ).catch(() => ({ suggestions: [] }));

  const runStats = (item: ObjectiveStats | undefined): [string, string][] => [
    ["Runs", String(item?.counts?.total ?? 0)],
    ["Succeeded", String(item?.counts?.succeeded ?? 0)],
    ["Failed", String(item?.counts?.failed ?? 0)],
    ["Success rate", percent(item?.successRate)],
    ["Average duration", humanSeconds(seconds(item?.averageDuration))],
    ["p95 duration", humanSeconds(seconds(item?.p95Duration))],
  ];
  replace(
    page,
    h("h1", {}, "Overview"),
    section(
      "Today",
      h("div", { class: "tiles", "data-testid": "workspace-stats" }, runStats(stats.today).map(([label, value]) => h("div", { class: "tile" }, h("p", { class: "tile-value" }, value), h("p", { class: "tile-label" }, label)))),
      definitions([
        ["Schedules", String(stats.schedules?.total ?? 0)],
        ["Active", String(stats.schedules?.active ?? 0)],
        ["Paused", String(stats.schedules?.paused ?? 0)],
        ["Archived", String(stats.schedules?.archived ?? 0)],
      ]),
    ),
    section(
      "Engine",
      definitions([
        ["Status", engine.running ? "Running" : "Not running"],
        ["Last pass", timeElement(engine.lastPassAt)],
        ["Next wake", timeElement(engine.nextWakeAt)],
        ["Fires lately", String(engine.recentFires ?? 0)],
        ["Fire lag p99", humanSeconds(seconds(engine.recentFireLagP99))],
        ["Replicas", String(engine.replicas?.length ?? 0)],
      ]),
    ),
    section("Heatmap", h("div", { class: "toolbar", role: "group", "aria-label": "Heatmap window" }, future, past), heatmapHolder),
    section("Calendar", fireCalendar(zone, loadFires, "workspace-calendar")),
    section(
      "Quiet slots for a new daily schedule",
      (suggestions.suggestions ?? []).length
        ? table(
            "Suggested times",
            ["Cron", "Planned fires then", "Why", "Action"],
            (suggestions.suggestions ?? []).map((item) => [
              h("code", {}, item.cronExpression),
              String(item.plannedFires ?? 0),
              item.reason ?? "",
              link(`#/schedules/new${queryString({ cron: item.cronExpression, zone })}`, "Use this slot"),
            ]),
          )
        : h("p", {}, "No suggestion."),
    ),
  );
}
