"""works: covering indexes for the reading room (latest works, listings, browse counts)

With 100,000 works each of these was a scan of the table's large rows (the metadata document);
from the index alone they take a few milliseconds: latest works and feeds ordered by
``published_at``, a centre's works by page, and the counts by type, year and centre.

Revision ID: 0601
Revises: 0003
Create Date: 2026-11-21 06:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0601"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.create_index("ix_works_status_published_at_id", ["status", "published_at", "id"], unique=False)
        batch_op.create_index("ix_works_status_centre_id_published_at_id",
                              ["status", "centre_id", "published_at", "id"], unique=False)
        batch_op.create_index("ix_works_status_type", ["status", "type"], unique=False)
        batch_op.create_index("ix_works_status_publication_year", ["status", "publication_year"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.drop_index("ix_works_status_publication_year")
        batch_op.drop_index("ix_works_status_type")
        batch_op.drop_index("ix_works_status_centre_id_published_at_id")
        batch_op.drop_index("ix_works_status_published_at_id")
