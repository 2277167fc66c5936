"""Pictures already stored get a derived thumbnail: their extraction is queued again

Until this revision a picture (JPEG, PNG, GIF, WebP, TIFF) was ``skipped`` by extraction and lists
showed it as its own thumbnail only when it was at most 1 MiB. Extraction now derives a small WebP
from every picture; setting the stored ones back to ``pending`` lets the worker (``files.extract``)
or ``repo files extract`` make theirs. No column changes.

Revision ID: 1503
Revises: 1601
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1503"
down_revision: str | None = "1601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The picture types as of this revision (repo.files.extraction.PICTURES), copied.
PICTURES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff")

files = sa.table("files", sa.column("media_type", sa.String), sa.column("text_state", sa.String),
                 sa.column("has_thumbnail", sa.Boolean))


def upgrade() -> None:
    op.execute(files.update()
               .where(files.c.media_type.in_(PICTURES), files.c.text_state == "skipped",
                      files.c.has_thumbnail == sa.false())
               .values(text_state="pending"))


def downgrade() -> None:
    # What is still queued goes back to being skipped; thumbnails already made stay (harmless).
    op.execute(files.update()
               .where(files.c.media_type.in_(PICTURES), files.c.text_state == "pending")
               .values(text_state="skipped"))
