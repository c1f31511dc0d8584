"""`sundial config ...`: named contexts in a 0600 file, and which value wins: a flag, then
a SUNDIAL_* variable, then the context."""

import stat
from pathlib import Path

import yaml

from tests.cli.conftest import Sundial, as_json, failed, ok
from tests.support.auth import ADMIN_SECRET

# A user with nothing but a config file: no SUNDIAL_* variables.
BARE = {
    "SUNDIAL_ADDRESS": None,
    "SUNDIAL_API_KEY": None,
    "SUNDIAL_WORKSPACE": None,
    "SUNDIAL_ACCOUNT": None,
}


def test_a_context_is_all_a_client_command_needs(
    sundial: Sundial, env: dict[str, str | None], config_path: Path, tmp_path: Path
):
    key_file = tmp_path / "admin.key"
    key_file.write_text(ADMIN_SECRET)
    result = sundial(
        "config", "set-context", "local", "--address", str(env["SUNDIAL_ADDRESS"]),
        "--api-key-file", str(key_file), "--workspace", str(env["SUNDIAL_WORKSPACE"]),
        "--account", str(env["SUNDIAL_ACCOUNT"]), env_overrides=BARE,
    )  # fmt: skip
    assert ok(result) == f"context local saved in {config_path}\n"
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    saved = yaml.safe_load(config_path.read_text())
    assert saved["current-context"] == "local"  # the first context becomes the current one
    assert saved["contexts"]["local"]["api-key-file"] == str(key_file)
    assert ADMIN_SECRET not in config_path.read_text()
    assert as_json(sundial("agents", "list", "-o", "json", env_overrides=BARE)) == []
    assert len(as_json(sundial("workspaces", "list", "-o", "json", env_overrides=BARE))) == 1


def test_use_get_and_delete_contexts(sundial: Sundial, env: dict[str, str | None]):
    ok(sundial("config", "set-context", "a", "--address", "127.0.0.1:1"))
    ok(sundial("config", "set-context", "b", "--address", str(env["SUNDIAL_ADDRESS"])))
    assert ok(sundial("config", "current-context")) == "a\n"
    assert ok(sundial("config", "use-context", "b")) == "current context: b\n"
    table = ok(sundial("config", "get-contexts")).splitlines()
    assert table[0].split() == [
        "CURRENT",
        "NAME",
        "ADDRESS",
        "WORKSPACE",
        "ACCOUNT",
        "API-KEY-FILE",
    ]
    assert table[2].split() == ["a", "127.0.0.1:1"]
    assert table[3].split() == ["*", "b", str(env["SUNDIAL_ADDRESS"])]
    assert failed(sundial("config", "use-context", "c"), 3).endswith("(known: a, b)")
    ok(sundial("config", "delete-context", "b"))
    assert failed(sundial("config", "current-context"), 3).startswith("no current context")


def test_a_flag_beats_the_environment_which_beats_the_context(
    sundial: Sundial, env: dict[str, str | None]
):
    ok(
        sundial(
            "config", "set-context", "broken", "--address", "127.0.0.1:1", "--workspace", "ws_nope"
        )
    )
    # The variables (the fixture's) win over the context's address and workspace.
    assert as_json(sundial("agents", "list", "-o", "json")) == []
    without_env = {"SUNDIAL_ADDRESS": None, "SUNDIAL_WORKSPACE": None}
    assert failed(sundial("agents", "list", env_overrides=without_env), 1).startswith(
        "sundial agents list: UNAVAILABLE: "
    )
    flags = ("--address", str(env["SUNDIAL_ADDRESS"]), "--workspace", str(env["SUNDIAL_WORKSPACE"]))
    assert as_json(sundial("agents", "list", *flags, "-o", "json", env_overrides=without_env)) == []
    assert failed(sundial("agents", "list", "--context", "other"), 3).startswith(
        "sundial agents list: no context 'other'"
    )


def test_a_broken_config_file_is_one_line(sundial: Sundial, config_path: Path):
    config_path.parent.mkdir(parents=True)
    config_path.write_text("contexts:\n  local: {adress: 127.0.0.1:1}\n")
    line = failed(sundial("agents", "list"), 2)
    assert line == (
        f"sundial agents list: {config_path}: contexts.local.adress is not one of "
        "address, api-key-file, workspace, account"
    )
    config_path.write_text("contexts: [\n")
    assert "is not YAML" in failed(sundial("config", "get-contexts"), 2)
