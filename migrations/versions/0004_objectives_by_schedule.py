"""objectives: an index of each schedule's objectives by id, for its recent fires

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 04:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.create_index("ix_objectives_schedule_id_id", ["schedule_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.drop_index("ix_objectives_schedule_id_id")
