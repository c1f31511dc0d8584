"""AIP-155 request ids (seed 000's idempotency key): a Create retried with the same
`request_id` within 24 hours returns the resource the first call created, even when the
retries race each other."""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from sundial.domain.clock import Clock
from sundial.domain.errors import AlreadyExistsError, NotFoundError
from sundial.store.codec import to_json
from sundial.store.database import Database
from sundial.store.repositories.idempotency import IdempotencyRecord
from sundial.store.unit_of_work import UnitOfWork

T = TypeVar("T")

REQUEST_ID_LIFETIME = timedelta(hours=24)


def fingerprint(*parts: Any) -> str:
    """A digest of what a Create asked for, to tell a retry from a reused key."""
    canonical = json.dumps([to_json(p) for p in parts], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_once(
    database: Database,
    clock: Clock,
    *,
    workspace_id: str,
    operation: str,
    request_id: str,
    request_fingerprint: str,
    create: Callable[[UnitOfWork], tuple[str, T | None]],
    load: Callable[[UnitOfWork, str], T | None],
) -> T:
    """Runs `create` in one write transaction, unless `request_id` was already used for this
    operation in the workspace. Returns the resource: the one `create` returns with the new
    resource's id, when it can tell what a read would give (else read back with `load`)."""
    # Two attempts: when a concurrent duplicate commits its key first, our insert of the same
    # key fails, and the second attempt finds and returns what the winner created.
    for attempt in range(2):
        with UnitOfWork(database, write=True) as uow:
            if request_id:
                existing = uow.idempotency.find(workspace_id, operation, request_id)
                if existing is not None and existing.created_at > clock.now() - REQUEST_ID_LIFETIME:
                    return _replay(uow, existing, request_id, request_fingerprint, load)
                if existing is not None:
                    uow.idempotency.forget(workspace_id, operation, request_id)
            resource_id, resource = create(uow)
            if request_id:
                record = IdempotencyRecord(request_fingerprint, resource_id, clock.now())
                uow.idempotency.add(workspace_id, operation, request_id, record)
            try:
                uow.commit()
            except IntegrityError:
                if not request_id or attempt > 0:
                    raise
                continue
        if resource is not None:
            return resource
        with UnitOfWork(database, write=False) as uow:
            created = load(uow, resource_id)
            if created is None:
                raise NotFoundError("resource", resource_id)
            return created
    raise AssertionError("unreachable")


def purge_expired(database: Database, clock: Clock, *, limit: int = 1000) -> int:
    """Deletes request ids past their 24 hours (up to `limit` at a time), which a retry would
    no longer match anyway; returns how many it deleted."""
    with UnitOfWork(database, write=True) as uow:
        purged = uow.idempotency.purge(clock.now() - REQUEST_ID_LIFETIME, limit)
        uow.commit()
    return purged


def _replay(
    uow: UnitOfWork,
    existing: IdempotencyRecord,
    request_id: str,
    request_fingerprint: str,
    load: Callable[[UnitOfWork, str], T | None],
) -> T:
    if existing.fingerprint != request_fingerprint:
        raise AlreadyExistsError(
            f"request_id {request_id!r} was already used for a different request within "
            "the last 24 hours; use a new request_id for a new request",
            reason="REQUEST_ID_REUSED",
        )
    resource = load(uow, existing.resource_id)
    if resource is None:
        raise NotFoundError("resource", existing.resource_id)
    return resource
