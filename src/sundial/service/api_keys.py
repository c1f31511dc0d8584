"""The admin API's API-key use cases. Every call here comes from an account-wide admin of
`principal.account_id` (the authorizer checked)."""

from collections.abc import Callable
from dataclasses import replace

from sundial.domain.clock import Clock
from sundial.domain.errors import NotFoundError
from sundial.domain.listing import Page
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal
from sundial.domain.tenancy import ApiKey, ApiKeySpec
from sundial.service.authentication import new_secret
from sundial.service.idempotency import (
    RequestKey,
    create_or_replay,
    find_replay,
    record_request,
    request_key,
)
from sundial.service.pagination import (
    PageRequest,
)
from sundial.service.profiles import account_page, check_grants
from sundial.service.tenancy import add_api_key
from sundial.service.validation import Violations, check_metadata, check_request_id
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork


class ApiKeyService:
    def __init__(
        self, database: Database, clock: Clock, *, on_revoked: Callable[[str], None]
    ) -> None:
        self._database = database
        self._clock = clock
        # Told the id of every revoked key, so that cached lookups drop it at once.
        self._on_revoked = on_revoked

    def create(
        self,
        principal: Principal,
        metadata: MetadataInput,
        spec: ApiKeySpec,
        *,
        request_id: str = "",
        secret: str = "",
    ) -> ApiKey:
        """A new key; the answer carries its secret, which nothing can show again (a retry
        with the same `request_id` returns the key without it)."""
        violations = Violations()
        check_metadata(violations, metadata)
        check_request_id(violations, request_id)
        if spec.expire_time is not None and spec.expire_time <= self._clock.now():
            violations.add("spec.expire_time", "expire_time must be in the future")
        with UnitOfWork(self._database, write=False) as uow:
            check_grants(
                violations,
                uow,
                principal,
                spec.role,
                spec.workspace_ids,
                field_prefix="spec",
                role_required=True,
            )
        violations.raise_if_any()
        secret = secret or new_secret()
        spec = replace(spec, workspace_ids=tuple(dict.fromkeys(spec.workspace_ids)))
        key = request_key(principal.account_id, "CreateApiKey", request_id, metadata, spec)
        return create_or_replay(
            key, lambda: self._create_once(principal, key, metadata, spec, secret)
        )

    def _create_once(
        self,
        principal: Principal,
        key: RequestKey,
        metadata: MetadataInput,
        spec: ApiKeySpec,
        secret: str,
    ) -> ApiKey:
        """The new key with its secret; or, for a retry, the key without it."""
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                return _require_key(uow, principal, replayed_id)
            key_id = add_api_key(
                uow, principal, metadata, spec, secret, self._clock.now()
            ).metadata.id
            record_request(uow, self._clock, key, key_id)
            # Answered as a Get will read it, with the secret only this answer carries.
            created = _require_key(uow, principal, key_id)
            uow.commit()
        return replace(created, info=replace(created.info, secret=secret))

    def get(self, principal: Principal, key_id: str) -> ApiKey:
        with UnitOfWork(self._database, write=False) as uow:
            return _require_key(uow, principal, key_id)

    def list_keys(self, principal: Principal, request: PageRequest) -> Page[ApiKey]:
        return account_page(
            principal,
            "api_keys",
            request,
            lambda uow, after, limit: uow.tenancy.list_api_keys(
                principal.account_id, after_id=after, limit=limit
            ),
            self._database,
        )

    def revoke(self, principal: Principal, key_id: str) -> ApiKey:
        with UnitOfWork(self._database, write=True) as uow:
            _require_key(uow, principal, key_id)
            uow.tenancy.revoke_api_key(key_id, self._clock.now())
            uow.commit()
        self._on_revoked(key_id)
        return self.get(principal, key_id)


def _require_key(uow: UnitOfWork, principal: Principal, key_id: str) -> ApiKey:
    key = uow.tenancy.get_api_key(principal.account_id, key_id)
    if key is None:
        raise NotFoundError("API key", key_id)
    return key
