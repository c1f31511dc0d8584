"""objectives

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:50:41.981697
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sundial.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "objectives",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("schedule_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("scheduled_time", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trigger_kind", sa.String(length=16), nullable=False),
        sa.Column("trigger_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("retry_of", sa.String(length=40), nullable=False),
        sa.Column("worker_id", sa.String(length=256), nullable=False),
        sa.Column("available_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "lease_expires_at", sundial.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("deadline", sundial.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", sundial.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sundial.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.String(length=4096), nullable=False),
        sa.Column("created_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objectives")),
        sa.UniqueConstraint(
            "schedule_id",
            "scheduled_time",
            "trigger_kind",
            "trigger_key",
            name="uq_objectives_fire",
        ),
    )
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.create_index(
            "ix_objectives_agent_id_status_available_at",
            ["agent_id", "status", "available_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_objectives_schedule_id_status", ["schedule_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_objectives_status_lease_expires_at", ["status", "lease_expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_objectives_workspace_id_agent_id_id",
            ["workspace_id", "agent_id", "id"],
            unique=False,
        )
    with op.batch_alter_table("agent_schedules", schema=None) as batch_op:
        # Derived from the newest objective instead (info.recent_fires[0].status).
        batch_op.drop_column("last_objective_status")


def downgrade() -> None:
    with op.batch_alter_table("agent_schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_objective_status", sa.String(16), nullable=False, server_default="UNSPECIFIED"
            )
        )

    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.drop_index("ix_objectives_workspace_id_agent_id_id")
        batch_op.drop_index("ix_objectives_status_lease_expires_at")
        batch_op.drop_index("ix_objectives_schedule_id_status")
        batch_op.drop_index("ix_objectives_agent_id_status_available_at")

    op.drop_table("objectives")
