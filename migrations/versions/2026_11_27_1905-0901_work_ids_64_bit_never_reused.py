"""Work ids are 64-bit on PostgreSQL and never reused on SQLite (AUTOINCREMENT)

The API accepts work ids up to 2^63 - 1, but PostgreSQL stored them as 32-bit ``integer``: an id
past 2^31 - 1 failed in SQL (a 500) instead of being a 404. ``works.id``, its sequence and every
column that holds a work id become ``bigint``.

SQLite's INTEGER is 64-bit already, but without AUTOINCREMENT it gives a new row the highest id
plus one, so deleting the newest draft handed its id to the next work (a harvester or a citation
could then mix the two). The ``works`` table is rebuilt with AUTOINCREMENT, rows, indexes and
references intact (``migrations/env.py`` runs SQLite migrations with foreign keys off, as a
rebuild requires, and checks them afterwards).

Revision ID: 0901
Revises: 1101
Create Date: 2026-11-27 19:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0901"
down_revision: str | None = "1101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) holding a work id, besides works.id itself.
WORK_ID_COLUMNS = [("work_collections", "work_id"), ("files", "work_id"), ("revisions", "work_id"),
                   ("search_outbox", "work_id"), ("oai_records", "work_id"), ("oai_render_queue", "work_id")]


def _retype(type_: type[sa.types.TypeEngine[int]], sequence_type: str) -> None:
    op.alter_column("works", "id", type_=type_(), existing_nullable=False)
    op.execute(f"ALTER SEQUENCE IF EXISTS works_id_seq AS {sequence_type}")
    for table, column in WORK_ID_COLUMNS:
        op.alter_column(table, column, type_=type_(), existing_nullable=False)


def _rebuild_works(autoincrement: bool) -> None:
    with op.batch_alter_table("works", recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _retype(sa.BigInteger, "bigint")
    else:
        _rebuild_works(autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _retype(sa.Integer, "integer")
    else:
        _rebuild_works(autoincrement=False)
