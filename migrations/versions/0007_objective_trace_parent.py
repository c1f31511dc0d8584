"""objectives.trace_parent: the W3C traceparent of the span that made an objective

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trace_parent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.drop_column("trace_parent")
