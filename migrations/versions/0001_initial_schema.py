"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 22:24:03.075079
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sundial.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "operation", "request_id", name=op.f("pk_idempotency_keys")
        ),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "profiles",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_profile_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_profiles_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_account_id"), ["account_id"], unique=False)

    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_workspaces_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workspaces_account_id"), ["account_id"], unique=False)

    op.create_table(
        "agents",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("bundle_key", sa.String(length=256), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_agents_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index("ix_agents_workspace_id_id", ["workspace_id", "id"], unique=False)

    op.create_table(
        "agent_schedules",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_fire_at", sundial.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_nominal_at", sundial.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_fire_at", sundial.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_objective_id", sa.String(length=40), nullable=False),
        sa.Column("last_skipped_at", sundial.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_skip_reason", sa.String(length=512), nullable=False),
        sa.Column("total_fires", sa.Integer(), nullable=False),
        sa.Column("scheduled_fires", sa.Integer(), nullable=False),
        sa.Column("missed_fires", sa.Integer(), nullable=False),
        sa.Column("skipped_fires", sa.Integer(), nullable=False),
        sa.Column("consecutive_failure_count", sa.Integer(), nullable=False),
        sa.Column("last_objective_status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("bundle_key", sa.String(length=256), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_schedules_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_agent_schedules_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_schedules")),
    )
    with op.batch_alter_table("agent_schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_schedules_next_fire_at",
            ["next_fire_at"],
            unique=False,
            sqlite_where=sa.text("next_fire_at IS NOT NULL"),
            postgresql_where=sa.text("next_fire_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_agent_schedules_workspace_id_agent_id_id",
            ["workspace_id", "agent_id", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_agent_schedules_workspace_id_id", ["workspace_id", "id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("agent_schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_schedules_workspace_id_id")
        batch_op.drop_index("ix_agent_schedules_workspace_id_agent_id_id")
        batch_op.drop_index(
            "ix_agent_schedules_next_fire_at",
            sqlite_where=sa.text("next_fire_at IS NOT NULL"),
            postgresql_where=sa.text("next_fire_at IS NOT NULL"),
        )

    op.drop_table("agent_schedules")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index("ix_agents_workspace_id_id")

    op.drop_table("agents")
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workspaces_account_id"))

    op.drop_table("workspaces")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_account_id"))

    op.drop_table("profiles")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("accounts")
