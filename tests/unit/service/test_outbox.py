"""What the outbox decides for an event, without a database: which webhooks subscribe (event
types, agent and schedule filters, condition), the format of each body, the rows of a
condition that errs, and the Slack messages."""

from datetime import UTC, datetime

import pytest

from sundial.domain.metadata import ResourceMetadata
from sundial.domain.webhooks import (
    DeliveryStatus,
    EventType,
    Webhook,
    WebhookFormat,
    WebhookSpec,
)
from sundial.metrics import Metrics
from sundial.service.outbox import (
    OutboxReport,
    ScheduleEvent,
    schedule_event_deliveries,
)
from sundial.service.slack_messages import MessageFacts, slack_message

NOW = datetime(2026, 6, 1, 8, 30, 0, 250_000, tzinfo=UTC)
MISSED = ScheduleEvent(
    EventType.FIRE_MISSED,
    account_id="acc_1",
    workspace_id="wsp_1",
    schedule_id="sch_1",
    agent_id="agt_1",
    scheduled_times=(
        datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 6, 1, 8, 1, tzinfo=UTC),
    ),
    count=2,
    reason="older than the schedule's catch-up window",
    schedule_name="daily <prices>",
    schedule_labels={"team": "pricing"},
)


def webhook(webhook_id: str, **spec: object) -> Webhook:
    values: dict[str, object] = {
        "url": "https://example.com",
        "event_types": (EventType.FIRE_MISSED,),
    }
    values.update(spec)
    return Webhook(
        metadata=ResourceMetadata(id=webhook_id, account_id="acc_1", workspace_id="wsp_1"),
        spec=WebhookSpec(**values),  # type: ignore[arg-type]
    )


def decided(
    *webhooks: Webhook, event: ScheduleEvent = MISSED
) -> tuple[dict[str, object], OutboxReport]:
    report = OutboxReport()
    rows = schedule_event_deliveries(webhooks, event, NOW, report)
    return {row.spec.webhook_id: row for row in rows}, report


@pytest.mark.parametrize(
    ("spec", "sent"),
    [
        ({}, True),
        ({"event_types": (EventType.FIRE_SKIPPED,)}, False),
        ({"event_types": ()}, False),
        ({"agent_ids": ("agt_1", "agt_2")}, True),
        ({"agent_ids": ("agt_2",)}, False),
        ({"schedule_ids": ("sch_1",)}, True),
        ({"schedule_ids": ("sch_2",)}, False),
        ({"condition": 'type == "fire.missed" && schedule.labels.team == "pricing"'}, True),
        ({"condition": 'type.startsWith("objective.")'}, False),
        ({"condition": 'agent.id == "agt_1" && schedule.id == "sch_1"'}, True),
        ({"condition": "fire.count > 1.0 && size(fire.scheduledTimes) == 2"}, True),
        ({"condition": 'schedule.agentId == "agt_1" && fire.reason.contains("window")'}, True),
        ({"condition": "size(objective) > 0"}, False),
    ],
    ids=[
        "subscribed",
        "other-type",
        "no-types",
        "agent-listed",
        "agent-not-listed",
        "schedule-listed",
        "schedule-not-listed",
        "condition-true",
        "condition-false",
        "condition-on-agent",
        "condition-on-fire",
        "condition-on-fire-reason",
        "no-objective-in-a-fire-event",
    ],
)
def test_a_webhook_gets_an_event_it_subscribes_to_and_passes(spec: dict, sent: bool) -> None:
    rows, report = decided(webhook("whk_1", **spec))
    assert ("whk_1" in rows) is sent
    filtered = "condition" in spec and not sent
    assert report.decisions[("event", "filtered")] == int(filtered)
    assert report.decisions[("event", "written")] == int(sent)


def test_a_condition_that_errs_writes_a_condition_error_row_that_is_never_sent() -> None:
    rows, report = decided(webhook("whk_1", condition="schedule.nosuch > 1.0"))
    row = rows["whk_1"]
    assert row.info.status is DeliveryStatus.CONDITION_ERROR
    assert row.info.last_error.startswith("condition: ")
    assert "nosuch" in row.info.last_error
    assert report.decisions == {("event", "condition_error"): 1}


def test_an_event_condition_sees_the_event_variables_not_a_results() -> None:
    # `output` is a result delivery's variable; an event's condition is compiled with
    # EVENT_VARIABLES (as the webhook API checked it when it was written).
    rows, report = decided(webhook("whk_1", condition="output.count > 1.0"))
    row = rows["whk_1"]
    assert row.info.status is DeliveryStatus.CONDITION_ERROR
    assert "undeclared variable 'output'" in row.info.last_error
    assert report.decisions == {("event", "condition_error"): 1}


def test_a_json_body_is_the_webhook_events_protojson() -> None:
    rows, _ = decided(webhook("whk_1"))
    row = rows["whk_1"]
    assert row.spec.format is WebhookFormat.JSON
    assert (row.spec.event_type, row.spec.result) == (EventType.FIRE_MISSED, False)
    assert (row.spec.schedule_id, row.spec.agent_id, row.spec.objective_id) == (
        "sch_1",
        "agt_1",
        "",
    )
    assert row.spec.body == {
        "type": "fire.missed",
        "timestamp": "2026-06-01T08:30:00.250Z",
        "workspaceId": "wsp_1",
        "data": {
            "schedule": {"id": "sch_1", "name": "daily <prices>", "agentId": "agt_1"},
            "scheduledTimes": ["2026-06-01T08:00:00Z", "2026-06-01T08:01:00Z"],
            "count": 2,
            "reason": "older than the schedule's catch-up window",
        },
    }


def test_each_webhook_gets_its_own_format_and_one_id_per_row() -> None:
    rows, _ = decided(
        webhook("whk_1", format=WebhookFormat.SLACK_MARKDOWN),
        webhook("whk_2", format=WebhookFormat.SLACK_PLAIN),
        webhook("whk_3"),
    )
    assert rows["whk_1"].spec.body == {
        "text": "*2 fire(s) missed*\n"
        "schedule *daily &lt;prices&gt;* (`sch_1`), agent `agt_1`\n"
        "Scheduled for 2026-06-01 08:00:00 UTC\n"
        "Reason: older than the schedule's catch-up window"
    }
    assert rows["whk_2"].spec.body == {
        "text": "2 fire(s) missed\n"
        "schedule daily <prices> (sch_1), agent agt_1\n"
        "Scheduled for 2026-06-01 08:00:00 UTC\n"
        "Reason: older than the schedule's catch-up window"
    }
    assert rows["whk_3"].spec.format is WebhookFormat.JSON
    ids = [row.metadata.id for row in rows.values()]
    assert len(set(ids)) == 3
    assert all(i.startswith("msg_") for i in ids)


def test_a_small_flat_output_reads_as_key_value_lines() -> None:
    facts = MessageFacts(
        headline="Objective SUCCEEDED",
        schedule_name="daily",
        schedule_id="sch_1",
        agent_name="pricer",
        agent_id="agt_1",
        scheduled_time=datetime(2026, 6, 1, 9, tzinfo=UTC),
        output={"count": 3, "title": "EU & US"},
    )
    assert slack_message(facts, markdown=True)["text"] == (
        "*Objective SUCCEEDED*\n"
        "schedule *daily* (`sch_1`), agent *pricer* (`agt_1`)\n"
        "Scheduled for 2026-06-01 09:00:00 UTC\n"
        "*count*: 3\n"
        "*title*: EU &amp; US"
    )
    assert slack_message(facts, markdown=False)["text"].endswith("count: 3\ntitle: EU & US")


def test_a_nested_output_is_a_short_code_block_and_the_error_is_shown() -> None:
    facts = MessageFacts(
        headline="Objective FAILED",
        output={"items": ["a" * 2000, "```"]},
        error="boom",
    )
    text = slack_message(facts, markdown=True)["text"]
    assert "\nError: boom\nOutput:\n```{" in text
    assert text.endswith("…```")
    block = text.split("Output:\n", 1)[1]
    assert len(block) <= 1500 + 6
    assert "```" not in block[3:-3]
    plain = slack_message(facts, markdown=False)["text"]
    assert "```" not in plain.split("Output:\n", 1)[1][:3]


def test_recording_a_report_wakes_the_dispatcher_only_for_something_to_send() -> None:
    woken: list[str] = []
    metrics = Metrics()
    for condition, wakes in (
        ('type == "fire.skipped"', False),  # filtered
        ("schedule.nosuch", False),  # a CONDITION_ERROR row is never sent
        ("", True),
    ):
        report = OutboxReport(on_written=lambda: woken.append("woken"))
        schedule_event_deliveries([webhook("whk_1", condition=condition)], MISSED, NOW, report)
        report.record(metrics)
        assert woken == (["woken"] if wakes else []), condition
    value = metrics.registry.get_sample_value
    for outcome in ("written", "filtered", "condition_error"):
        labels = {"kind": "event", "outcome": outcome}
        assert value("sundial_outbox_decisions_total", labels) == 1, outcome
