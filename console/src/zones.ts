// Calendar arithmetic in an IANA zone with nothing but Intl: which local day an instant
// falls on, and whether a local day has a DST change (its UTC offset is not the same all
// day), which is what the calendars mark.
const dayFormats = new Map<string, Intl.DateTimeFormat>();
const offsetFormats = new Map<string, Intl.DateTimeFormat>();
const HOUR_MS = 3_600_000;

function dayFormat(timeZone: string): Intl.DateTimeFormat {
  let format = dayFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23" });
    dayFormats.set(timeZone, format);
  }
  return format;
}

export function validZone(timeZone: string): string {
  try {
    dayFormat(timeZone);
    return timeZone;
  } catch {
    return "UTC";
  }
}

/** "YYYY-MM-DD" of the local day `instant` falls on in `timeZone`. */
export function dayKey(instant: Date, timeZone: string): string {
  const parts = Object.fromEntries(dayFormat(timeZone).formatToParts(instant).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

export function localHour(instant: Date, timeZone: string): number {
  const hour = dayFormat(timeZone).formatToParts(instant).find((part) => part.type === "hour");
  return Number(hour?.value ?? 0) % 24;
}

export function offsetOf(instant: Date, timeZone: string): string {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
    offsetFormats.set(timeZone, format);
  }
  return format.formatToParts(instant).find((part) => part.type === "timeZoneName")?.value ?? "";
}

/** Whether the local day `key` ("YYYY-MM-DD") has two UTC offsets in `timeZone`. */
export function isDstDay(key: string, timeZone: string): boolean {
  const [year, month, day] = key.split("-").map(Number);
  const noon = Date.UTC(year ?? 1970, (month ?? 1) - 1, day ?? 1, 12);
  const offsets = new Set<string>();
  for (let at = noon - 26 * HOUR_MS; at <= noon + 26 * HOUR_MS; at += HOUR_MS) {
    const instant = new Date(at);
    if (dayKey(instant, timeZone) === key) offsets.add(offsetOf(instant, timeZone));
  }
  return offsets.size > 1;
}

/** The calendar date `key` moved by `days` (plain date arithmetic, no zone). */
export function addDays(key: string, days: number): string {
  const [year, month, day] = key.split("-").map(Number);
  return new Date(Date.UTC(year ?? 1970, (month ?? 1) - 1, (day ?? 1) + days)).toISOString().slice(0, 10);
}

/** 0 = Sunday, as the API's calendars and heatmaps count. */
export function weekday(key: string): number {
  return new Date(`${key}T00:00:00Z`).getUTCDay();
}

/** The first instant of local day `key` in `timeZone` (found by stepping hours). */
export function startOfDay(key: string, timeZone: string): Date {
  const [year, month, day] = key.split("-").map(Number);
  let at = Date.UTC(year ?? 1970, (month ?? 1) - 1, day ?? 1) - 15 * HOUR_MS;
  while (dayKey(new Date(at), timeZone) < key) at += HOUR_MS / 4;
  return new Date(at);
}
