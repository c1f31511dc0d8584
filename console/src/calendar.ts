// Fires on a month or a week, in a zone, with DST days marked: a table (a grid of weeks
// with real column headers) so that screen readers read day by day.
import { button, h, replace, scrollArea } from "./dom";
import { addDays, dayKey, isDstDay, startOfDay, validZone, weekday } from "./zones";

export interface CalendarItem {
  time: string;
  label?: string;
}

export type CalendarLoader = (start: Date, end: Date) => Promise<CalendarItem[]>;

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const SHOWN_PER_DAY = 4;

function mondayOf(key: string): string {
  return addDays(key, -((weekday(key) + 6) % 7));
}

export function fireCalendar(zone: string, load: CalendarLoader, testId = "calendar"): HTMLElement {
  const timeZone = validZone(zone);
  let view: "month" | "week" = "month";
  let anchor = dayKey(new Date(), timeZone);
  const body = h("div", { class: "calendar-body" });
  const heading = h("p", { class: "calendar-title", "aria-live": "polite" });
  const monthButton = button("Month", () => void show("month", anchor), { "aria-pressed": "true" });
  const weekButton = button("Week", () => void show("week", anchor), { "aria-pressed": "false" });
  const previous = button("Previous", () => void show(view, view === "month" ? addMonths(anchor, -1) : addDays(anchor, -7)), { class: "secondary" });
  const next = button("Next", () => void show(view, view === "month" ? addMonths(anchor, 1) : addDays(anchor, 7)), { class: "secondary" });

  const show = async (nextView: "month" | "week", nextAnchor: string): Promise<void> => {
    view = nextView;
    anchor = nextAnchor;
    monthButton.setAttribute("aria-pressed", String(view === "month"));
    weekButton.setAttribute("aria-pressed", String(view === "week"));
    const first = view === "month" ? mondayOf(`${anchor.slice(0, 7)}-01`) : mondayOf(anchor);
    const monthEnd = addMonths(`${anchor.slice(0, 7)}-01`, 1);
    const weeks = view === "week" ? 1 : Math.ceil((daysBetween(first, monthEnd)) / 7);
    const last = addDays(first, weeks * 7);
    heading.textContent =
      view === "month"
        ? new Date(`${anchor.slice(0, 7)}-15T12:00:00Z`).toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" })
        : `Week of ${first}`;
    let items: CalendarItem[] = [];
    try {
      items = await load(startOfDay(first, timeZone), startOfDay(last, timeZone));
    } catch (error) {
      replace(body, h("p", { class: "error" }, (error as Error).message));
      return;
    }
    const byDay = new Map<string, CalendarItem[]>();
    for (const item of items) {
      const key = dayKey(new Date(item.time), timeZone);
      byDay.set(key, [...(byDay.get(key) ?? []), item]);
    }
    const rows: HTMLTableRowElement[] = [];
    for (let week = 0; week < weeks; week += 1) {
      const cells = WEEKDAYS.map((_, index) => {
        const key = addDays(first, week * 7 + index);
        const fires = byDay.get(key) ?? [];
        const dst = isDstDay(key, timeZone);
        const outside = view === "month" && key.slice(0, 7) !== anchor.slice(0, 7);
        const shown = view === "week" ? fires : fires.slice(0, SHOWN_PER_DAY);
        return h(
          "td",
          { class: ["day", dst ? "dst" : "", outside ? "outside" : ""].join(" ").trim(), "data-day": key },
          h("span", { class: "day-number" }, view === "week" ? key : String(Number(key.slice(8)))),
          dst ? h("span", { class: "dst-mark" }, "DST change") : null,
          fires.length ? h("span", { class: "count" }, `${fires.length} fire${fires.length === 1 ? "" : "s"}`) : null,
          shown.length
            ? h(
                "ul",
                {},
                shown.map((item) =>
                  h(
                    "li",
                    {},
                    h("time", { datetime: item.time }, new Date(item.time).toLocaleTimeString(undefined, { timeZone, hour: "2-digit", minute: "2-digit" })),
                    item.label ? ` ${item.label}` : "",
                  ),
                ),
              )
            : null,
          fires.length > shown.length ? h("span", { class: "more" }, `+${fires.length - shown.length} more`) : null,
        );
      });
      rows.push(h("tr", {}, cells));
    }
    replace(
      body,
      scrollArea(
        `Calendar, ${heading.textContent}`,
        h(
          "table",
          { class: `calendar calendar-${view}`, "data-testid": testId },
          h("caption", {}, `Fires in ${timeZone}, ${heading.textContent}`),
          h("thead", {}, h("tr", {}, WEEKDAYS.map((day) => h("th", { scope: "col" }, day)))),
          h("tbody", {}, rows),
        ),
      ),
    );
  };
  void show("month", anchor);
  return h(
    "div",
    { class: "calendar-block" },
    h("div", { class: "toolbar", role: "group", "aria-label": "Calendar view" }, monthButton, weekButton, previous, next, heading),
    body,
  );
}

function addMonths(key: string, months: number): string {
  const [year, month] = key.split("-").map(Number);
  return new Date(Date.UTC(year ?? 1970, (month ?? 1) - 1 + months, 1)).toISOString().slice(0, 10);
}

function daysBetween(from: string, to: string): number {
  return Math.round((new Date(`${to}T00:00:00Z`).getTime() - new Date(`${from}T00:00:00Z`).getTime()) / 86_400_000);
}
