"""chains, their runs and run nodes, and the chain run of an objective

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sundial.store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sundial.store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "chains",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("bundle_key", sa.String(length=256), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=False),
        sa.Column("labels", _JSON, nullable=False),
        sa.Column("spec", _JSON, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_chains_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chains")),
    )
    op.create_index("ix_chains_workspace_id_id", "chains", ["workspace_id", "id"])
    op.create_table(
        "chain_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger_kind", sa.String(length=16), nullable=False),
        sa.Column("schedule_id", sa.String(length=40), nullable=False),
        _time("scheduled_time", nullable=False),
        sa.Column("request_key", sa.String(length=192), nullable=False),
        sa.Column("chain_revision", sa.Integer(), nullable=False),
        sa.Column("spec", _JSON, nullable=False),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        _time("ended_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_runs")),
        sa.UniqueConstraint("chain_id", "request_key", name="uq_chain_runs_request"),
    )
    op.create_index("ix_chain_runs_workspace_id_id", "chain_runs", ["workspace_id", "id"])
    op.create_index("ix_chain_runs_chain_id_id", "chain_runs", ["chain_id", "id"])
    op.create_index("ix_chain_runs_chain_id_status", "chain_runs", ["chain_id", "status"])
    op.create_table(
        "chain_run_nodes",
        sa.Column("chain_run_id", sa.String(length=40), nullable=False),
        sa.Column("node_name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("objective_ids", _JSON, nullable=False),
        sa.Column("objective_status", sa.String(length=16), nullable=False),
        sa.Column("data", _NULLABLE_JSON, nullable=True),
        _time("started_at", nullable=True),
        _time("ended_at", nullable=True),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["chain_run_id"],
            ["chain_runs.id"],
            name=op.f("fk_chain_run_nodes_chain_run_id_chain_runs"),
        ),
        sa.PrimaryKeyConstraint("chain_run_id", "node_name", name=op.f("pk_chain_run_nodes")),
    )
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_run_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("chain_node", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_objectives_chain_run_id",
        "objectives",
        ["chain_run_id"],
        sqlite_where=sa.text("chain_run_id IS NOT NULL"),
        postgresql_where=sa.text("chain_run_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_objectives_chain_run_id", table_name="objectives")
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.drop_column("chain_node")
        batch_op.drop_column("chain_run_id")
    op.drop_table("chain_run_nodes")
    op.drop_index("ix_chain_runs_chain_id_status", table_name="chain_runs")
    op.drop_index("ix_chain_runs_chain_id_id", table_name="chain_runs")
    op.drop_index("ix_chain_runs_workspace_id_id", table_name="chain_runs")
    op.drop_table("chain_runs")
    op.drop_index("ix_chains_workspace_id_id", table_name="chains")
    op.drop_table("chains")
