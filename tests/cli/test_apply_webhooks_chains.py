"""`sundial apply` of webhooks and chains against a real server: references by
`<kind>/<externalId>` written in the order they need, the webhook's secret shown once on
create and never in a plan, update masks, unchanged re-applies, prune in reverse order,
dry-run diffs, and bad documents named by their field."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sundial.api.json_client import JsonClient
from sundial.server import SundialServer
from tests.cli.conftest import Sundial, failed, ok
from tests.cli.test_apply import AGENT, _write
from tests.support.auth import ADMIN_SECRET

WEBHOOK = {
    "kind": "Webhook",
    "metadata": {"bundleKey": "mail", "externalId": "alerts", "name": "Alerts"},
    "spec": {
        "url": "https://hooks.example.com/mail",
        "eventTypes": ["EVENT_TYPE_OBJECTIVE_FAILED"],
        "headers": {"x-team": "mail"},
    },
}
CHAIN = {
    "kind": "Chain",
    "metadata": {"bundleKey": "mail", "externalId": "nightly", "name": "Nightly"},
    "spec": {
        "nodes": [
            {"name": "fetch", "agentId": "agent/helper", "initialMessage": "fetch the mail"},
            {"name": "sort", "agentId": "agent/helper", "initialMessage": "sort it"},
        ],
        "edges": [{"fromNode": "fetch", "toNode": "sort"}],
        "description": "fetch, then sort",
    },
}
KICKOFF = {
    "kind": "AgentSchedule",
    "agent": "helper",
    "metadata": {"bundleKey": "mail", "externalId": "kickoff", "name": "Kickoff"},
    "spec": {
        "initialMessage": "start",
        "schedule": {"cronExpressions": ["0 2 * * *"]},
        "chainId": "chain/nightly",
        "deliveries": [{"webhookId": "webhook/alerts"}],
    },
}


@pytest.fixture
def api(server: SundialServer) -> Iterator[JsonClient]:
    with JsonClient(f"127.0.0.1:{server.port}", ADMIN_SECRET) as client:
        yield client


# The List call of each kind, its answer's field, and what it takes besides the workspace.
_LISTS = {
    "webhooks": ("WebhookService.ListWebhooks", {}),
    "agents": ("AgentService.ListAgents", {}),
    "chains": ("ChainService.ListChains", {}),
    "agentSchedules": ("AgentScheduleService.ListAgentSchedules", {"agentId": "-"}),
}


def _listed(api: JsonClient, server: SundialServer, kind: str) -> dict[str, dict[str, Any]]:
    """The workspace's resources of `kind` (a List answer's field), by externalId."""
    method, extra = _LISTS[kind]
    request = {"workspaceId": server.bootstrap.default_workspace.id, **extra}
    return {r["metadata"].get("externalId", r["metadata"]["id"]): r for r in api.pages(
        method, request, kind
    )}  # fmt: skip


def _copy(document: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(document))


def _everything(api: JsonClient, server: SundialServer) -> tuple[dict[str, Any], ...]:
    return tuple(_listed(api, server, kind) for kind in _LISTS)


def test_apply_creates_in_reference_order_and_applying_again_changes_nothing(
    sundial: Sundial, tmp_path: Path, api: JsonClient, server: SundialServer
):
    # Written in the files in the order that would fail: schedule, chain, agent, webhook.
    path = _write(tmp_path / "bundle.yaml", KICKOFF, CHAIN, AGENT, WEBHOOK)
    first = sundial("apply", "-f", path)
    webhooks, agents, chains, schedules = _everything(api, server)
    webhook_id = webhooks["alerts"]["metadata"]["id"]
    agent_id = agents["helper"]["metadata"]["id"]
    chain_id = chains["nightly"]["metadata"]["id"]
    assert ok(first).splitlines() == [
        f"webhook/alerts: created {webhook_id}",
        f"agent/helper: created {agent_id}",
        f"chain/nightly: created {chain_id}",
        f"schedule/kickoff: created {schedules['kickoff']['metadata']['id']}",
        "bundle mail: 4 created, 0 updated, 0 deleted, 0 unchanged",
    ]
    [told] = first.stderr.splitlines()
    assert told.startswith("webhook/alerts: signing secret (shown only now): whsec_")
    assert told.endswith(webhooks["alerts"]["info"]["secretHint"])
    assert webhooks["alerts"]["metadata"]["bundleKey"] == "mail"
    assert [n["agentId"] for n in chains["nightly"]["spec"]["nodes"]] == [agent_id, agent_id]
    assert schedules["kickoff"]["spec"]["chainId"] == chain_id
    assert schedules["kickoff"]["spec"]["deliveries"] == [{"webhookId": webhook_id}]

    again = sundial("apply", "-f", path)
    assert ok(again).splitlines() == [
        "webhook/alerts: unchanged",
        "agent/helper: unchanged",
        "chain/nightly: unchanged",
        "schedule/kickoff: unchanged",
        "bundle mail: 0 created, 0 updated, 0 deleted, 4 unchanged",
    ]
    assert again.stderr == ""  # the secret is never shown again
    assert _everything(api, server) == (webhooks, agents, chains, schedules)  # no etag moved


def test_apply_updates_only_the_changed_fields(
    sundial: Sundial, tmp_path: Path, api: JsonClient, server: SundialServer
):
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, WEBHOOK, AGENT, CHAIN, KICKOFF)))
    before_webhook = _listed(api, server, "webhooks")["alerts"]
    workspace = server.bootstrap.default_workspace.id
    # Written by the server since (state, reason, when): not in the spec, so never a change.
    api.call("WebhookService.DisableWebhook", {
        "workspaceId": workspace, "webhookId": before_webhook["metadata"]["id"], "reason": "noisy",
    })  # fmt: skip
    webhook, chain = _copy(WEBHOOK), _copy(CHAIN)
    webhook["spec"]["url"] = "https://hooks.example.com/mail-v2"
    webhook["metadata"]["labels"] = {"team": "mail"}
    chain["spec"]["nodes"][1]["initialMessage"] = "sort it by sender"
    lines = ok(sundial("apply", "-f", _write(path, webhook, AGENT, chain, KICKOFF))).splitlines()
    assert lines == [
        "webhook/alerts: updated (metadata.labels, spec.url)",
        "agent/helper: unchanged",
        "chain/nightly: updated (spec.nodes)",
        "schedule/kickoff: unchanged",
        "bundle mail: 0 created, 2 updated, 0 deleted, 2 unchanged",
    ]
    after = _listed(api, server, "webhooks")["alerts"]
    assert after["metadata"]["id"] == before_webhook["metadata"]["id"]
    assert after["spec"] == {**WEBHOOK["spec"], "url": "https://hooks.example.com/mail-v2"}
    assert after["metadata"]["labels"] == {"team": "mail"}
    assert after["info"]["state"] == "WEBHOOK_STATE_DISABLED"
    assert after["info"]["secretHint"] == before_webhook["info"]["secretHint"]
    nodes = _listed(api, server, "chains")["nightly"]["spec"]["nodes"]
    assert [n["initialMessage"] for n in nodes] == ["fetch the mail", "sort it by sender"]
    assert ok(sundial("apply", "-f", str(path))).splitlines()[-1] == (
        "bundle mail: 0 created, 0 updated, 0 deleted, 4 unchanged"
    )

    # A schedule moved to a new chain and a new webhook: both made first, then named.
    other_hook = {**WEBHOOK, "metadata": {**WEBHOOK["metadata"], "externalId": "pager"}}
    other_chain = {**CHAIN, "metadata": {**CHAIN["metadata"], "externalId": "weekly"}}
    kickoff = _copy(KICKOFF)
    kickoff["spec"]["chainId"] = "chain/weekly"
    kickoff["spec"]["deliveries"] = [{"webhookId": "webhook/pager"}]
    documents = (webhook, other_hook, AGENT, chain, other_chain, kickoff)
    lines = ok(sundial("apply", "-f", _write(path, *documents))).splitlines()
    assert "schedule/kickoff: updated (spec.deliveries, spec.chainId)" in lines
    schedule = _listed(api, server, "agentSchedules")["kickoff"]
    assert schedule["spec"]["chainId"] == _listed(api, server, "chains")["weekly"]["metadata"]["id"]
    pager = _listed(api, server, "webhooks")["pager"]["metadata"]["id"]
    assert schedule["spec"]["deliveries"] == [{"webhookId": pager}]


def test_prune_deletes_schedules_then_chains_then_agents_then_webhooks(
    sundial: Sundial, tmp_path: Path, api: JsonClient, server: SundialServer
):
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, WEBHOOK, AGENT, CHAIN, KICKOFF)))
    webhooks, _, chains, schedules = _everything(api, server)
    # Another bundle's webhook and chain with the same externalIds stay.
    other_hook = {**WEBHOOK, "metadata": {**WEBHOOK["metadata"], "bundleKey": "other"}}
    other_agent = {**AGENT, "metadata": {**AGENT["metadata"], "bundleKey": "other"}}
    other_chain = {**CHAIN, "metadata": {**CHAIN["metadata"], "bundleKey": "other"}}
    ok(
        sundial(
            "apply", "-f", _write(tmp_path / "other.yaml", other_hook, other_agent, other_chain)
        )
    )

    kept = sundial("apply", "-f", _write(path, AGENT))
    assert kept.stderr == (
        "bundle 'mail' has 3 resource(s) not in the files (schedule/kickoff, chain/nightly, "
        "webhook/alerts); --prune deletes them\n"
    )
    pruned = ok(sundial("apply", "-f", str(path), "--prune")).splitlines()
    assert pruned == [
        "agent/helper: unchanged",
        f"schedule/kickoff: deleted {schedules['kickoff']['metadata']['id']}",
        f"chain/nightly: deleted {chains['nightly']['metadata']['id']}",
        f"webhook/alerts: deleted {webhooks['alerts']['metadata']['id']}",
        "bundle mail: 0 created, 0 updated, 3 deleted, 1 unchanged",
    ]
    workspace = {"workspaceId": server.bootstrap.default_workspace.id}
    left = {
        field: sorted(r["metadata"]["bundleKey"] for r in api.pages(method, workspace, field))
        for method, field in (
            ("WebhookService.ListWebhooks", "webhooks"),
            ("AgentService.ListAgents", "agents"),
            ("ChainService.ListChains", "chains"),
        )
    }
    assert left == {"webhooks": ["other"], "agents": ["mail", "other"], "chains": ["other"]}
    assert _listed(api, server, "agentSchedules") == {}


def test_prune_never_deletes_a_chain_a_schedule_outside_the_bundle_fires(
    sundial: Sundial, tmp_path: Path, api: JsonClient, server: SundialServer
):
    path = tmp_path / "bundle.yaml"
    ok(sundial("apply", "-f", _write(path, AGENT, CHAIN)))
    chain_id = _listed(api, server, "chains")["nightly"]["metadata"]["id"]
    agent_id = _listed(api, server, "agents")["helper"]["metadata"]["id"]
    outsider = api.call("AgentScheduleService.CreateAgentSchedule", {
        "workspaceId": server.bootstrap.default_workspace.id, "agentId": agent_id,
        "metadata": {"name": "outsider"},
        "spec": {"initialMessage": "m", "schedule": {"cronExpressions": ["0 3 * * *"]},
                 "chainId": chain_id},
    })["metadata"]["id"]  # fmt: skip
    line = failed(sundial("apply", "-f", _write(path, AGENT), "--prune"), 5)
    assert line == (
        f"sundial apply: --prune: chain/nightly ({chain_id}) left the files but schedule(s) "
        f"{outsider} fire it: change or delete them first"
    )
    assert set(_listed(api, server, "chains")) == {"nightly"}


def test_dry_run_shows_the_plan_and_never_a_secret(
    sundial: Sundial, tmp_path: Path, api: JsonClient, server: SundialServer
):
    path = tmp_path / "bundle.yaml"
    fresh = sundial("apply", "-f", _write(path, WEBHOOK, AGENT, CHAIN, KICKOFF), "--dry-run")
    assert ok(fresh).splitlines() == [
        "webhook/alerts: would create",
        "agent/helper: would create",
        "chain/nightly: would create",
        "schedule/kickoff: would create",
        "bundle mail (dry run, nothing changed): 4 to create, 0 to update, 0 to delete, "
        "0 unchanged",
    ]
    assert fresh.stderr == ""
    assert _everything(api, server) == ({}, {}, {}, {})

    ok(sundial("apply", "-f", str(path)))
    before = _everything(api, server)
    webhook, chain = _copy(WEBHOOK), _copy(CHAIN)
    webhook["spec"]["eventTypes"].append("EVENT_TYPE_OBJECTIVE_TIMED_OUT")
    chain["spec"]["description"] = "fetch and sort"
    plan = sundial("apply", "-f", _write(path, webhook, AGENT, chain), "--prune", "--dry-run")
    kickoff_id = before[3]["kickoff"]["metadata"]["id"]
    assert ok(plan).splitlines() == [
        "webhook/alerts: would update (spec.eventTypes)",
        '    spec.eventTypes: ["EVENT_TYPE_OBJECTIVE_FAILED"] -> '
        '["EVENT_TYPE_OBJECTIVE_FAILED","EVENT_TYPE_OBJECTIVE_TIMED_OUT"]',
        "agent/helper: unchanged",
        "chain/nightly: would update (spec.description)",
        '    spec.description: "fetch, then sort" -> "fetch and sort"',
        f"schedule/kickoff: would delete {kickoff_id}",
        "bundle mail (dry run, nothing changed): 0 to create, 2 to update, 1 to delete, "
        "1 unchanged",
    ]
    assert "whsec_" not in plan.output + plan.stderr
    assert _everything(api, server) == before
    as_json = json.loads(
        ok(sundial("apply", "-f", str(path), "--prune", "--dry-run", "-o", "json"))
    )
    assert [(c["kind"], c["externalId"], c["action"]) for c in as_json["changes"]] == [
        ("Webhook", "alerts", "update"), ("Agent", "helper", "unchanged"),
        ("Chain", "nightly", "update"), ("AgentSchedule", "kickoff", "delete"),
    ]  # fmt: skip


def _bad(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    changed = _copy(document)
    node = changed
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        ((AGENT, _bad(CHAIN, ["spec", "nodes", 0, "agnetId"], "x")),
         "document 2: spec.nodes[0].agnetId: no such field"),
        ((AGENT, _bad(WEBHOOK, ["spec", "format"], "WEBHOOK_FORMAT_XML")),
         "document 2: spec: Failed to parse format"),
        ((AGENT, {**WEBHOOK, "spec": None}), "document 2: spec: required (url)"),
        ((AGENT, {**CHAIN, "spec": None}), "document 2: spec: required (nodes)"),
        ((AGENT, WEBHOOK, _bad(CHAIN, ["spec", "nodes", 1, "agentId"], "agent/nobody")),
         "document 3: spec.nodes[1].agentId: no Agent with metadata.externalId 'nobody' in "
         "the files"),
        ((AGENT, CHAIN, WEBHOOK, _bad(KICKOFF, ["spec", "chainId"], "chain/other")),
         "document 4: spec.chainId: no Chain with metadata.externalId 'other' in the files"),
        ((AGENT, CHAIN, KICKOFF), "document 3: spec.deliveries[0].webhookId: no Webhook with "
         "metadata.externalId 'alerts' in the files"),
        ((AGENT, WEBHOOK, KICKOFF, _bad(CHAIN, ["spec", "nodes", 0],
                                        {"name": "fetch", "scheduleId": "schedule/kickoff"})),
         "document 4: spec.nodes[0].scheduleId: 'schedule/kickoff': a Chain is applied before "
         "what it would name here: give the AgentSchedule's id"),
        ((AGENT, WEBHOOK, {**WEBHOOK, "metadata": {**WEBHOOK["metadata"], "name": "again"}}),
         "document 3: metadata.externalId 'alerts': "),
        ((AGENT, {**WEBHOOK, "agent": "helper"}), "document 2: agent: no such field of a Webhook"),
    ],
    ids=["chain-field", "webhook-enum", "webhook-no-spec", "chain-no-spec", "chain-agent-ref",
         "schedule-chain-ref", "schedule-webhook-ref", "chain-schedule-ref", "duplicate",
         "top-level-field"],
)  # fmt: skip
def test_a_bad_document_names_the_file_the_document_and_the_field(
    sundial: Sundial, tmp_path: Path, api: JsonClient, server: SundialServer,
    documents: tuple[dict[str, Any], ...], message: str,
):  # fmt: skip
    path = _write(tmp_path / "bundle.yaml", *documents)
    line = failed(sundial("apply", "-f", path), 2)
    assert line.startswith(f"sundial apply: {path}, ")
    assert message in line
    assert _everything(api, server) == ({}, {}, {}, {})  # nothing was sent


def test_the_servers_refusal_of_a_chain_names_it(sundial: Sundial, tmp_path: Path):
    cycle = _copy(CHAIN)
    cycle["spec"]["edges"].append({"fromNode": "sort", "toNode": "fetch"})
    line = failed(sundial("apply", "-f", _write(tmp_path / "bundle.yaml", AGENT, cycle)), 2)
    assert line.startswith(f"sundial apply: chain/nightly ({tmp_path / 'bundle.yaml'}, document 2)")
    assert "INVALID_ARGUMENT: spec.edges[1]" in line


def test_the_readme_example_applies_then_changes_nothing(
    sundial: Sundial, tmp_path: Path, api: JsonClient, server: SundialServer
):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("# mail.yaml (several documents per file;")
    example = readme[start : readme.index("```", start)]
    path = tmp_path / "mail.yaml"
    path.write_text(example)
    first = sundial("apply", "-f", str(path))
    assert ok(first).splitlines()[-1] == "bundle mail: 5 created, 0 updated, 0 deleted, 0 unchanged"
    assert "webhook/alerts: signing secret (shown only now): whsec_" in first.stderr
    schedules = _listed(api, server, "agentSchedules")
    webhook_id = _listed(api, server, "webhooks")["alerts"]["metadata"]["id"]
    assert schedules["digest"]["spec"]["deliveries"] == [{"webhookId": webhook_id}]
    chain_id = _listed(api, server, "chains")["nightly"]["metadata"]["id"]
    assert schedules["nightly"]["spec"]["chainId"] == chain_id
    assert ok(sundial("apply", "-f", str(path))).splitlines()[-1] == (
        "bundle mail: 0 created, 0 updated, 0 deleted, 5 unchanged"
    )
