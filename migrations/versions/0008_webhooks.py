"""webhooks, the deliveries outbox, and a PUSH agent's signing secret

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sundial.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sundial.store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("push_secret", sa.String(length=128), nullable=False, server_default="")
        )
    op.create_table(
        "webhooks",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("disabled_reason", sa.String(length=512), nullable=False),
        _time("disabled_at", nullable=True),
        _time("last_success_at", nullable=True),
        _time("failing_since", nullable=True),
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
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_webhooks_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index("ix_webhooks_workspace_id_id", "webhooks", ["workspace_id", "id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("webhook_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("objective_id", sa.String(length=40), nullable=False),
        sa.Column("schedule_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("body", _JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_http_status", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=4096), nullable=False),
        _time("next_attempt_at", nullable=True),
        _time("window_started_at", nullable=False),
        _time("last_attempt_at", nullable=True),
        _time("delivered_at", nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index("ix_deliveries_webhook_id_id", "deliveries", ["webhook_id", "id"])
    op.create_index("ix_deliveries_workspace_id_id", "deliveries", ["workspace_id", "id"])
    op.create_index(
        "ix_deliveries_next_attempt_at",
        "deliveries",
        ["next_attempt_at"],
        sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
        postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_next_attempt_at", table_name="deliveries")
    op.drop_index("ix_deliveries_workspace_id_id", table_name="deliveries")
    op.drop_index("ix_deliveries_webhook_id_id", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_webhooks_workspace_id_id", table_name="webhooks")
    op.drop_table("webhooks")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("push_secret")
