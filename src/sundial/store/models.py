"""Typed SQLAlchemy models. The schema itself is created only by the Alembic migrations."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sundial.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonColumn = JSON().with_variant(JSONB(), "postgresql")
Id = String(40)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JsonColumn}


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]


class ProfileRow(Base):
    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str] = mapped_column(String(320), default="")
    external_id: Mapped[str] = mapped_column(String(256), default="")
    labels: Mapped[dict[str, Any]]
    created_by_profile_id: Mapped[str] = mapped_column(Id, default="")
    created_at: Mapped[datetime]
    # A user's grants (used when the token carries none): its role name and the workspaces
    # it reaches, empty meaning all of the account's.
    role: Mapped[str] = mapped_column(String(16), default="UNSPECIFIED")
    workspace_ids: Mapped[list[str]] = mapped_column(JsonColumn, default=list)

    __table_args__ = (
        # One profile per token subject (external_id) in an account, so that two first
        # calls of a new user at once cannot make two profiles.
        Index(
            "uq_profiles_account_id_external_id",
            "account_id",
            "type",
            "external_id",
            unique=True,
            sqlite_where=text("external_id != ''"),
            postgresql_where=text("external_id != ''"),
        ),
    )


class ApiKeyRow(Base):
    """An API key. Only the SHA-256 of its secret is stored, never the secret."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    # The API_KEY profile the key acts as.
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id"))
    name: Mapped[str] = mapped_column(String(256))
    external_id: Mapped[str] = mapped_column(String(256), default="")
    labels: Mapped[dict[str, Any]]
    created_by_profile_id: Mapped[str] = mapped_column(Id)
    role: Mapped[str] = mapped_column(String(16))
    # Empty: every workspace of the account.
    workspace_ids: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    expire_time: Mapped[datetime | None]
    revoke_time: Mapped[datetime | None]


class _WorkspaceResource:
    """Columns every workspace-scoped resource has (ResourceMetadata)."""

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id)
    profile_id: Mapped[str] = mapped_column(Id)
    name: Mapped[str] = mapped_column(String(256))
    bundle_key: Mapped[str] = mapped_column(String(256), default="")
    external_id: Mapped[str] = mapped_column(String(256), default="")
    labels: Mapped[dict[str, Any]]
    spec: Mapped[dict[str, Any]]
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AgentRow(_WorkspaceResource, Base):
    __tablename__ = "agents"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    # A PUSH agent's signing secret: write only, so kept out of the spec document.
    push_secret: Mapped[str] = mapped_column(String(128), default="", server_default="")

    __table_args__ = (Index("ix_agents_workspace_id_id", "workspace_id", "id"),)


class ScheduleRow(_WorkspaceResource, Base):
    __tablename__ = "agent_schedules"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    status: Mapped[str] = mapped_column(String(16))
    # Only ACTIVE schedules with a future fire have these; the firing engine finds due
    # schedules through the partial index on next_fire_at.
    next_fire_at: Mapped[datetime | None]
    next_nominal_at: Mapped[datetime | None]
    last_fire_at: Mapped[datetime | None]
    last_objective_id: Mapped[str] = mapped_column(Id, default="")
    last_skipped_at: Mapped[datetime | None]
    last_skip_reason: Mapped[str] = mapped_column(String(512), default="")
    total_fires: Mapped[int] = mapped_column(default=0)
    scheduled_fires: Mapped[int] = mapped_column(default=0)
    missed_fires: Mapped[int] = mapped_column(default=0)
    skipped_fires: Mapped[int] = mapped_column(default=0)
    consecutive_failure_count: Mapped[int] = mapped_column(default=0)
    # Objectives of other origins than the rules (total_fires counts those).
    manual_fires: Mapped[int] = mapped_column(default=0, server_default="0")
    backfill_fires: Mapped[int] = mapped_column(default=0, server_default="0")
    retry_attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    __table_args__ = (
        Index("ix_agent_schedules_workspace_id_id", "workspace_id", "id"),
        Index("ix_agent_schedules_workspace_id_agent_id_id", "workspace_id", "agent_id", "id"),
        Index(
            "ix_agent_schedules_next_fire_at",
            "next_fire_at",
            sqlite_where=text("next_fire_at IS NOT NULL"),
            postgresql_where=text("next_fire_at IS NOT NULL"),
        ),
    )


class ObjectiveRow(Base):
    """One run. The unique fire key makes a second insert of the same fire a no-op."""

    __tablename__ = "objectives"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id)
    workspace_id: Mapped[str] = mapped_column(Id)
    agent_id: Mapped[str] = mapped_column(Id)
    schedule_id: Mapped[str] = mapped_column(Id)
    profile_id: Mapped[str] = mapped_column(Id)
    scheduled_time: Mapped[datetime]
    trigger_kind: Mapped[str] = mapped_column(String(16))
    # Distinguishes objectives of one nominal time and kind: empty for scheduled and
    # backfilled fires (one per time), the request id or a fresh id for manual triggers,
    # the retried attempt's id for retries.
    trigger_key: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]]
    attempt: Mapped[int] = mapped_column(default=1)
    retry_of: Mapped[str] = mapped_column(Id, default="")
    worker_id: Mapped[str] = mapped_column(String(256), default="")
    available_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # No output is SQL NULL, not the JSON text 'null'.
    output: Mapped[Any] = mapped_column(
        JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"), nullable=True
    )
    error: Mapped[str] = mapped_column(String(4096), default="")
    # The W3C traceparent of the span that made it (NULL when the server does not trace).
    trace_parent: Mapped[str | None] = mapped_column(String(55), nullable=True)
    # The chain run and node it runs (NULL unless a chain made it), so that its end can
    # find the edges it resolves.
    chain_run_id: Mapped[str | None] = mapped_column(Id, nullable=True)
    chain_node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint(
            "schedule_id",
            "scheduled_time",
            "trigger_kind",
            "trigger_key",
            name="uq_objectives_fire",
        ),
        Index("ix_objectives_workspace_id_agent_id_id", "workspace_id", "agent_id", "id"),
        Index("ix_objectives_schedule_id_status", "schedule_id", "status"),
        # A schedule's newest objectives (its recent fires, on every Get).
        Index("ix_objectives_schedule_id_id", "schedule_id", "id"),
        Index("ix_objectives_agent_id_status_available_at", "agent_id", "status", "available_at"),
        Index("ix_objectives_status_lease_expires_at", "status", "lease_expires_at"),
        # Stats, heatmaps and calendars read a bounded window of fire times (service.insight).
        Index("ix_objectives_workspace_id_created_at", "workspace_id", "created_at"),
        Index("ix_objectives_schedule_id_created_at", "schedule_id", "created_at"),
        Index(
            "ix_objectives_chain_run_id",
            "chain_run_id",
            sqlite_where=text("chain_run_id IS NOT NULL"),
            postgresql_where=text("chain_run_id IS NOT NULL"),
        ),
    )


class IdempotencyKeyRow(Base):
    """A Create's `request_id`: the same key within its lifetime returns the same resource
    (or, for a batch, the same resources)."""

    __tablename__ = "idempotency_keys"

    workspace_id: Mapped[str] = mapped_column(Id, primary_key=True)
    operation: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(Id)
    # Every resource a batch Create made, in the order of its requests (resource_id is the
    # first); None for a Create of one resource.
    resource_ids: Mapped[list[str] | None] = mapped_column(JsonColumn, nullable=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


class FireOutcomeRow(Base):
    """A schedule's fires missed and skipped in one minute (by the engine's clock). Misses
    and skips leave no objective; these rows let stats count them over a window. Written
    only when a pass misses or skips something."""

    __tablename__ = "schedule_fire_outcomes"

    schedule_id: Mapped[str] = mapped_column(Id, primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    missed: Mapped[int]
    skipped: Mapped[int]


class EngineReplicaRow(Base):
    """What a process running the firing engine last reported (engine status)."""

    __tablename__ = "engine_replicas"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_pass_at: Mapped[datetime]
    schedules_examined: Mapped[int]


class WebhookRow(_WorkspaceResource, Base):
    """An endpoint deliveries are posted to. The signing secret is kept as it is (it signs
    every request), and is shown only by the calls that make it."""

    __tablename__ = "webhooks"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    secret: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    disabled_reason: Mapped[str] = mapped_column(String(512), default="")
    disabled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    # The first failed attempt since the last success: a target failing for the whole
    # disable window is disabled.
    failing_since: Mapped[datetime | None]

    __table_args__ = (Index("ix_webhooks_workspace_id_id", "workspace_id", "id"),)


class DeliveryRow(Base):
    """The outbox: one event or result for one webhook, written in the transaction of the
    state change that caused it and sent (at least once, always with this id as
    `webhook-id`) by the dispatcher."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id)
    workspace_id: Mapped[str] = mapped_column(Id)
    webhook_id: Mapped[str] = mapped_column(Id)
    # EventType name, or RESULT for a result delivery.
    event_type: Mapped[str] = mapped_column(String(32))
    objective_id: Mapped[str] = mapped_column(Id, default="")
    schedule_id: Mapped[str] = mapped_column(Id, default="")
    agent_id: Mapped[str] = mapped_column(Id, default="")
    format: Mapped[str] = mapped_column(String(16))
    # The rendered body, sent unchanged on every attempt.
    body: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_http_status: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(4096), default="")
    # Due time of the next attempt; NULL unless PENDING. A dispatcher that takes a
    # delivery moves it past the attempt's timeout, so that a crashed sender's delivery
    # is taken again later (at least once) and a live one's is not taken twice.
    next_attempt_at: Mapped[datetime | None]
    # When the retry window started (creation, or the last redeliver).
    window_started_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_deliveries_webhook_id_id", "webhook_id", "id"),
        Index("ix_deliveries_workspace_id_id", "workspace_id", "id"),
        # The dispatcher's due deliveries.
        Index(
            "ix_deliveries_next_attempt_at",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
    )


class ChainRow(_WorkspaceResource, Base):
    """A DAG pipeline of agents; the nodes and edges are in the spec document."""

    __tablename__ = "chains"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    run_count: Mapped[int] = mapped_column(default=0)
    last_run_id: Mapped[str] = mapped_column(Id, default="")

    __table_args__ = (Index("ix_chains_workspace_id_id", "workspace_id", "id"),)


class ChainRunRow(Base):
    """One start of a chain, with the chain's spec as it was then (`spec`). The request key
    makes a second start of the same fire or the same TriggerChain request id a no-op."""

    __tablename__ = "chain_runs"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id)
    workspace_id: Mapped[str] = mapped_column(Id)
    chain_id: Mapped[str] = mapped_column(Id)
    profile_id: Mapped[str] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(16))
    trigger_kind: Mapped[str] = mapped_column(String(16))
    schedule_id: Mapped[str] = mapped_column(Id, default="")
    scheduled_time: Mapped[datetime]
    # The fire (`<schedule id>@<nominal time>`) or the TriggerChain request id (or a fresh
    # id when there is none): unique per chain, so a start is made once.
    request_key: Mapped[str] = mapped_column(String(192))
    chain_revision: Mapped[int]
    # The ChainRunSpec document: the chain's spec snapshot and the trigger's data.
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("chain_id", "request_key", name="uq_chain_runs_request"),
        Index("ix_chain_runs_workspace_id_id", "workspace_id", "id"),
        Index("ix_chain_runs_chain_id_id", "chain_id", "id"),
        # Overlap policies look for a chain's runs in flight.
        Index("ix_chain_runs_chain_id_status", "chain_id", "status"),
    )


class ChainRunNodeRow(Base):
    """One node of one run. The primary key (run, node name) is what makes a downstream
    node start exactly once: its row moves from WAITING once, in the transaction of the
    upstream objective's end."""

    __tablename__ = "chain_run_nodes"

    chain_run_id: Mapped[str] = mapped_column(ForeignKey("chain_runs.id"), primary_key=True)
    node_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Position in the chain's nodes, so a run lists them in the chain's order.
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    # Every objective of the node, first attempt first (retries add).
    objective_ids: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    objective_status: Mapped[str] = mapped_column(String(16), default="UNSPECIFIED")
    # The node's data once its incoming edges' output mappings applied.
    data: Mapped[Any] = mapped_column(
        JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"), nullable=True
    )
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # Run-time errors deciding its start, one per line (ChainRunNode.error).
    error: Mapped[str] = mapped_column(String(4096), default="")
    updated_at: Mapped[datetime]
