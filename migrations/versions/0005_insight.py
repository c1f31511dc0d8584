"""insight: objectives by fire time (bounded-window stats), schedule counters for manual,
backfilled and retried objectives, missed and skipped fires by minute, and the engine
replicas' reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sundial.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = ("manual_fires", "backfill_fires", "retry_attempts")


def upgrade() -> None:
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.create_index(
            "ix_objectives_workspace_id_created_at", ["workspace_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_objectives_schedule_id_created_at", ["schedule_id", "created_at"], unique=False
        )
    with op.batch_alter_table("agent_schedules", schema=None) as batch_op:
        for name in _COUNTERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "schedule_fire_outcomes",
        sa.Column("schedule_id", sa.String(length=40), nullable=False),
        sa.Column("minute", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "minute", name=op.f("pk_schedule_fire_outcomes")),
    )
    op.create_table(
        "engine_replicas",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("started_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_pass_at", sundial.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("schedules_examined", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_replicas")),
    )
    op.create_index(
        "ix_engine_replicas_last_seen_at", "engine_replicas", ["last_seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_engine_replicas_last_seen_at", table_name="engine_replicas")
    op.drop_table("engine_replicas")
    op.drop_table("schedule_fire_outcomes")
    with op.batch_alter_table("agent_schedules", schema=None) as batch_op:
        for name in _COUNTERS:
            batch_op.drop_column(name)
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.drop_index("ix_objectives_schedule_id_created_at")
        batch_op.drop_index("ix_objectives_workspace_id_created_at")
