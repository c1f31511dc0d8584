"""`sundial chains ...` against a real server: --node and --edge as the spec's nodes and
edges, a file as metadata and spec, updates as masks, the run commands, and errors' exit
codes."""

import json

from tests.cli.conftest import Sundial, as_json, failed, ok


def _agent(sundial: Sundial) -> str:
    return as_json(sundial("agents", "create", "helper", "-o", "json"))["metadata"]["id"]


def test_create_from_flags_then_list_get_update_delete(sundial: Sundial):
    agent = _agent(sundial)
    table = ok(
        sundial(
            "chains", "create", "Data pipeline",
            "--node", f"fetch={agent}:Fetch the data",
            "--node", f"transform={agent}:Transform it",
            "--node", f"store={agent}:Store it",
            "--edge", "fetch->transform", "--edge", "transform->store:on-success",
            "--edge", "fetch->store:on-failure",
            "--description", "seed 003", "--overlap", "cancel-other",
        )
    )  # fmt: skip
    header, _rule, row = table.splitlines()[:3]
    chain_id = row.split()[0]
    got = as_json(sundial("chains", "get", chain_id, "-o", "json"))
    listed = ok(sundial("chains", "list"))
    updated = as_json(
        sundial("chains", "update", chain_id, "--name", "renamed", "--edge", "fetch->store",
                "--etag", got["metadata"]["etag"], "-o", "json")
    )  # fmt: skip
    deleted = ok(sundial("chains", "delete", chain_id))

    assert header.split() == ["ID", "NAME", "NODES", "EDGES", "RUNS", "LAST", "RUN"]
    assert row.split()[-3:] == ["3", "3", "0"]
    assert got["spec"]["nodes"][0] == {
        "name": "fetch",
        "agentId": agent,
        "initialMessage": "Fetch the data",
    }
    assert got["spec"]["edges"] == [
        {"fromNode": "fetch", "toNode": "transform"},
        {"fromNode": "transform", "toNode": "store", "type": "CHAIN_EDGE_TYPE_ON_SUCCESS"},
        {"fromNode": "fetch", "toNode": "store", "type": "CHAIN_EDGE_TYPE_ON_FAILURE"},
    ]
    assert got["spec"]["overlapPolicy"] == "OVERLAP_POLICY_CANCEL_OTHER"
    assert got["spec"]["description"] == "seed 003"
    assert chain_id in listed
    assert updated["metadata"]["name"] == "renamed"
    assert updated["spec"]["edges"] == [{"fromNode": "fetch", "toNode": "store"}]
    assert updated["spec"]["nodes"] == got["spec"]["nodes"]
    assert f"deleted {chain_id}" in deleted


def test_create_from_a_file_with_a_schedule_node(sundial: Sundial, tmp_path):
    agent = _agent(sundial)
    schedule = as_json(
        sundial("schedules", "create", agent, "--name", "hourly", "--every", "1h",
                "--message", "hi", "-o", "json")
    )["metadata"]["id"]  # fmt: skip
    document = {
        "metadata": {"name": "from-file", "labels": {"team": "data"}},
        "spec": {
            "nodes": [
                {"name": "first", "agentId": agent, "initialMessage": "go", "data": {"n": 1}},
                {"name": "second", "scheduleId": schedule},
            ],
            "edges": [
                {
                    "fromNode": "first",
                    "toNode": "second",
                    "type": "CHAIN_EDGE_TYPE_ON_COMPLETE",
                    "condition": 'status == "SUCCEEDED"',
                    "outputMapping": {"rows": "output.rows"},
                }
            ],
        },
    }
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(document))

    created = as_json(sundial("chains", "create", "-f", str(path), "-o", "json"))

    assert created["metadata"]["labels"] == {"team": "data"}
    assert created["spec"]["nodes"] == document["spec"]["nodes"]
    assert created["spec"]["edges"] == document["spec"]["edges"]


def test_errors_name_the_path_and_exit_with_their_code(sundial: Sundial):
    agent = _agent(sundial)
    cycle = failed(
        sundial("chains", "create", "loop", "--node", f"a={agent}:x", "--node", f"b={agent}:y",
                "--edge", "a->b", "--edge", "b->a"),
        2,
    )  # fmt: skip
    bad_edge = failed(sundial("chains", "create", "x", "--edge", "a=>b"), 2)
    bad_type = failed(sundial("chains", "create", "x", "--edge", "a->b:always"), 2)
    bad_data = failed(sundial("chains", "trigger", "chain_x", "--data", "{nope"), 2)
    nothing = failed(sundial("chains", "update", "chain_x"), 2)

    assert "spec.edges[1]" in cycle
    assert "FROM->TO" in bad_edge
    assert "on-complete" in bad_type
    assert "--data is not JSON" in bad_data
    assert "nothing to change" in nothing


def test_trigger_runs_run_and_cancel_run(sundial: Sundial):
    agent = _agent(sundial)
    chain_id = as_json(
        sundial("chains", "create", "two", "--node", f"first={agent}:go",
                "--node", f"second={agent}:then", "--edge", "first->second", "-o", "json")
    )["metadata"]["id"]  # fmt: skip

    run = as_json(
        sundial("chains", "trigger", chain_id, "--data", '{"day": "2026-03-01"}',
                "--request-id", "r1", "-o", "json")
    )  # fmt: skip
    again = as_json(
        sundial("chains", "trigger", chain_id, "--data", '{"day": "2026-03-01"}',
                "--request-id", "r1", "-o", "json")
    )  # fmt: skip
    listed = ok(sundial("chains", "runs", chain_id))
    got = as_json(sundial("chains", "run", run["metadata"]["id"], "-o", "json"))
    cancelled = ok(sundial("chains", "cancel-run", run["metadata"]["id"], "--reason", "stop"))
    finished = as_json(sundial("chains", "runs", "--status", "cancelled", "-o", "json"))
    ended = failed(sundial("chains", "cancel-run", run["metadata"]["id"]), 5)

    assert run["spec"]["data"] == {"day": "2026-03-01"}
    assert again["metadata"]["id"] == run["metadata"]["id"]
    header, _rule, row = listed.splitlines()[:3]
    assert header.split() == ["ID", "CHAIN", "STATUS", "TRIGGER", "NODES", "STARTED", "ENDED"]
    assert row.split()[:4] == [run["metadata"]["id"], chain_id, "RUNNING", "MANUAL"]
    assert "first:RUNNING second:WAITING" in row
    assert [n["status"] for n in got["info"]["nodes"]] == [
        "CHAIN_NODE_STATUS_RUNNING",
        "CHAIN_NODE_STATUS_WAITING",
    ]
    assert "CANCELLED" in cancelled
    assert [r["metadata"]["id"] for r in finished] == [run["metadata"]["id"]]
    assert "already ended" in ended
