"""Accounts and workspaces, and the first start: on a database with no account, the
bootstrap account, its SYSTEM profile, a default workspace and an admin API key."""

from dataclasses import dataclass
from datetime import datetime

from sundial.domain.clock import Clock
from sundial.domain.errors import InvalidArgumentError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import Page
from sundial.domain.metadata import AccountResourceMetadata, MetadataInput
from sundial.domain.principals import Principal, Role
from sundial.domain.tenancy import (
    Account,
    ApiKey,
    ApiKeyInfo,
    ApiKeySpec,
    Profile,
    ProfileSpec,
    ProfileType,
    Workspace,
)
from sundial.service.authentication import (
    MAX_SECRET_LENGTH,
    MIN_SECRET_LENGTH,
    hash_secret,
    new_secret,
    secret_hint,
)
from sundial.service.idempotency import (
    RequestKey,
    create_or_replay,
    find_replay,
    record_request,
    request_key,
)
from sundial.service.pagination import (
    PageRequest,
    decode_page_token,
    effective_page_size,
    encode_page_token,
    query_fingerprint,
)
from sundial.service.validation import MAX_NAME_LENGTH, Violations, check_request_id
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

BOOTSTRAP_ACCOUNT_NAME = "default"
DEFAULT_WORKSPACE_NAME = "default"


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account as created: its SYSTEM principal, first workspace and admin key."""

    account: Account
    principal: Principal
    default_workspace: Workspace
    admin_key: ApiKey


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """The bootstrap account, its SYSTEM principal and first workspace; `admin_key` (with its
    secret) only when this start created them."""

    account: Account
    principal: Principal
    default_workspace: Workspace
    admin_key: ApiKey | None


def system_principal(account_id: str, profile_id: str) -> Principal:
    """Sundial itself acting in an account: admin of every workspace."""
    return Principal(account_id, profile_id, Role.ADMIN, None)


def check_secret(secret: str) -> None:
    """An operator-chosen secret must be long enough; the message never repeats it."""
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH or not secret.isprintable():
        raise ValueError(
            f"an API key secret must be {MIN_SECRET_LENGTH}-{MAX_SECRET_LENGTH} printable "
            f"characters (this one has {len(secret)})"
        )
    if " " in secret or "." in secret:
        raise ValueError("an API key secret may not contain spaces or dots")


def check_name(name: str, field: str = "name") -> None:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgumentError.single(field, f"{field} must be 1-{MAX_NAME_LENGTH} characters")


class TenancyService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def bootstrap(self, admin_secret: str = "") -> Bootstrap:
        """On an empty database, creates the bootstrap account with an admin key whose secret
        is `admin_secret` (or a new one); returns the first account either way."""
        with UnitOfWork(self._database, write=True) as uow:
            account = uow.tenancy.first_account()
            if account is None:
                created = self._create_account(uow, BOOTSTRAP_ACCOUNT_NAME, admin_secret)
                uow.commit()
                return Bootstrap(
                    created.account,
                    created.principal,
                    created.default_workspace,
                    created.admin_key,
                )
            principal = self.system_principal_of(uow, account.id)
            workspaces = uow.tenancy.list_workspaces(account.id, limit=1)
            if not workspaces:
                raise RuntimeError(f"account {account.id} has no workspace")
            return Bootstrap(account, principal, workspaces[0], None)

    def create_account(self, name: str, admin_secret: str = "") -> NewAccount:
        """A new account with its SYSTEM profile, a default workspace and an admin key."""
        check_name(name)
        with UnitOfWork(self._database, write=True) as uow:
            created = self._create_account(uow, name, admin_secret)
            uow.commit()
        return created

    def list_accounts(self) -> list[Account]:
        with UnitOfWork(self._database, write=False) as uow:
            return uow.tenancy.list_accounts()

    def system_principal(self, account_id: str) -> Principal:
        with UnitOfWork(self._database, write=False) as uow:
            return self.system_principal_of(uow, account_id)

    @staticmethod
    def system_principal_of(uow: UnitOfWork, account_id: str) -> Principal:
        if uow.tenancy.get_account(account_id) is None:
            raise NotFoundError("account", account_id)
        profile = uow.tenancy.find_profile(account_id, ProfileType.SYSTEM)
        if profile is None:
            raise RuntimeError(f"account {account_id} has no SYSTEM profile")
        return system_principal(account_id, profile.metadata.id)

    def get_account(self, principal: Principal, account_id: str) -> Account:
        with UnitOfWork(self._database, write=False) as uow:
            account = uow.tenancy.get_account(account_id)
        if account is None or account.id != principal.account_id:
            raise NotFoundError("account", account_id)
        return account

    def create_workspace(self, principal: Principal, name: str, request_id: str = "") -> Workspace:
        violations = Violations()
        check_request_id(violations, request_id)
        violations.raise_if_any()
        check_name(name, "workspace.name")
        account_id = principal.account_id

        workspace = Workspace(new_id(IdPrefix.WORKSPACE), account_id, name, self._clock.now())
        key = request_key(account_id, "CreateWorkspace", request_id, name)
        return create_or_replay(key, lambda: self._create_workspace_once(principal, key, workspace))

    def _create_workspace_once(
        self, principal: Principal, key: RequestKey, workspace: Workspace
    ) -> Workspace:
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                return require_workspace(uow, principal, replayed_id)
            uow.tenancy.add_workspace(workspace)
            record_request(uow, self._clock, key, workspace.id)
            # Answered as a Get will read it.
            created = require_workspace(uow, principal, workspace.id)
            uow.commit()
        return created

    def get_workspace(self, principal: Principal, workspace_id: str) -> Workspace:
        with UnitOfWork(self._database, write=False) as uow:
            return require_workspace(uow, principal, workspace_id)

    def list_workspaces(self, principal: Principal, request: PageRequest) -> Page[Workspace]:
        limit = effective_page_size(request.page_size)
        query = query_fingerprint("workspaces", principal.account_id)
        after_id = decode_page_token(request.page_token, query)
        with UnitOfWork(self._database, write=False) as uow:
            rows = uow.tenancy.list_workspaces(principal.account_id, after_id=after_id, limit=limit)
        items = rows[:limit]
        token = encode_page_token(items[-1].id, query) if len(rows) > limit else ""
        return Page(items, token)

    def _create_account(self, uow: UnitOfWork, name: str, admin_secret: str) -> NewAccount:
        if admin_secret:
            check_secret(admin_secret)
        now = self._clock.now()
        account = Account(new_id(IdPrefix.ACCOUNT), name, now)
        system_id = new_id(IdPrefix.PROFILE)
        system = new_profile(
            system_principal(account.id, system_id),
            system_id,
            MetadataInput(name="system"),
            ProfileSpec(type=ProfileType.SYSTEM, name="Sundial", role=Role.ADMIN),
            now,
        )
        workspace = Workspace(new_id(IdPrefix.WORKSPACE), account.id, DEFAULT_WORKSPACE_NAME, now)
        principal = system_principal(account.id, system_id)
        uow.tenancy.add_account(account)
        uow.session.flush()
        uow.tenancy.add_profile(system)
        uow.tenancy.add_workspace(workspace)
        uow.session.flush()
        admin_key = add_api_key(
            uow,
            principal,
            MetadataInput(name="bootstrap admin"),
            ApiKeySpec(role=Role.ADMIN),
            admin_secret or new_secret(),
            now,
        )
        return NewAccount(account, principal, workspace, admin_key)


def new_profile(
    creator: Principal,
    profile_id: str,
    metadata: MetadataInput,
    spec: ProfileSpec,
    now: datetime,
) -> Profile:
    """A profile of the creator's account; `creator.profile_id` is who made it (a profile
    that makes itself names its own id)."""
    return Profile(
        metadata=AccountResourceMetadata(
            id=profile_id,
            account_id=creator.account_id,
            name=metadata.name,
            profile_id=creator.profile_id,
            external_id=metadata.external_id,
            labels=dict(metadata.labels),
            created_at=now,
        ),
        spec=spec,
    )


def add_api_key(
    uow: UnitOfWork,
    principal: Principal,
    metadata: MetadataInput,
    spec: ApiKeySpec,
    secret: str,
    now: datetime,
) -> ApiKey:
    """Adds a key and the API_KEY profile it acts as; the returned key carries the secret,
    the store only its digest."""
    key_id = new_id(IdPrefix.API_KEY)
    profile_id = new_id(IdPrefix.PROFILE)
    uow.tenancy.add_profile(
        new_profile(
            principal,
            profile_id,
            MetadataInput(name=metadata.name, external_id=key_id),
            ProfileSpec(type=ProfileType.API_KEY, name=metadata.name),
            now,
        )
    )
    uow.session.flush()
    key = ApiKey(
        metadata=AccountResourceMetadata(
            id=key_id,
            account_id=principal.account_id,
            name=metadata.name,
            profile_id=principal.profile_id,
            external_id=metadata.external_id,
            labels=dict(metadata.labels),
            created_at=now,
        ),
        spec=spec,
        info=ApiKeyInfo(secret=secret, secret_hint=secret_hint(secret), key_profile_id=profile_id),
    )
    uow.tenancy.add_api_key(key, hash_secret(secret))
    return key


def require_workspace(uow: UnitOfWork, principal: Principal, workspace_id: str) -> Workspace:
    """The workspace, if it exists in the principal's account; NOT_FOUND otherwise."""
    workspace = uow.tenancy.get_workspace(principal.account_id, workspace_id)
    if workspace is None:
        raise NotFoundError("workspace", workspace_id)
    return workspace
