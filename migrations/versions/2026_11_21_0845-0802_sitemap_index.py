"""ix_works_status_id_updated_at: the sitemap blocks (last change per id block) from the index alone

Revision ID: 0802
Revises: 0801
Create Date: 2026-11-21 08:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0802"
down_revision: str | None = "0801"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_works_status_id_updated_at", "works", ["status", "id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_works_status_id_updated_at", table_name="works")
