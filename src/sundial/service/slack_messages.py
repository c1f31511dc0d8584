"""Slack incoming-webhook messages (`{"text": ...}`) for the SLACK_MARKDOWN and SLACK_PLAIN
formats: what a person in a channel needs at a glance (what happened, to which schedule and
agent, when, the output or the error), in Slack's mrkdwn or in plain text for targets that
show text as it is (Mattermost, Discord's Slack-compatible endpoint, a pager)."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Slack shows the first 40,000 characters of a message; a notification stays far shorter.
MAX_OUTPUT_CHARS = 1500
MAX_ERROR_CHARS = 500
# An output of at most this many scalar fields reads better as `key: value` lines.
MAX_FIELD_LINES = 10


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a message says. `headline` is the status line (`Objective FAILED`)."""

    headline: str
    schedule_name: str = ""
    schedule_id: str = ""
    agent_name: str = ""
    agent_id: str = ""
    scheduled_time: datetime | None = None
    output: Any = None
    error: str = ""
    reason: str = ""


def slack_message(facts: MessageFacts, *, markdown: bool) -> dict[str, str]:
    """The body of one Slack message."""
    text = _mrkdwn if markdown else _plain
    lines = [f"*{text(facts.headline)}*" if markdown else facts.headline]
    subject = []
    if facts.schedule_id:
        subject.append(f"schedule {_name(facts.schedule_name, facts.schedule_id, markdown)}")
    if facts.agent_id:
        subject.append(f"agent {_name(facts.agent_name, facts.agent_id, markdown)}")
    if subject:
        lines.append(", ".join(subject))
    if facts.scheduled_time is not None:
        lines.append(f"Scheduled for {_time(facts.scheduled_time)}")
    if facts.reason:
        lines.append(f"Reason: {text(facts.reason)}")
    if facts.error:
        lines.append(f"Error: {text(_shortened(facts.error, MAX_ERROR_CHARS))}")
    if facts.output is not None:
        lines.extend(_output_lines(facts.output, markdown))
    return {"text": "\n".join(lines)}


def _name(name: str, resource_id: str, markdown: bool) -> str:
    if not name or name == resource_id:
        return f"`{resource_id}`" if markdown else resource_id
    if markdown:
        return f"*{_mrkdwn(name)}* (`{resource_id}`)"
    return f"{name} ({resource_id})"


def _output_lines(output: Any, markdown: bool) -> list[str]:
    """A small flat object as `key: value` lines, anything else as JSON (in a code block in
    mrkdwn), cut to MAX_OUTPUT_CHARS."""
    if (
        isinstance(output, dict)
        and 0 < len(output) <= MAX_FIELD_LINES
        and all(not isinstance(v, dict | list) for v in output.values())
    ):
        text = _mrkdwn if markdown else _plain
        return [
            f"{'*' + text(str(key)) + '*' if markdown else key}: "
            f"{text(_shortened(_scalar(value), MAX_ERROR_CHARS))}"
            for key, value in output.items()
        ]
    encoded = output if isinstance(output, str) else json.dumps(output, indent=2)
    encoded = _shortened(encoded, MAX_OUTPUT_CHARS)
    if markdown:
        # A code block shows its text as it is but for Slack's three escapes; a ``` inside
        # it would end the block early.
        return ["Output:", "```" + _mrkdwn(encoded).replace("```", "`\u200b``") + "```"]
    return ["Output:", encoded]


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> str:
    """Slack's escapes: `&`, `<` and `>` would start entities and links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str) -> str:
    return text
