"""oai_generation: one counter, raised by every transaction that changes a record

Revision ID: 1701
Revises: 1002
Create Date: 2026-11-28 06:00:00

A page of a list made ahead of its request (repo.oai.readahead) is served only while this number
is the one its own query read: no change of a record was committed in between.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1701"
down_revision: str | None = "1002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "oai_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oai_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("oai_generation")
