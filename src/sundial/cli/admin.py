"""`sundial admin ...`: accounts, workspaces and API keys, directly against the database
(for the operator who holds it; the admin API does the same over the network)."""

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Protocol, TextIO, TypeVar

from sundial.domain.clock import SystemClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import role_named
from sundial.domain.tenancy import ApiKey, ApiKeySpec
from sundial.service.api_keys import ApiKeyService
from sundial.service.pagination import PageRequest
from sundial.service.tenancy import TenancyService
from sundial.store import migrate
from sundial.store.database import Database

Env = Callable[[str, str], str]
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


def add_admin_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", env: Env
) -> None:
    admin = commands.add_parser("admin", help="administration directly against the database")
    admin_commands = admin.add_subparsers(required=True, metavar="ADMIN_COMMAND")

    def command(
        name: str, help_text: str, run: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        parser = admin_commands.add_parser(name, help=help_text)
        parser.add_argument("--database-url", default=env("DATABASE_URL", "sqlite:///./sundial.db"))
        parser.set_defaults(run=run)
        return parser

    create_account = command(
        "create-account", "a new account with a workspace and an admin key", _create_account
    )
    create_account.add_argument("name")
    command("list-accounts", "id and name of every account", _list_accounts)

    create_workspace = command("create-workspace", "print a new ws_ id", _create_workspace)
    create_workspace.add_argument("name")
    create_workspace.add_argument("--account", help="acct_ id (default: the first account)")
    list_workspaces = command("list-workspaces", "the workspaces of an account", _list_workspaces)
    list_workspaces.add_argument("--account", help="acct_ id (default: the first account)")

    create_key = command("create-key", "a new API key; prints its secret once", _create_key)
    create_key.add_argument("name")
    create_key.add_argument("--account", help="acct_ id (default: the first account)")
    create_key.add_argument("--role", required=True, help="admin, editor, viewer or worker")
    create_key.add_argument(
        "--workspace", action="append", default=[], help="ws_ id it reaches (repeat; none: all)"
    )
    create_key.add_argument("--expires-in-days", type=float, help="default: never")
    list_keys = command("list-keys", "the API keys of an account (never their secrets)", _list_keys)
    list_keys.add_argument("--account", help="acct_ id (default: the first account)")
    revoke_key = command("revoke-key", "revoke an API key", _revoke_key)
    revoke_key.add_argument("key_id")
    revoke_key.add_argument("--account", help="acct_ id (default: the first account)")


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


def _create_account(args: argparse.Namespace) -> int:
    with _tenancy(args.database_url) as (tenancy, _):
        created = tenancy.create_account(args.name)
    print(f"account: {created.account.id}")
    print(f"workspace: {created.default_workspace.id}")
    _print_key(created.admin_key)
    return 0


def _list_accounts(args: argparse.Namespace) -> int:
    with _tenancy(args.database_url) as (tenancy, _):
        for account in tenancy.list_accounts():
            print(f"{account.id}\t{account.name}")
    return 0


def _create_workspace(args: argparse.Namespace) -> int:
    with _tenancy(args.database_url) as (tenancy, _):
        principal = tenancy.system_principal(_account_id(tenancy, args.account))
        workspace = tenancy.create_workspace(principal, args.name)
    print(workspace.id)
    return 0


def _list_workspaces(args: argparse.Namespace) -> int:
    with _tenancy(args.database_url) as (tenancy, _):
        principal = tenancy.system_principal(_account_id(tenancy, args.account))
        for workspace in _every(lambda request: tenancy.list_workspaces(principal, request)):
            print(f"{workspace.id}\t{workspace.name}")
    return 0


def _create_key(args: argparse.Namespace) -> int:
    role = role_named(args.role)
    if role is None:
        print(
            "sundial admin create-key: --role must be admin, editor, viewer or worker, "
            f"not {args.role!r}",
            file=sys.stderr,
        )
        return 2
    with _tenancy(args.database_url) as (tenancy, database):
        principal = tenancy.system_principal(_account_id(tenancy, args.account))
        clock = SystemClock()
        expires = (
            None
            if args.expires_in_days is None
            else clock.now() + timedelta(days=args.expires_in_days)
        )
        key = _keys(database).create(
            principal,
            MetadataInput(name=args.name),
            ApiKeySpec(role=role, workspace_ids=tuple(args.workspace), expire_time=expires),
        )
    _print_key(key)
    return 0


def _list_keys(args: argparse.Namespace) -> int:
    with _tenancy(args.database_url) as (tenancy, database):
        principal = tenancy.system_principal(_account_id(tenancy, args.account))
        keys = _keys(database)
        for key in _every(lambda request: keys.list_keys(principal, request)):
            print("\t".join(_key_columns(key)))
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    with _tenancy(args.database_url) as (tenancy, database):
        principal = tenancy.system_principal(_account_id(tenancy, args.account))
        key = _keys(database).revoke(principal, args.key_id)
    print("\t".join(_key_columns(key)))
    return 0


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


def _print_key(key: ApiKey, file: TextIO = sys.stdout) -> None:
    print(f"api key: {key.metadata.id} ({key.spec.role.name.lower()})", file=file)
    print(f"secret (shown only now): {key.info.secret}", file=file)
