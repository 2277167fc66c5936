"""ix_files_updated_at: the newest file change (an extraction adds a thumbnail) in one index lookup,
for the reading room's page validators (ETag)

Revision ID: 1501
Revises: 1301
Create Date: 2026-11-27 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "1501"
down_revision: str | None = "1301"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_files_updated_at", "files", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_files_updated_at", table_name="files")
