"""`sundial webhooks create|list|get|update|delete|rotate-secret|enable|disable` and
`sundial deliveries list|get|redeliver` (sundial.v1.WebhookService). A webhook's signing
secret is printed by create and rotate-secret only."""

import json
from typing import Any

import click

from sundial.cli.documents import file_option
from sundial.cli.errors import CommandError, Decorator, SundialGroup
from sundial.cli.listing import list_options, list_resources
from sundial.cli.output import Column, Resource, field_column, print_one
from sundial.cli.resource_commands import (
    ResourceKind,
    add_call,
    add_create,
    add_delete,
    add_get,
    add_list,
    with_options,
)
from sundial.cli.session import Session, client_command

ALL_WEBHOOKS = "-"
# The dotted event names of sundial.v1.EventType (what a delivery's `type` says).
EVENTS = (
    "objective.succeeded",
    "objective.failed",
    "objective.timed_out",
    "objective.cancelled",
    "schedule.auto_paused",
    "fire.missed",
    "fire.skipped",
    "schedule.finished",
    "webhook.disabled",
    "chain_run.started",
    "chain_run.succeeded",
    "chain_run.failed",
)
FORMATS = ("json", "slack-markdown", "slack-plain")
DELIVERY_STATUSES = ("pending", "delivered", "dead-letter", "condition-error")


def _events(webhook: Resource) -> str:
    names = webhook.get("spec", {}).get("eventTypes", [])
    return ", ".join(_event_name(name) for name in names) or "results only"


def _event_name(enum_name: str) -> str:
    name = enum_name.removeprefix("EVENT_TYPE_").lower()
    if name.startswith("chain_run_"):  # the one subject of two words
        return f"chain_run.{name.removeprefix('chain_run_')}"
    subject, _, rest = name.partition("_")
    return f"{subject}.{rest}"


COLUMNS = (
    field_column("ID", "metadata.id"),
    field_column("NAME", "metadata.name"),
    field_column("URL", "spec.url"),
    Column("EVENTS", _events),
    field_column("STATE", "info.state"),
    Column("SECRET", lambda webhook: f"...{webhook.get('info', {}).get('secretHint', '')}"),
)
DELIVERY_COLUMNS = (
    field_column("ID", "metadata.id"),
    field_column("WEBHOOK", "spec.webhookId"),
    Column(
        "EVENT",
        lambda d: (
            "objective.result"
            if d.get("spec", {}).get("result")
            else _event_name(d.get("spec", {}).get("eventType", ""))
        ),
    ),
    field_column("STATUS", "info.status"),
    field_column("ATTEMPTS", "info.attempts", "0"),
    field_column("HTTP", "info.lastHttpStatus", ""),
    field_column("NEXT ATTEMPT", "info.nextAttemptAt"),
    field_column("CREATED", "metadata.createdAt"),
)


def spec_flags(command: Any) -> Any:
    """The flags that set spec fields; each given one is a path of an update's mask."""
    options: list[Decorator] = [
        click.option("--url", help="the https URL to POST to"),
        click.option(
            "--event", "events", multiple=True, type=click.Choice(EVENTS),
            help="an event to send (repeat; none: only the result deliveries naming it)",
        ),
        click.option(
            "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
            help="an extra request header (repeat)",
        ),
        click.option("--agent", "agents", multiple=True, help="only this agent's events (repeat)"),
        click.option(
            "--schedule", "schedules", multiple=True, help="only this schedule's events (repeat)"
        ),
        click.option("--condition", help="CEL over type, objective, schedule, agent, fire"),
        click.option("--format", "format_", type=click.Choice(FORMATS), help="body format"),
    ]  # fmt: skip
    return with_options(command, options)


def spec_document(flags: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The spec the flags give, and the mask paths of the fields they set."""
    spec: dict[str, Any] = {}
    paths: list[str] = []

    def put(field: str, path: str, value: Any) -> None:
        spec[field] = value
        paths.append(f"spec.{path}")

    if flags.get("url") is not None:
        put("url", "url", flags["url"])
    if flags.get("events"):
        put("eventTypes", "event_types", [_event_enum(name) for name in flags["events"]])
    if flags.get("headers"):
        put("headers", "headers", _parse_headers(flags["headers"]))
    if flags.get("agents"):
        put("agentIds", "agent_ids", list(flags["agents"]))
    if flags.get("schedules"):
        put("scheduleIds", "schedule_ids", list(flags["schedules"]))
    if flags.get("condition") is not None:
        put("condition", "condition", flags["condition"])
    if flags.get("format_"):
        put("format", "format", "WEBHOOK_FORMAT_" + flags["format_"].upper().replace("-", "_"))
    return spec, paths


def _event_enum(name: str) -> str:
    return "EVENT_TYPE_" + name.upper().replace(".", "_")


def _parse_headers(given: tuple[str, ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in given:
        name, colon, value = item.partition(":")
        if not colon or not name.strip():
            raise CommandError(f"--header {item!r}: write it as 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


@click.group("webhooks", cls=SundialGroup)
def webhooks() -> None:
    """The webhooks of a workspace: where Sundial posts events and results."""


WEBHOOK = ResourceKind("WebhookService", "Webhook", "webhook_id", COLUMNS)
add_list(webhooks, WEBHOOK, "The workspace's webhooks, oldest first (never their secrets).")
add_get(webhooks, WEBHOOK, "One webhook.")


def _print_with_secret(session: Session, webhook: Resource) -> None:
    print_one(session.output, webhook, COLUMNS)
    secret = webhook.get("info", {}).get("secret", "")
    if session.output == "table" and secret:
        click.echo(f"signing secret (shown only now): {secret}")


add_create(
    webhooks,
    WEBHOOK,
    "A new webhook named NAME (or as the file's `metadata` and `spec` say, the flags over "
    "it); its signing secret is printed now and by rotate-secret only.",
    options=[spec_flags, file_option()],
    spec_of=lambda file_spec, flags: {**file_spec, **spec_document(flags)[0]},
    show=_print_with_secret,
)


@webhooks.command("update")
@click.argument("webhook_id")
@click.option("--name", help="a new name")
@spec_flags
@click.option("--etag", default="", help="update only if the webhook is still at this etag")
@client_command
def update_webhook(
    session: Session, webhook_id: str, name: str | None, etag: str, **flags: Any
) -> int:
    """Change the fields the flags name (--event and --header replace the whole list)."""
    spec, paths = spec_document(flags)
    request: dict[str, Any] = {
        "workspaceId": session.workspace_id(),
        "webhookId": webhook_id,
        "spec": spec,
        "etag": etag,
    }
    if name is not None:
        request["metadata"] = {"name": name}
        paths.append("metadata.name")
    if not paths:
        raise CommandError("nothing to change: give a flag (--url, --event, --name, ...)")
    request["updateMask"] = ",".join(paths)
    print_one(session.output, session.call("WebhookService.UpdateWebhook", request), COLUMNS)
    return 0


add_delete(
    webhooks,
    WEBHOOK,
    "Delete a webhook (refused while a schedule's or agent's deliveries name it).",
)
add_call(
    webhooks,
    WEBHOOK,
    "rotate-secret",
    "RotateWebhookSecret",
    "A new signing secret, printed now; deliveries are signed with it from now on.",
    show=_print_with_secret,
)
add_call(
    webhooks,
    WEBHOOK,
    "enable",
    "EnableWebhook",
    "Send to the webhook again (its pending deliveries too).",
)
add_call(
    webhooks,
    WEBHOOK,
    "disable",
    "DisableWebhook",
    "Send nothing to the webhook until it is enabled.",
    options=[click.option("--reason", default="", help="shown as the webhook's disabled reason")],
)


# --- deliveries ---------------------------------------------------------------------------


def webhook_option() -> Decorator:
    return click.option(
        "--webhook", default=ALL_WEBHOOKS, help="whk_ id (default: any webhook of the workspace)"
    )


@click.group("deliveries", cls=SundialGroup)
def deliveries() -> None:
    """Deliveries: each event or result on its way to a webhook, and how sending it went."""


@deliveries.command("list")
@webhook_option()
@click.option("--status", type=click.Choice(DELIVERY_STATUSES), help="only in this status")
@click.option("--filter", "filter_", default="", help="AIP-160 filter, ANDed with the above")
@list_options
@client_command
def list_deliveries(
    session: Session,
    webhook: str,
    status: str | None,
    filter_: str,
    every_page: bool,
    page_size: int,
    page_token: str,
) -> int:
    """Deliveries, newest first."""
    terms = []
    if status:
        terms.append("status = DELIVERY_STATUS_" + status.upper().replace("-", "_"))
    if filter_:
        terms.append(filter_)
    request = {
        "workspaceId": session.workspace_id(),
        "webhookId": webhook,
        "filter": " AND ".join(terms),
    }
    return list_resources(
        session,
        "WebhookService.ListDeliveries",
        request,
        "deliveries",
        DELIVERY_COLUMNS,
        every_page=every_page,
        page_size=page_size,
        page_token=page_token,
    )


@deliveries.command("get")
@click.argument("delivery_id")
@webhook_option()
@click.option("--body", "show_body", is_flag=True, help="print only the body it sends")
@client_command
def get_delivery(session: Session, delivery_id: str, webhook: str, show_body: bool) -> int:
    """One delivery."""
    request = {
        "workspaceId": session.workspace_id(),
        "webhookId": webhook,
        "deliveryId": delivery_id,
    }
    delivery = session.call("WebhookService.GetDelivery", request)
    if show_body:
        click.echo(json.dumps(delivery.get("spec", {}).get("body", {}), indent=2))
        return 0
    print_one(session.output, delivery, DELIVERY_COLUMNS)
    return 0


@deliveries.command("redeliver")
@click.argument("delivery_id")
@webhook_option()
@client_command
def redeliver(session: Session, delivery_id: str, webhook: str) -> int:
    """Send a delivery again now, with the same id and body, whatever its status."""
    request = {
        "workspaceId": session.workspace_id(),
        "webhookId": webhook,
        "deliveryId": delivery_id,
    }
    delivery = session.call("WebhookService.RedeliverDelivery", request)
    print_one(session.output, delivery, DELIVERY_COLUMNS)
    return 0
