"""`sundial admin ...`: accounts, workspaces and API keys, directly against the database
(for the operator who holds it; the admin API does the same over the network). Ordinary
mistakes (an unknown key or account) are one line and an exit code (sundial.cli.errors)."""

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Protocol, TextIO, TypeVar

import click

from sundial.cli.errors import Decorator, SundialGroup
from sundial.domain.clock import SystemClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import role_named
from sundial.domain.tenancy import ApiKey, ApiKeySpec
from sundial.service.api_keys import ApiKeyService
from sundial.service.pagination import PageRequest
from sundial.service.tenancy import TenancyService
from sundial.store import migrate
from sundial.store.database import Database

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@click.group("admin", cls=SundialGroup)
def admin() -> None:
    """Administration directly against the database."""


def _database_url() -> Decorator:
    return click.option(
        "--database-url", envvar="SUNDIAL_DATABASE_URL", default="sqlite:///./sundial.db"
    )


def _account() -> Decorator:
    return click.option("--account", help="acct_ id (default: the first account)")


@admin.command("create-account")
@click.argument("name")
@_database_url()
def create_account(name: str, database_url: str) -> int:
    """A new account with a workspace and an admin key."""
    with _tenancy(database_url) as (tenancy, _):
        created = tenancy.create_account(name)
    print(f"account: {created.account.id}")
    print(f"workspace: {created.default_workspace.id}")
    _print_key(created.admin_key)
    return 0


@admin.command("list-accounts")
@_database_url()
def list_accounts(database_url: str) -> int:
    """Id and name of every account."""
    with _tenancy(database_url) as (tenancy, _):
        for account in tenancy.list_accounts():
            print(f"{account.id}\t{account.name}")
    return 0


@admin.command("create-workspace")
@click.argument("name")
@_account()
@_database_url()
def create_workspace(name: str, account: str | None, database_url: str) -> int:
    """Print a new ws_ id."""
    with _tenancy(database_url) as (tenancy, _):
        principal = tenancy.system_principal(_account_id(tenancy, account))
        workspace = tenancy.create_workspace(principal, name)
    print(workspace.id)
    return 0


@admin.command("list-workspaces")
@_account()
@_database_url()
def list_workspaces(account: str | None, database_url: str) -> int:
    """The workspaces of an account."""
    with _tenancy(database_url) as (tenancy, _):
        principal = tenancy.system_principal(_account_id(tenancy, account))
        for workspace in _every(lambda request: tenancy.list_workspaces(principal, request)):
            print(f"{workspace.id}\t{workspace.name}")
    return 0


@admin.command("create-key")
@click.argument("name")
@_account()
@click.option("--role", required=True, help="admin, editor, viewer or worker")
@click.option(
    "--workspace", "workspaces", multiple=True, help="ws_ id it reaches (repeat; none: all)"
)
@click.option("--expires-in-days", type=float, help="default: never")
@_database_url()
def create_key(
    name: str,
    account: str | None,
    role: str,
    workspaces: tuple[str, ...],
    expires_in_days: float | None,
    database_url: str,
) -> int:
    """A new API key; prints its secret once."""
    parsed_role = role_named(role)
    if parsed_role is None:
        print(
            "sundial admin create-key: --role must be admin, editor, viewer or worker, "
            f"not {role!r}",
            file=sys.stderr,
        )
        return 2
    with _tenancy(database_url) as (tenancy, database):
        principal = tenancy.system_principal(_account_id(tenancy, account))
        clock = SystemClock()
        expires = None if expires_in_days is None else clock.now() + timedelta(days=expires_in_days)
        key = _keys(database).create(
            principal,
            MetadataInput(name=name),
            ApiKeySpec(role=parsed_role, workspace_ids=workspaces, expire_time=expires),
        )
    _print_key(key)
    return 0


@admin.command("list-keys")
@_account()
@_database_url()
def list_keys(account: str | None, database_url: str) -> int:
    """The API keys of an account (never their secrets)."""
    with _tenancy(database_url) as (tenancy, database):
        principal = tenancy.system_principal(_account_id(tenancy, account))
        keys = _keys(database)
        for key in _every(lambda request: keys.list_keys(principal, request)):
            print("\t".join(_key_columns(key)))
    return 0


@admin.command("revoke-key")
@click.argument("key_id")
@_account()
@_database_url()
def revoke_key(key_id: str, account: str | None, database_url: str) -> int:
    """Revoke an API key."""
    with _tenancy(database_url) as (tenancy, database):
        principal = tenancy.system_principal(_account_id(tenancy, account))
        key = _keys(database).revoke(principal, key_id)
    print("\t".join(_key_columns(key)))
    return 0


@contextmanager
def _tenancy(url: str) -> Iterator[tuple[TenancyService, Database]]:
    migrate.upgrade(url)
    database = Database(url)
    try:
        yield TenancyService(database, SystemClock()), database
    finally:
        database.dispose()


def _account_id(tenancy: TenancyService, given: str | None) -> str:
    """The account given, else the first one (on an empty database, the bootstrap account
    made now, whose admin key is printed once, on stderr)."""
    if given:
        return given
    bootstrap = tenancy.bootstrap(os.environ.get("SUNDIAL_BOOTSTRAP_API_KEY", ""))
    if bootstrap.admin_key is not None:
        print(f"created account {bootstrap.account.id}", file=sys.stderr)
        _print_key(bootstrap.admin_key, file=sys.stderr)
    return bootstrap.account.id


def _keys(database: Database) -> ApiKeyService:
    return ApiKeyService(database, SystemClock(), on_revoked=lambda _key_id: None)


class _Page(Protocol[T_co]):
    @property
    def items(self) -> Sequence[T_co]: ...

    @property
    def next_page_token(self) -> str: ...


def _every(list_page: Callable[[PageRequest], _Page[T]]) -> Iterator[T]:
    """Every item of a List use case, page after page."""
    token = ""
    while True:
        page = list_page(PageRequest(page_size=1000, page_token=token))
        yield from page.items
        token = page.next_page_token
        if not token:
            return


def _key_columns(key: ApiKey) -> list[str]:
    spec, info = key.spec, key.info
    return [
        key.metadata.id,
        key.metadata.name,
        spec.role.name.lower(),
        ",".join(spec.workspace_ids) or "all workspaces",
        f"...{info.secret_hint}",
        "revoked"
        if info.revoke_time
        else (f"expires {spec.expire_time.isoformat()}" if spec.expire_time else "active"),
    ]


def _print_key(key: ApiKey, file: TextIO | None = None) -> None:
    """On `file`, else on the sys.stdout of the moment."""
    print(f"api key: {key.metadata.id} ({key.spec.role.name.lower()})", file=file)
    print(f"secret (shown only now): {key.info.secret}", file=file)
