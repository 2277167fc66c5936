"""works.issn_l (the journal sets and the JATS format) and works.main_file (the work's full text)

Revision ID: 1001
Revises: 1502
Create Date: 2026-11-27 20:40:00

The ISSN-L of every work with a host journal is backfilled from its metadata, and the journal
sets' counters (``oai_set_counts``, dimension ``journal``) are filled from it, as
repo.oai.tracking.recount does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1001"
down_revision: str | None = "1502"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ISSN = re.compile(r"\d{4}-\d{3}[\dX]")


def _linking_issn(doc: object) -> str | None:
    """The rule of repo.works.schemas.linking_issn as it stands at this revision (frozen here:
    a migration must not change meaning when the application code moves on)."""
    journal = doc.get("journal") if isinstance(doc, dict) else None
    if not isinstance(journal, dict):
        return None
    for key in ("issn_l", "issn", "eissn"):
        value = journal.get(key)
        if isinstance(value, str) and _ISSN.fullmatch(value):
            return value
    return None


def upgrade() -> None:
    with op.batch_alter_table("works") as batch:
        batch.add_column(sa.Column("issn_l", sa.String(length=9), nullable=True))
        batch.add_column(sa.Column("main_file", sa.String(length=1024), nullable=True))
    op.create_index("ix_works_issn_l", "works", ["issn_l"])
    # Backfill the ISSN-L of works that have a host journal, in batches of ids.
    connection = op.get_bind()
    works = sa.table("works", sa.column("id", sa.BigInteger), sa.column("metadata", sa.Text),
                     sa.column("issn_l", sa.String))
    text = sa.cast(works.c.metadata, sa.Text)
    last = 0
    while True:
        rows = connection.execute(
            sa.select(works.c.id, text.label("doc")).where(works.c.id > last, text.like('%"journal"%'))
            .order_by(works.c.id).limit(5000)
        ).all()
        if not rows:
            break
        updates = []
        for row in rows:
            doc = json.loads(row.doc) if isinstance(row.doc, str) else row.doc
            if issn_l := _linking_issn(doc):
                updates.append({"work_id": row.id, "issn_l": issn_l})
        if updates:
            connection.execute(works.update().where(works.c.id == sa.bindparam("work_id"))
                               .values(issn_l=sa.bindparam("issn_l")), updates)
        last = rows[-1].id
    op.execute(JOURNAL_COUNTS)


RECORD = "status IN ('published', 'withdrawn') AND issn_l IS NOT NULL"
JOURNAL_COUNTS = f"""
INSERT INTO oai_set_counts (dimension, key, type, count)
SELECT 'journal', issn_l, coalesce(type, ''), count(*) FROM works WHERE {RECORD} GROUP BY issn_l, coalesce(type, '')
UNION ALL
SELECT 'journal', '', coalesce(type, ''), count(*) FROM works WHERE {RECORD} GROUP BY coalesce(type, '')
"""


def downgrade() -> None:
    op.execute("DELETE FROM oai_set_counts WHERE dimension = 'journal'")
    op.drop_index("ix_works_issn_l", table_name="works")
    with op.batch_alter_table("works") as batch:
        batch.drop_column("main_file")
        batch.drop_column("issn_l")
