"""browse_counts: counter rows of the reading room's browse counts, filled from the works

Revision ID: 0801
Revises: 0701
Create Date: 2026-11-21 08:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0801"
down_revision: str | None = "0701"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The counts as of this revision (repo.works.counts keeps them from here on). Plain SQL, so the
# migration does not depend on models that may change later. Slugs hold no LIKE wildcards.
FILL = [
    "INSERT INTO browse_counts (dimension, key, count) "
    "SELECT 'total', '', count(*) FROM works WHERE status = 'published' HAVING count(*) > 0",
    "INSERT INTO browse_counts (dimension, key, count) "
    "SELECT 'type', type, count(*) FROM works WHERE status = 'published' AND type IS NOT NULL GROUP BY type",
    "INSERT INTO browse_counts (dimension, key, count) "
    "SELECT 'year', CAST(publication_year AS VARCHAR(12)), count(*) FROM works "
    "WHERE status = 'published' AND publication_year IS NOT NULL GROUP BY publication_year",
    "INSERT INTO browse_counts (dimension, key, count) "
    "SELECT 'centre', CAST(centre_id AS VARCHAR(12)), count(*) FROM works WHERE status = 'published' "
    "GROUP BY centre_id",
    "INSERT INTO browse_counts (dimension, key, count) "
    "SELECT 'collection', a.path, count(DISTINCT wc.work_id) FROM work_collections wc "
    "JOIN works w ON w.id = wc.work_id JOIN collections c ON c.id = wc.collection_id "
    "JOIN collections a ON (c.path = a.path OR c.path LIKE a.path || ':%') "
    "WHERE w.status = 'published' GROUP BY a.path",
]


def upgrade() -> None:
    op.create_table(
        "browse_counts",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "key", name=op.f("pk_browse_counts")),
    )
    for statement in FILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("browse_counts")
