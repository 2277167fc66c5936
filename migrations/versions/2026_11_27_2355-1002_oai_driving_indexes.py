"""works: indexes (issn_l | centre_id | type, datestamp, id) for the OAI keyset walks of a subset

Revision ID: 1002
Revises: 1601
Create Date: 2026-11-27 23:55:00

A list of a journal's, a centre's or a type's set, or in a format for some types only (JATS),
walks the index of its own works instead of the datestamp index of every work
(repo.oai.queries.Membership). Each replaces the single-column index of the same leading column.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "1002"
down_revision: str | None = "1601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("issn_l", "centre_id", "type")


def upgrade() -> None:
    for column in _COLUMNS:
        op.create_index(f"ix_works_{column}_datestamp_id", "works", [column, "datestamp", "id"])
        op.drop_index(f"ix_works_{column}", table_name="works")


def downgrade() -> None:
    for column in _COLUMNS:
        op.create_index(f"ix_works_{column}", "works", [column])
        op.drop_index(f"ix_works_{column}_datestamp_id", table_name="works")
