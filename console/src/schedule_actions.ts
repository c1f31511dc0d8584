// The schedule actions both the list (in bulk) and a schedule's page use.
import { call, segment, ws } from "./api";

export type ScheduleAction = "pause" | "resume" | "trigger" | "archive";

export function schedulePath(agentId: string, scheduleId: string): string {
  return ws(`/agents/${segment(agentId)}/schedules/${segment(scheduleId)}`);
}

export function scheduleHash(agentId: string, scheduleId: string): string {
  return `#/schedules/${encodeURIComponent(scheduleId)}?agent=${encodeURIComponent(agentId)}`;
}

export async function act(
  action: ScheduleAction,
  agentId: string,
  scheduleId: string,
  body: Record<string, unknown> = {},
): Promise<unknown> {
  const request = action === "trigger" ? { requestId: crypto.randomUUID(), ...body } : body;
  return call("POST", `${schedulePath(agentId, scheduleId)}:${action}`, { body: request });
}

export const PAST_TENSE: Record<ScheduleAction, string> = {
  pause: "Paused",
  resume: "Resumed",
  trigger: "Triggered",
  archive: "Archived",
};
