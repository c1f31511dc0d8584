"""`sundial keys ...`: API keys over the admin API; a key's secret is shown once."""

import re
from pathlib import Path

from tests.cli.conftest import Sundial, as_json, as_yaml, failed, ok


def test_create_list_revoke_and_use(sundial: Sundial, tmp_path: Path):
    made = ok(sundial("keys", "create", "ci", "--role", "viewer", "--expires-in-days", "30"))
    secret = re.search(r"secret \(shown only now\): (sdl_\S+)", made)
    assert secret is not None
    key_id = made.splitlines()[2].split()[0]
    assert key_id.startswith("key_")
    listed = as_json(sundial("keys", "list", "-o", "json"))
    assert [k["metadata"]["name"] for k in listed] == ["bootstrap admin", "ci"]
    assert all("secret" not in k["info"] for k in listed)
    table = ok(sundial("keys", "list"))
    assert "VIEWER" in table
    assert "expires 20" in table
    key_file = tmp_path / "viewer.key"
    key_file.write_text(secret[1] + "\n")
    as_viewer = ("--api-key-file", str(key_file))
    assert as_json(sundial("agents", "list", *as_viewer, "-o", "json")) == []
    assert failed(sundial("agents", "create", "x", *as_viewer), 4).startswith(
        "sundial agents create: PERMISSION_DENIED: "
    )
    revoked = as_yaml(sundial("keys", "revoke", key_id, "-o", "yaml"))
    assert "revokeTime" in revoked["info"]
    assert "revoked" in ok(sundial("keys", "get", key_id))
    assert failed(sundial("agents", "list", *as_viewer), 4).startswith(
        "sundial agents list: UNAUTHENTICATED: "
    )


def test_a_workspace_key_and_the_errors(sundial: Sundial, env: dict[str, str | None]):
    workspace = str(env["SUNDIAL_WORKSPACE"])
    key = as_json(
        sundial(
            "keys", "create", "w", "--role", "worker", "--workspace-id", workspace, "-o", "json"
        )
    )
    assert key["spec"] == {"role": "ROLE_WORKER", "workspaceIds": [workspace]}
    assert key["info"]["secret"].startswith("sdl_")
    assert failed(sundial("keys", "revoke", "key_nope"), 3).startswith(
        "sundial keys revoke: NOT_FOUND"
    )
    result = sundial("keys", "create", "x", "--role", "boss")
    assert result.exit_code == 2
    assert "'boss' is not one of" in result.stderr
    unreadable = sundial("keys", "list", "--api-key-file", "/nonexistent/key")
    assert failed(unreadable, 2) == (
        "sundial keys list: cannot read the API key file /nonexistent/key: "
        "No such file or directory"
    )
