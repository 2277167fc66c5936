"""works(status, datestamp): OAI-PMH counts a list's completeListSize from an index alone

Revision ID: 0003
Revises: 0005
Create Date: 2026-11-21 06:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.create_index("ix_works_status_datestamp", ["status", "datestamp"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.drop_index("ix_works_status_datestamp")
