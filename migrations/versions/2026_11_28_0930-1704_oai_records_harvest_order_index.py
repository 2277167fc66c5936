"""oai_records: an index in the order harvests read the stored records, (prefix, datestamp, work_id)

Revision ID: 1704
Revises: 1702
Create Date: 2026-11-28 09:30:00

A list page joins each work of its walk to its stored entry. Through the primary key (work_id,
prefix) those lookups fall all over that index in datestamp order: from a cold page cache, a
random read every few records. Through this index they follow it in sequence, as they follow the
table itself since 1702 (the join compares the entry's datestamp with the work's: the lookup is
an equality on all three columns).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "1704"
down_revision: str | None = "1702"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_oai_records_prefix_datestamp_work_id", "oai_records", ["prefix", "datestamp", "work_id"])


def downgrade() -> None:
    op.drop_index("ix_oai_records_prefix_datestamp_work_id", table_name="oai_records")
