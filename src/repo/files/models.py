"""Files attached to works; bytes live in content-addressed storage under the data directory."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo.db import Base, UTCDateTime


class File(Base):
    __tablename__ = "files"
    __table_args__ = (
        sa.UniqueConstraint("work_id", "name"),
        sa.Index("ix_files_embargo_pending_embargo_end", "embargo_pending", "embargo_end"),
        # Reading room (migration 1501): the newest file change is part of the pages' validator.
        sa.Index("ix_files_updated_at", "updated_at"),
        sa.Index("ix_files_text_state_id", "text_state", "id"),  # the extraction queue (worker)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(sa.ForeignKey("works.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(1024))
    media_type: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    md5: Mapped[str] = mapped_column(sa.String(32))
    # Own access right overriding the work's (None: follow the work).
    access_right: Mapped[str | None] = mapped_column(sa.String(16))
    embargo_end: Mapped[date | None] = mapped_column(sa.Date)
    # True while the file's own embargo has not ended (see service.lift_file_embargoes): its end
    # changes what harvesters receive (a file link appears), so the work's datestamp must move.
    embargo_pending: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # Extraction: pending, done, failed, skipped.
    text_state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    text_error: Mapped[str | None] = mapped_column(sa.Text)
    text: Mapped[str | None] = mapped_column(sa.Text)
    has_thumbnail: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # A worker extracting this file's text holds it until then (repo.files.extraction.claim).
    text_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
