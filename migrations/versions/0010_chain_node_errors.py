"""chain run nodes keep the run-time errors of their incoming edges

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chain_run_nodes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("error", sa.String(length=4096), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("chain_run_nodes", schema=None) as batch_op:
        batch_op.drop_column("error")
