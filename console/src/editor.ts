// The schedule editor's live preview: what was typed (words or a cron string) goes to
// POST /v1/schedules:parse, and the rules it yields to POST /v1/schedules:preview, so the
// description and the next fires show before anything is saved.
import { ApiError, call } from "./api";
import { field, h, replace } from "./dom";
import { clearErrors, showErrors, type FieldTargets } from "./field_errors";
import { time, viewerZone } from "./format";
import type { ParsedSchedule, Preview, ScheduleRules } from "./model";

const PREVIEW_COUNT = 5;
const DELAY_MS = 350;

export interface ScheduleEditor {
  fields: HTMLElement;
  words: HTMLInputElement;
  zone: HTMLInputElement;
  /** The rules for what is typed now (parsing it if the preview has not yet). */
  rules(): Promise<ScheduleRules | null>;
  targets: FieldTargets;
}

export function scheduleEditor(initialText: string, initialZone: string, scheduleId?: string): ScheduleEditor {
  const words = h("input", { type: "text", name: "words", value: initialText, autocomplete: "off", placeholder: "every weekday at 9am" });
  const zone = h("input", { type: "text", name: "timezone", value: initialZone || viewerZone(), autocomplete: "off" });
  const output = h("div", { class: "preview", "aria-live": "polite", "data-testid": "schedule-preview" });
  const problem = h("p", { class: "error" });
  const targets: FieldTargets = [
    ["text", words],
    ["spec.schedule.cronExpressions", words],
    ["spec.schedule", words],
    ["timezone", zone],
    ["schedule.timezone", zone],
    ["schedule", words],
  ];
  let parsedFor = "";
  let parsed: ScheduleRules | null = null;
  let timer = 0;
  let generation = 0;

  const parse = async (): Promise<ScheduleRules | null> => {
    const key = `${words.value}\u0000${zone.value}`;
    if (key === parsedFor) return parsed;
    generation += 1;
    const mine = generation;
    if (!words.value.trim()) {
      replace(output);
      clearErrors(targets, problem);
      return null;
    }
    try {
      const answer = await call<ParsedSchedule>("POST", "/v1/schedules:parse", {
        body: { text: words.value.trim(), timezone: zone.value.trim() },
      });
      const rules = { ...answer.schedule, timezone: zone.value.trim() || answer.schedule?.timezone };
      const preview = await call<Preview>("POST", "/v1/schedules:preview", {
        body: { schedule: rules, count: PREVIEW_COUNT, ...(scheduleId ? { scheduleId } : {}) },
      });
      if (mine !== generation) return parsed;
      clearErrors(targets, problem);
      replace(
        output,
        h("p", { class: "description" }, h("strong", {}, "Reads as: "), h("span", { "data-testid": "preview-description" }, answer.description ?? preview.description ?? "")),
        h("h3", {}, "Next fires"),
        h("ol", { class: "fires" }, (preview.fireTimes ?? []).map((fire) => h("li", {}, h("time", { datetime: fire }, time(fire, rules.timezone))))),
      );
      parsedFor = key;
      parsed = rules;
      return rules;
    } catch (error) {
      if (mine !== generation) return null;
      replace(output);
      if (error instanceof ApiError) showErrors(targets, error, problem);
      else problem.textContent = (error as Error).message;
      parsedFor = "";
      parsed = null;
      return null;
    }
  };
  const schedulePreview = (): void => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void parse(), DELAY_MS);
  };
  words.addEventListener("input", schedulePreview);
  zone.addEventListener("input", schedulePreview);
  if (initialText) schedulePreview();
  const fields = h(
    "div",
    { class: "editor" },
    field("Schedule in words", words, "Words such as “every weekday at 9am”, or a cron string such as “0 9 * * 1-5”."),
    field("Time zone", zone, "An IANA zone, e.g. Europe/Paris."),
    problem,
    output,
  );
  return {
    fields,
    words,
    zone,
    targets,
    rules: async () => {
      window.clearTimeout(timer);
      return parse();
    },
  };
}
