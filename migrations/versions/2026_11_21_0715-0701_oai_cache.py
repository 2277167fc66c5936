"""oai_records: the OAI-PMH dissemination cache (serialized records as of datestamp and version)

Revision ID: 0701
Revises: 0601
Create Date: 2026-11-21 07:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repo.db

revision: str = "0701"
down_revision: str | None = "0601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oai_records",
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("datestamp", repo.db.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], name=op.f("fk_oai_records_work_id_works"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("work_id", "prefix", name=op.f("pk_oai_records")),
    )


def downgrade() -> None:
    op.drop_table("oai_records")
