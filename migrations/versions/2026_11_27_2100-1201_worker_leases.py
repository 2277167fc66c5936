"""worker_leases (job leases), files.text_claimed_until (extraction claims), web_aggregates

Revision ID: 1201
Revises: 1001
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import repo.db

revision: str = "1201"
down_revision: str | None = "1001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_leases",
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("expires_at", repo.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_worker_leases")),
    )
    op.create_table(
        "web_aggregates",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=500), nullable=False),
        sa.Column("value", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.Column("computed_at", repo.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_web_aggregates")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_claimed_until", repo.db.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_files_text_state_id", ["text_state", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_text_state_id")
        batch_op.drop_column("text_claimed_until")
    op.drop_table("web_aggregates")
    op.drop_table("worker_leases")
