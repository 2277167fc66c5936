"""files.embargo_pending: a file's own embargo end moves its work's OAI datestamp

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-21 05:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("embargo_pending", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_files_embargo_pending_embargo_end", ["embargo_pending", "embargo_end"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_embargo_pending_embargo_end")
        batch_op.drop_column("embargo_pending")
