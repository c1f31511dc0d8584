"""`sundial workspaces ...`: the account's workspaces."""

from sundial.server import SundialServer
from tests.cli.conftest import Sundial, as_json, as_yaml, failed, ok


def test_create_list_get(sundial: Sundial, server: SundialServer):
    created = as_json(sundial("workspaces", "create", "research", "-o", "json"))
    assert created["name"] == "research"
    listed = as_yaml(sundial("workspaces", "list", "--all", "-o", "yaml"))
    assert [w["name"] for w in listed] == ["default", "research"]
    table = ok(sundial("workspaces", "get", created["id"]))
    assert table.splitlines()[2].split()[:2] == [created["id"], "research"]
    agent = as_json(
        sundial(
            "agents",
            "create",
            "a",
            "-o",
            "json",
            env_overrides={"SUNDIAL_WORKSPACE": created["id"]},
        )
    )
    assert agent["metadata"]["workspaceId"] == created["id"]


def test_without_an_account_or_with_another_it_says_so(sundial: Sundial):
    assert "no account" in failed(
        sundial("workspaces", "list", env_overrides={"SUNDIAL_ACCOUNT": None}), 2
    )
    assert failed(sundial("workspaces", "list", "--account", "acct_other"), 4).startswith(
        "sundial workspaces list: PERMISSION_DENIED: "
    )
    # Permission is checked before existence: an unknown workspace is not told apart.
    assert failed(sundial("workspaces", "get", "ws_nope"), 4) == (
        "sundial workspaces get: PERMISSION_DENIED: "
        "permission denied on workspace 'ws_nope' (or it does not exist)"
    )
