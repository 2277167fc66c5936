"""OAI render on write: valid_until on stored records, the render queue, the set counters

Revision ID: 1101
Revises: 0802
Create Date: 2026-11-27 18:00:00

Stored records made before this revision carry no ``valid_until`` and may show an embargo as
running after its end: they are dropped here (the renderer makes them again; until then requests
render those records themselves; ``repo oai render --all`` makes them all at once). The set
counters are filled here from the works (the same rule as repo.oai.tracking.recount, in SQL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repo.db

revision: str = "1101"
down_revision: str | None = "0802"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM oai_records")  # made without valid_until: they could outlive an embargo
    with op.batch_alter_table("oai_records") as batch:
        batch.add_column(sa.Column("valid_until", repo.db.UTCDateTime(), nullable=True))
    op.create_table(
        "oai_render_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", repo.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oai_render_queue")),
    )
    op.create_table(
        "oai_set_counts",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "key", "type", name=op.f("pk_oai_set_counts")),
    )


    op.execute(COUNT)


RECORD = "status IN ('published', 'withdrawn')"
COUNT = f"""
INSERT INTO oai_set_counts (dimension, key, type, count)
SELECT 'all', '', coalesce(type, ''), count(*) FROM works WHERE {RECORD} GROUP BY coalesce(type, '')
UNION ALL
SELECT 'centre', CAST(centre_id AS VARCHAR(32)), coalesce(type, ''), count(*) FROM works WHERE {RECORD}
GROUP BY centre_id, coalesce(type, '')
UNION ALL
SELECT 'type', '', type, count(*) FROM works WHERE {RECORD} AND type IS NOT NULL GROUP BY type
UNION ALL
SELECT 'type', type, type, count(*) FROM works WHERE {RECORD} AND type IS NOT NULL GROUP BY type
UNION ALL
SELECT 'open', '', coalesce(type, ''), count(*) FROM works WHERE {RECORD} AND (status = 'withdrawn'
  OR access_right = 'open' OR (access_right = 'embargoed' AND embargo_end IS NOT NULL AND NOT embargo_pending))
GROUP BY coalesce(type, '')
UNION ALL
SELECT 'collection', '', coalesce(type, ''), count(*) FROM works
WHERE {RECORD} AND id IN (SELECT work_id FROM work_collections) GROUP BY coalesce(type, '')
UNION ALL
SELECT 'collection', a.path, coalesce(w.type, ''), count(DISTINCT w.id)
FROM work_collections AS wc JOIN works AS w ON w.id = wc.work_id
JOIN collections AS f ON f.id = wc.collection_id
JOIN collections AS a ON f.path = a.path OR substr(f.path, 1, length(a.path) + 1) = a.path || ':'
WHERE w.{RECORD} GROUP BY a.path, coalesce(w.type, '')
"""


def downgrade() -> None:
    op.drop_table("oai_set_counts")
    op.drop_table("oai_render_queue")
    with op.batch_alter_table("oai_records") as batch:
        batch.drop_column("valid_until")
