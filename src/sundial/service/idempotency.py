"""AIP-155 request ids (seed 000's idempotency key): a Create retried with the same
`request_id` within 24 hours returns the resource the first call created, even when the
retries race each other.

A Create use case, in one write transaction: `find_replay` first (a retry returns what the
first call created), then validate and write, then `record_request`, then commit. When two
calls with one request_id race, the second to commit fails on the record's key
(DuplicateKeyError); `create_or_replay` then runs it once more, and it finds the winner's
record."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sundial.domain.clock import Clock
from sundial.domain.errors import AlreadyExistsError
from sundial.store.codec import to_json
from sundial.store.database import Database
from sundial.store.duplicate_keys import DuplicateKeyError
from sundial.store.repositories.idempotency import IdempotencyRecord
from sundial.store.unit_of_work import UnitOfWork

REQUEST_ID_LIFETIME = timedelta(hours=24)
Created = TypeVar("Created")


@dataclass(frozen=True, slots=True)
class RequestKey:
    """One Create's request id: unique per operation within `scope_id` (a workspace, or an
    account for account resources), and the fingerprint of what the call asked for."""

    scope_id: str
    operation: str
    request_id: str
    fingerprint: str


def fingerprint(*parts: Any) -> str:
    """A digest of what a Create asked for, to tell a retry from a reused key."""
    canonical = json.dumps([to_json(p) for p in parts], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_key(scope_id: str, operation: str, request_id: str, *asked: Any) -> RequestKey:
    """The key of a Create; only a call with a request id needs the fingerprint."""
    return RequestKey(scope_id, operation, request_id, fingerprint(*asked) if request_id else "")


def find_replay(uow: UnitOfWork, clock: Clock, key: RequestKey) -> str | None:
    """The id of the resource that a call with this request id created within the last
    REQUEST_ID_LIFETIME, or None (always None without a request id). ALREADY_EXISTS when
    that call asked for something else."""
    record = _find_record(uow, clock, key)
    return None if record is None else record.resource_id


def find_batch_replay(uow: UnitOfWork, clock: Clock, key: RequestKey) -> tuple[str, ...] | None:
    """What find_replay finds, for a batch Create: the ids of every resource it made, in the
    order of its requests."""
    record = _find_record(uow, clock, key)
    return None if record is None else record.resource_ids


def _find_record(uow: UnitOfWork, clock: Clock, key: RequestKey) -> IdempotencyRecord | None:
    if not key.request_id:
        return None
    existing = uow.idempotency.find(key.scope_id, key.operation, key.request_id)
    if existing is None:
        return None
    if existing.created_at <= clock.now() - REQUEST_ID_LIFETIME:
        # Expired: the id is free again, and this call records it anew.
        uow.idempotency.forget(key.scope_id, key.operation, key.request_id)
        return None
    if existing.fingerprint != key.fingerprint:
        raise AlreadyExistsError(
            f"request_id {key.request_id!r} was already used for a different request within "
            "the last 24 hours; use a new request_id for a new request",
            reason="REQUEST_ID_REUSED",
        )
    return existing


def record_request(uow: UnitOfWork, clock: Clock, key: RequestKey, resource_id: str) -> None:
    """Records that this call's request id created `resource_id` (nothing without one)."""
    if key.request_id:
        record = IdempotencyRecord(key.fingerprint, resource_id, clock.now())
        uow.idempotency.add(key.scope_id, key.operation, key.request_id, record)


def record_batch_request(
    uow: UnitOfWork, clock: Clock, key: RequestKey, resource_ids: list[str]
) -> None:
    """Records that this batch call's request id created `resource_ids` (at least one, in
    the order of its requests; nothing without a request id)."""
    if key.request_id:
        record = IdempotencyRecord(
            key.fingerprint, resource_ids[0], clock.now(), tuple(resource_ids)
        )
        uow.idempotency.add(key.scope_id, key.operation, key.request_id, record)


def create_or_replay(key: RequestKey, create_once: Callable[[], Created]) -> Created:
    """What `create_once` (one write transaction, starting with find_replay) returns; run
    again when a concurrent call with the same request id committed first, which it then
    replays. Without a request id a duplicate key is a real conflict, and raised."""
    try:
        return create_once()
    except DuplicateKeyError:
        if not key.request_id:
            raise
        return create_once()


def purge_expired(database: Database, clock: Clock, *, limit: int = 1000) -> int:
    """Deletes request ids past their 24 hours (up to `limit` at a time), which a retry would
    no longer match anyway; returns how many it deleted."""
    with UnitOfWork(database, write=True) as uow:
        purged = uow.idempotency.purge(clock.now() - REQUEST_ID_LIFETIME, limit)
        uow.commit()
    return purged
