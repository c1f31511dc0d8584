"""`sundial admin ...` directly against a database: ordinary mistakes are one line and a
documented exit code, and migrations say nothing at INFO."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sundial.cli.root import cli


@pytest.fixture
def admin(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'admin.db'}"

    def invoke(*args: str) -> Result:
        env = {"SUNDIAL_LOG_LEVEL": None, "SUNDIAL_BOOTSTRAP_API_KEY": None}
        return CliRunner().invoke(cli, ["admin", *args, "--database-url", url], env=env)

    return invoke


def test_an_empty_database_is_migrated_and_bootstrapped_without_alembic_lines(admin):
    result = admin("create-workspace", "research")
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(r"ws_[0-9A-Z]{26}\n", result.stdout)
    assert "alembic" not in result.stderr
    assert "INFO" not in result.stderr
    assert result.stderr.splitlines()[0].startswith("created account acct_")


@pytest.mark.parametrize(
    ("args", "exit_code", "line"),
    [
        (
            ("revoke-key", "key_nope"),
            3,
            "sundial admin revoke-key: API key 'key_nope' was not found",
        ),
        (
            ("list-workspaces", "--account", "acct_nope"),
            3,
            "sundial admin list-workspaces: account 'acct_nope' was not found",
        ),
        (
            ("create-key", "ci", "--role", "viewer", "--workspace", "ws_nope"),
            2,
            "sundial admin create-key: workspace 'ws_nope' is not a workspace of this account "
            "(spec.workspace_ids[0])",
        ),
        (
            ("create-key", "ci", "--role", "boss"),
            2,
            "sundial admin create-key: --role must be admin, editor, viewer or worker, not 'boss'",
        ),
    ],
    ids=["unknown-key", "unknown-account", "unknown-workspace", "unknown-role"],
)
def test_ordinary_mistakes_are_one_line(admin, args: tuple[str, ...], exit_code: int, line: str):
    admin("list-workspaces")  # bootstraps the first account
    result = admin(*args)
    assert result.exit_code == exit_code
    assert result.stderr.strip() == line
    assert result.stdout == ""


def test_keys_are_created_listed_and_revoked(admin):
    made = admin("create-key", "ci", "--role", "editor", "--expires-in-days", "1")
    assert made.exit_code == 0, made.stderr
    key_id = re.search(r"api key: (key_\w+) \(editor\)", made.stdout)
    assert key_id is not None
    listed = admin("list-keys").stdout
    assert f"{key_id[1]}\tci\teditor\tall workspaces\t" in listed
    revoked = admin("revoke-key", key_id[1])
    assert revoked.stdout.rstrip().endswith("\trevoked")


def test_migrate_says_one_line(tmp_path: Path):
    result = CliRunner().invoke(
        cli, ["migrate", "--database-url", f"sqlite:///{tmp_path / 'm.db'}"],
        env={"SUNDIAL_LOG_LEVEL": None},
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == "database is up to date\n"
    assert result.stderr == ""
