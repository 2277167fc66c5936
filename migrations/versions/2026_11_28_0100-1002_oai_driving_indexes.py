"""works: indexes (issn_l | centre_id | type, datestamp, id) and (datestamp, id) of the works in a journal, for the OAI keyset walks of a subset

Revision ID: 1002
Revises: 1503
Create Date: 2026-11-28 01:00:00

A list of a journal's, a centre's or a type's set, in a format for the works in a journal (JATS)
or for some types only, walks the index of its own works instead of the datestamp index of every
work (repo.oai.queries.Membership). The three composite indexes replace the single-column index
of the same leading column; the journal works' index is partial (issn_l IS NOT NULL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1002"
down_revision: str | None = "1503"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("issn_l", "centre_id", "type")


def upgrade() -> None:
    for column in _COLUMNS:
        op.create_index(f"ix_works_{column}_datestamp_id", "works", [column, "datestamp", "id"])
        op.drop_index(f"ix_works_{column}", table_name="works")
    in_journal = sa.text("issn_l IS NOT NULL")
    op.create_index("ix_works_in_journal_datestamp_id", "works", ["datestamp", "id"], sqlite_where=in_journal,
                    postgresql_where=in_journal)


def downgrade() -> None:
    op.drop_index("ix_works_in_journal_datestamp_id", table_name="works")
    for column in _COLUMNS:
        op.create_index(f"ix_works_{column}", "works", [column])
        op.drop_index(f"ix_works_{column}_datestamp_id", table_name="works")
