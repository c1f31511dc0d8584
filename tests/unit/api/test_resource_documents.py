"""Canonical ProtoJSON and field-by-field changes (what `sundial apply` compares)."""

import pytest
from google.protobuf import descriptor_pool

from sundial.api.call_errors import RequestDocumentError
from sundial.api.resource_documents import canonical, changed_fields

SPEC = "sundial.v1.AgentScheduleSpec"

# A value for every field of AgentScheduleSpec (and of its schedule rules).
FULL_SPEC = {
    "initialMessage": "m",
    "schedule": {
        "calendars": [{"comment": "c", "hour": [{"start": 9}], "minute": [{"start": 5}],
                       "second": [{"start": 7}], "dayOfMonth": [{"start": 1}],
                       "month": [{"start": 1}], "dayOfWeek": [{"start": 1}]}],
        "intervals": [{"every": "3600s", "offset": "60s"}],
        "timezone": "Europe/Berlin",
        "cronExpressions": ["0 9 * * *"],
        "at": ["2026-12-24T17:00:00Z"],
        "excludeCalendars": [{"month": [{"start": 12}]}],
        "startTime": "2026-01-01T00:00:00Z",
        "endTime": "2027-01-01T00:00:00Z",
        "jitter": "30s",
        "dstGapPolicy": "DST_GAP_POLICY_SKIP",
        "dstOverlapPolicy": "DST_OVERLAP_POLICY_BOTH",
    },
    "data": {"folder": "INBOX"},
    "overlapPolicy": "OVERLAP_POLICY_ALLOW",
    "status": "AGENT_SCHEDULE_STATUS_PAUSED",
    "variationId": "fast",
    "catchupWindow": "600s",
    "executionTimeout": "900s",
    "retryPolicy": {"maxAttempts": 3, "initialBackoff": "10s", "maxBackoff": "60s",
                    "backoffMultiplier": 1.5},
    "pauseOnFailure": True,
    "maxFires": 5,
    "notes": "n",
    "deliveries": [{"webhookId": "whk_1", "format": "WEBHOOK_FORMAT_SLACK_MARKDOWN",
                    "condition": "status == 'FAILED'"}],
    "chainId": "chain_1",
}  # fmt: skip


def test_every_field_crosses_and_reads_back_as_written():
    spec = descriptor_pool.Default().FindMessageTypeByName(SPEC)
    rules = spec.fields_by_name["schedule"].message_type
    assert set(FULL_SPEC) == {f.json_name for f in spec.fields}
    assert set(FULL_SPEC["schedule"]) == {f.json_name for f in rules.fields}
    assert canonical(SPEC, FULL_SPEC, "spec") == FULL_SPEC


def test_other_spellings_of_the_same_values_are_the_same_document():
    written = {"initial_message": "m", "schedule": {"at": ["2026-12-24T18:00:00+01:00"],
               "intervals": [{"every": "3600.000s"}]}, "maxFires": 0}  # fmt: skip
    assert canonical(SPEC, written, "spec") == {
        "initialMessage": "m",
        "schedule": {"at": ["2026-12-24T17:00:00Z"], "intervals": [{"every": "3600s"}]},
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"schedule": {"cronExpresions": []}}, "spec.schedule.cronExpresions: no such field"),
        ({"schedule": {"calendars": [{}, {"hours": []}]}},
         "spec.schedule.calendars[1].hours: no such field"),
        ({"retryPolicy": {"attempts": 1}}, "spec.retryPolicy.attempts: no such field"),
        ({"maxFires": "many"}, "spec: Failed to parse maxFires field"),
    ],
    ids=["field", "in-a-list", "nested", "type"],
)  # fmt: skip
def test_a_bad_document_names_the_field(document: dict, message: str):
    with pytest.raises(RequestDocumentError, match="^" + message.replace("[", r"\[")):
        canonical(SPEC, document, "spec")


def test_free_form_values_are_not_checked_for_fields():
    assert canonical(SPEC, {"data": {"anything": {"nested": [1]}}}, "spec") == {
        "data": {"anything": {"nested": [1]}}
    }


def test_changes_are_the_differing_leaves():
    current = canonical(SPEC, FULL_SPEC, "spec")
    assert changed_fields(SPEC, current, current) == []
    desired = {**current, "schedule": {**current["schedule"], "timezone": "UTC"},
               "data": {"folder": "Sent"}, "retryPolicy": {"maxAttempts": 3}}  # fmt: skip
    del desired["notes"]
    assert changed_fields(SPEC, desired, current) == [
        "schedule.timezone",
        "data",
        "retryPolicy.initialBackoff",
        "retryPolicy.maxBackoff",
        "retryPolicy.backoffMultiplier",
        "notes",
    ]


@pytest.mark.parametrize("field", sorted(FULL_SPEC))
def test_a_change_in_any_field_is_seen(field: str):
    current = canonical(SPEC, FULL_SPEC, "spec")
    desired = {key: value for key, value in current.items() if key != field}
    assert changed_fields(SPEC, desired, current)
    assert all(path.split(".")[0] == field for path in changed_fields(SPEC, desired, current))


def test_a_write_only_field_is_not_a_change():
    # A PUSH agent's secret is INPUT_ONLY: the server never shows it, so a file that sets it
    # must not differ from the server on every run.
    agent = "sundial.v1.AgentSpec"
    current = canonical(
        agent, {"mode": "AGENT_MODE_PUSH", "push": {"url": "https://a.example/"}}, "spec"
    )
    desired = {**current, "push": {**current["push"], "secret": "whsec_x"}}
    assert changed_fields(agent, desired, current) == []
    moved = {**desired, "push": {**desired["push"], "url": "https://b.example/"}}
    assert changed_fields(agent, moved, current) == ["push.url"]
