"""`<kind>/<externalId>` references in apply documents: found where the API takes an id,
replaced by the ids known so far, the others left as written for a later write."""

import pytest

from sundial.cli.bundle_references import (
    AGENT,
    CHAIN,
    SCHEDULE,
    WEBHOOK,
    Reference,
    references,
    resolved,
)

SCHEDULE_SPEC = {
    "initialMessage": "m",
    "chainId": "chain/nightly",
    "deliveries": [{"webhookId": "whk_01ABC"}, {"webhookId": "webhook/pager", "format": "X"}],
}
CHAIN_SPEC = {
    "nodes": [
        {"name": "a", "agentId": "agent/helper"},
        {"name": "b", "scheduleId": "schedule/kickoff"},
        {"name": "c", "agentId": "agent_01XYZ"},
    ]
}


@pytest.mark.parametrize(
    ("kind", "spec", "expected"),
    [
        (SCHEDULE, SCHEDULE_SPEC, [
            Reference("spec.deliveries[1].webhookId", WEBHOOK, "pager"),
            Reference("spec.chainId", CHAIN, "nightly"),
        ]),
        (AGENT, {"deliveries": [{"webhookId": "webhook/alerts"}]}, [
            Reference("spec.deliveries[0].webhookId", WEBHOOK, "alerts"),
        ]),
        (CHAIN, CHAIN_SPEC, [
            Reference("spec.nodes[0].agentId", AGENT, "helper"),
            Reference("spec.nodes[1].scheduleId", SCHEDULE, "kickoff", allowed=False),
        ]),
        (WEBHOOK, {"url": "https://x/agent/helper", "agentIds": ["agent/helper"]}, [
            Reference("spec.agentIds[0]", AGENT, "helper", allowed=False),
        ]),
        (SCHEDULE, {"chainId": "pipeline/nightly", "initialMessage": "agent/helper"}, []),
    ],
    ids=["schedule", "agent", "chain", "webhook", "not-references"],
)  # fmt: skip
def test_references_are_found_only_where_an_id_goes(kind, spec, expected):
    assert list(references(kind, spec)) == expected


def test_resolved_replaces_the_known_ids_and_keeps_the_rest():
    ids = {(CHAIN, "nightly"): "chain_01N", (AGENT, "helper"): "agent_01H"}
    assert resolved(SCHEDULE, SCHEDULE_SPEC, ids) == {
        **SCHEDULE_SPEC,
        "chainId": "chain_01N",
        "deliveries": [{"webhookId": "whk_01ABC"}, {"webhookId": "webhook/pager", "format": "X"}],
    }
    chain = resolved(CHAIN, CHAIN_SPEC, ids)
    assert [node.get("agentId") for node in chain["nodes"]] == ["agent_01H", None, "agent_01XYZ"]
    assert CHAIN_SPEC["nodes"][0]["agentId"] == "agent/helper"  # the document is not changed
