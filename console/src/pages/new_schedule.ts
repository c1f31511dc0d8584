// A new schedule from words (or cron): agent, name, schedule, zone and message, previewed
// live by the editor, created with CreateAgentSchedule; refusals show at their fields.
import { ApiError, call, listAll, segment, ws } from "../api";
import { announce, go, type Route } from "../app";
import { field, h, replace } from "../dom";
import { showErrors, type FieldTargets } from "../field_errors";
import { scheduleEditor } from "../editor";
import type { Agent, Schedule } from "../model";
import { scheduleHash } from "../schedule_actions";

export async function newSchedulePage(page: HTMLElement, route: Route): Promise<void> {
  const agents = await listAll<Agent>(ws("/agents"), "agents");
  const agent = h(
    "select",
    { name: "agent", required: true },
    agents.map((item) =>
      h("option", { value: item.metadata.id, selected: route.params.get("agent") === item.metadata.id }, item.metadata.name || item.metadata.id),
    ),
  );
  const name = h("input", { type: "text", name: "name", required: true, autocomplete: "off" });
  const message = h("textarea", { name: "message", rows: 3, required: true });
  const editor = scheduleEditor(route.params.get("cron") ?? "", route.params.get("zone") ?? "");
  const problem = h("p", { class: "error", role: "alert" });
  const targets: FieldTargets = [
    ["agentId", agent],
    ["metadata.name", name],
    ["metadata", name],
    ["spec.schedule.timezone", editor.zone],
    ["spec.initialMessage", message],
    ...editor.targets,
  ];
  const form = h(
    "form",
    { class: "card", novalidate: true },
    agents.length ? field("Agent", agent) : h("p", { class: "error" }, "This workspace has no agent yet: create one first (sundial agents create)."),
    field("Name", name),
    editor.fields,
    field("Message", message, "The initial message each run starts with."),
    problem,
    h("button", { type: "submit" }, "Create schedule"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    if (!editor.words.value.trim()) {
      showErrors(targets, new ApiError("", 400, [{ field: "text", description: "Write when the schedule fires." }]), problem);
      editor.words.focus();
      return;
    }
    const rules = await editor.rules();
    if (!rules) {
      editor.words.focus();
      return;
    }
    try {
      const created = await call<Schedule>("POST", ws(`/agents/${segment(agent.value)}/schedules`), {
        body: {
          metadata: { name: name.value.trim() },
          spec: { schedule: rules, initialMessage: message.value },
          requestId: crypto.randomUUID(),
        },
      });
      announce(`Created schedule ${created.metadata.name ?? created.metadata.id}.`);
      go(scheduleHash(agent.value, created.metadata.id));
    } catch (error) {
      if (error instanceof ApiError) {
        showErrors(targets, error, problem);
        const invalid = form.querySelector<HTMLElement>("[aria-invalid=true]");
        invalid?.focus();
      } else problem.textContent = (error as Error).message;
    }
  });
  replace(page, h("h1", {}, "New schedule"), form);
}
