// The 24×7 grid of fires: a real table (day rows, hour columns) whose cells carry their
// count as text, shaded by share of the busiest cell; the number, not the colour, is the
// information.
import { h, scrollArea } from "./dom";

const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** `counts[day][hour]`, day 0 = Sunday. */
export function heatmap(caption: string, counts: number[][], testId = "heatmap"): HTMLElement {
  const busiest = Math.max(1, ...counts.flat());
  const hours = Array.from({ length: 24 }, (_, hour) => hour);
  return scrollArea(
    caption,
    h(
      "table",
      { class: "heatmap", "data-testid": testId },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), hours.map((hour) => h("th", { scope: "col" }, String(hour).padStart(2, "0"))))),
      h(
        "tbody",
        {},
        DAY_NAMES.map((name, day) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, name.slice(0, 3)),
            hours.map((hour) => {
              const count = counts[day]?.[hour] ?? 0;
              const level = count === 0 ? 0 : Math.min(4, Math.ceil((count / busiest) * 4));
              return h("td", { class: `heat heat-${level}`, title: `${name} ${hour}:00, ${count} fires` }, String(count));
            }),
          ),
        ),
      ),
    ),
  );
}

export function emptyCounts(): number[][] {
  return Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));
}
