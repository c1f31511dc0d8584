"""ChainService over REST: the paths and custom methods the proto's http rules give chains
and their runs, ProtoJSON names (`fromNode`, `outputMapping`), errors as HTTP statuses
naming the path, and the README's example, against a real server on both databases."""

import json
from pathlib import Path

from google.rpc import code_pb2


def _chains(rest):
    return f"/v1/workspaces/{rest.workspace}/chains"


def _pipeline(agent_id):
    """Seed 003's data pipeline, as ProtoJSON."""
    return {
        "nodes": [
            {"name": name, "agentId": agent_id, "initialMessage": f"{name} the data"}
            for name in ("fetch", "transform", "store")
        ],
        "edges": [
            {"fromNode": "fetch", "toNode": "transform", "type": "CHAIN_EDGE_TYPE_ON_SUCCESS"},
            {
                "fromNode": "transform",
                "toNode": "store",
                "type": "CHAIN_EDGE_TYPE_ON_SUCCESS",
                "condition": "output.rows > 0.0",
                "outputMapping": {"rows": "output.rows"},
            },
            {"fromNode": "fetch", "toNode": "store", "type": "CHAIN_EDGE_TYPE_ON_FAILURE"},
        ],
        "description": "Data pipeline",
    }


def test_create_get_list_patch_delete(rest):
    spec = _pipeline(rest.create_agent())
    reply = rest("POST", _chains(rest), {"metadata": {"name": "Data pipeline"}, "spec": spec})
    assert reply.status == 200, reply.body
    created = reply.json()
    path = f"{_chains(rest)}/{created['metadata']['id']}"

    got = rest("GET", path).json()
    listed = rest("GET", _chains(rest)).json()
    patched = rest(
        "PATCH",
        path,
        {
            "spec": {"description": "nightly"},
            "updateMask": "spec.description",
            "etag": created["metadata"]["etag"],
        },
    )
    stale = rest(
        "PATCH",
        path,
        {"spec": {"description": "x"}, "updateMask": "spec.description", "etag": "0" * 16},
    )
    deleted = rest("DELETE", path)
    gone = rest("GET", path)

    assert got["spec"] == spec
    assert [c["metadata"]["id"] for c in listed["chains"]] == [created["metadata"]["id"]]
    assert patched.status == 200, patched.body
    assert patched.json()["spec"] == {**spec, "description": "nightly"}
    assert stale.status == 409
    assert (deleted.status, deleted.json()) == (200, {})
    assert gone.status == 404
    assert gone.reason == "CHAIN_NOT_FOUND"


def test_a_cycle_and_an_unknown_node_are_400_naming_the_paths(rest):
    agent_id = rest.create_agent()
    spec = _pipeline(agent_id)
    spec["edges"].append({"fromNode": "store", "toNode": "fetch"})
    spec["edges"].append({"fromNode": "store", "toNode": "nowhere"})

    reply = rest("POST", _chains(rest), {"metadata": {"name": "loop"}, "spec": spec})

    assert reply.status == 400
    assert reply.json()["code"] == code_pb2.INVALID_ARGUMENT
    assert sorted(reply.violations) == ["spec.edges[3]", "spec.edges[4].toNode"]
    assert "closes a cycle: store -> fetch -> store;" in reply.violations["spec.edges[3]"]


def test_trigger_list_get_and_cancel_a_run(rest):
    spec = _pipeline(rest.create_agent())
    created = rest("POST", _chains(rest), {"metadata": {"name": "p"}, "spec": spec}).json()
    chain = f"{_chains(rest)}/{created['metadata']['id']}"

    triggered = rest("POST", f"{chain}:trigger", {"requestId": "r1", "data": {"day": "mon"}})
    assert triggered.status == 200, triggered.body
    run_id = triggered.json()["metadata"]["id"]
    listed = rest("GET", f"{chain}/runs").json()
    got = rest("GET", f"{_chains(rest)}/-/runs/{run_id}").json()
    cancelled = rest("POST", f"{_chains(rest)}/-/runs/{run_id}:cancel", {"reason": "stop"})
    again = rest("POST", f"{chain}/runs/{run_id}:cancel", {})

    assert [r["metadata"]["id"] for r in listed["runs"]] == [run_id]
    assert got["spec"]["data"] == {"day": "mon"}
    assert got["spec"]["chainSpec"] == spec
    assert [n["name"] for n in got["info"]["nodes"]] == ["fetch", "transform", "store"]
    assert cancelled.status == 200, cancelled.body
    assert cancelled.json()["info"]["status"] == "CHAIN_RUN_STATUS_CANCELLED"
    assert again.status == 400
    assert again.reason == "CHAIN_RUN_FINISHED"


def test_the_readme_example_is_accepted(rest):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("curl -s -X POST $REST/chains -d '") + len(
        "curl -s -X POST $REST/chains -d '"
    )
    body = readme[start : readme.index("}}'", start) + 2]
    document = json.loads(body.replace("agent_...", rest.create_agent()))

    reply = rest("POST", _chains(rest), document)

    assert reply.status == 200, reply.body
    assert [e["fromNode"] for e in reply.json()["spec"]["edges"]] == ["fetch", "transform", "fetch"]
