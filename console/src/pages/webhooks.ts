// Webhooks and their deliveries: state, where they send, each delivery's status and
// attempts, redeliver one, enable or disable the webhook.
import { call, segment, ws } from "../api";
import { announce, go, link, type Route } from "../app";
import { button, definitions, field, h, replace, section, table } from "../dom";
import { badge, deliveryStatus, enumLabel, prettyJson, timeElement, webhookState } from "../format";
import type { Delivery, Webhook } from "../model";

const DELIVERY_STATUSES = ["PENDING", "DELIVERED", "DEAD_LETTER", "CONDITION_ERROR"];

function webhookHash(id: string): string {
  return `#/webhooks/${encodeURIComponent(id)}`;
}

export async function webhooksPage(page: HTMLElement, _route: Route): Promise<void> {
  const answer = await call<{ webhooks?: Webhook[] }>("GET", ws("/webhooks"), { query: { pageSize: 1000 } });
  const webhooks = answer.webhooks ?? [];
  replace(
    page,
    h("h1", {}, "Webhooks"),
    webhooks.length
      ? table(
          "Webhooks",
          ["Name", "URL", "State", "Events", "Last success", "Failing since"],
          webhooks.map((webhook) => [
            link(webhookHash(webhook.metadata.id), webhook.metadata.name || webhook.metadata.id),
            webhook.spec.url ?? "—",
            badge(webhookState(webhook.info.state)),
            (webhook.spec.eventTypes ?? []).map((type) => enumLabel(type, "EVENT_TYPE_")).join(", ") || "all",
            timeElement(webhook.info.lastSuccessAt),
            timeElement(webhook.info.failingSince),
          ]),
          { "data-testid": "webhooks-table" },
        )
      : h("p", {}, "No webhooks. Create one with `sundial webhooks create` or POST …/webhooks."),
  );
}

export async function webhookPage(page: HTMLElement, route: Route): Promise<void> {
  const webhookId = route.path[1] ?? "";
  const path = ws(`/webhooks/${segment(webhookId)}`);
  const webhook = await call<Webhook>("GET", path);
  const statusFilter = route.params.get("status") ?? "";
  const deliveries = await call<{ deliveries?: Delivery[]; nextPageToken?: string }>("GET", `${path}/deliveries`, {
    query: { pageSize: 100, filter: statusFilter ? `status = ${statusFilter}` : "", pageToken: route.params.get("page") ?? "" },
  });
  const name = webhook.metadata.name || webhookId;
  const enabled = webhook.info.state === "WEBHOOK_STATE_ENABLED";
  const post = async (suffix: string, done: string): Promise<void> => {
    try {
      await call("POST", `${path}${suffix}`, { body: {} });
      announce(done);
      go(location.hash);
    } catch (error) {
      announce(`Failed: ${(error as Error).message}`, "error");
    }
  };
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "Any status"),
    DELIVERY_STATUSES.map((value) => h("option", { value, selected: statusFilter === value }, deliveryStatus(`DELIVERY_STATUS_${value}`))),
  );
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter deliveries" }, field("Delivery status", status), h("button", { type: "submit" }, "Apply filters"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    go(`${webhookHash(webhookId)}${status.value ? `?status=${status.value}` : ""}`);
  });
  const items = deliveries.deliveries ?? [];
  const pager = h("div", { class: "pager" });
  if (deliveries.nextPageToken) {
    const next = new URLSearchParams(route.params);
    next.set("page", deliveries.nextPageToken);
    pager.append(link(`${webhookHash(webhookId)}?${next.toString()}`, "Next page", { class: "button-link" }));
  }
  replace(
    page,
    h("h1", {}, name),
    h("p", { class: "lead" }, badge(webhookState(webhook.info.state)), webhook.info.disabledReason ? ` ${webhook.info.disabledReason}` : ""),
    h(
      "div",
      { class: "actions", role: "group", "aria-label": "Webhook actions" },
      enabled ? button("Disable", () => void post(":disable", `Disabled ${name}.`)) : button("Enable", () => void post(":enable", `Enabled ${name}.`)),
    ),
    section(
      "Details",
      definitions([
        ["URL", webhook.spec.url ?? "—"],
        ["Events", (webhook.spec.eventTypes ?? []).map((type) => enumLabel(type, "EVENT_TYPE_")).join(", ") || "all"],
        ["Format", enumLabel(webhook.spec.format, "WEBHOOK_FORMAT_")],
        ["Condition", webhook.spec.condition || "—"],
        ["Secret", webhook.info.secretHint ? `…${webhook.info.secretHint}` : "—"],
        ["Last success", timeElement(webhook.info.lastSuccessAt)],
        ["Failing since", timeElement(webhook.info.failingSince)],
      ]),
    ),
    section(
      "Deliveries",
      filters,
      items.length
        ? table(
            "Deliveries, newest first",
            ["Delivery", "Event", "Status", "Attempts", "Last HTTP status", "Last error", "Next attempt", "Body", "Action"],
            items.map((delivery) => [
              delivery.metadata.id,
              enumLabel(delivery.spec.eventType, "EVENT_TYPE_"),
              badge(deliveryStatus(delivery.info.status)),
              String(delivery.info.attempts ?? 0),
              delivery.info.lastHttpStatus ? String(delivery.info.lastHttpStatus) : "—",
              delivery.info.lastError || "—",
              timeElement(delivery.info.nextAttemptAt),
              h("details", {}, h("summary", {}, "Body"), h("pre", { tabindex: "0" }, prettyJson(delivery.spec.body ?? {}))),
              button("Redeliver", () => void post(`/deliveries/${segment(delivery.metadata.id)}:redeliver`, `Queued ${delivery.metadata.id} again.`), {
                "data-testid": `redeliver-${delivery.metadata.id}`,
                "aria-label": `Redeliver ${delivery.metadata.id}`,
              }),
            ]),
            { "data-testid": "deliveries-table" },
          )
        : h("p", {}, "No deliveries."),
      pager,
    ),
  );
}
