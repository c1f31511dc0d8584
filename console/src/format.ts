// How values read on the page: enum names without their prefix, times in the viewer's
// zone (or a schedule's), durations in words.
import { h } from "./dom";

export function enumLabel(value: string | undefined, prefix: string): string {
  if (!value || value.endsWith("_UNSPECIFIED")) return "—";
  const text = value.startsWith(prefix) ? value.slice(prefix.length) : value;
  return text.charAt(0) + text.slice(1).toLowerCase().replaceAll("_", " ");
}

export const scheduleStatus = (value?: string): string => enumLabel(value, "AGENT_SCHEDULE_STATUS_");
export const objectiveStatus = (value?: string): string => enumLabel(value, "OBJECTIVE_STATUS_");
export const triggerKind = (value?: string): string => enumLabel(value, "TRIGGER_KIND_");
export const deliveryStatus = (value?: string): string => enumLabel(value, "DELIVERY_STATUS_");
export const webhookState = (value?: string): string => enumLabel(value, "WEBHOOK_STATE_");

/** A status word with a colour that is never the only cue (the word is the text). */
export function badge(text: string): HTMLSpanElement {
  const tone = text.toLowerCase().replaceAll(" ", "-");
  return h("span", { class: `badge badge-${tone}` }, text);
}

export function time(value: string | undefined, timeZone?: string): string {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, {
    timeZone,
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });
}

export function timeElement(value: string | undefined, timeZone?: string): HTMLElement | string {
  return value ? h("time", { datetime: value }, time(value, timeZone)) : "—";
}

export function seconds(duration: string | undefined): number | null {
  if (!duration) return null;
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(duration);
  return match ? Number(match[1]) : null;
}

export function humanSeconds(total: number | null): string {
  if (total === null) return "—";
  if (total < 1) return `${Math.round(total * 1000)} ms`;
  if (total < 60) return `${total.toFixed(total < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(total % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function between(start?: string, end?: string): string {
  if (!start || !end) return "—";
  return humanSeconds((new Date(end).getTime() - new Date(start).getTime()) / 1000);
}

export function percent(rate: number | undefined): string {
  return rate === undefined ? "—" : `${(rate * 100).toFixed(1)} %`;
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function viewerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
