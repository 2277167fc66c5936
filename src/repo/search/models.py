"""The transactional outbox: a row per change that search must reflect, written with the change."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo.db import Base, BigId, UTCDateTime


class OutboxEntry(Base):
    __tablename__ = "search_outbox"
    __table_args__ = (sa.Index("ix_search_outbox_available_at_id", "available_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: an erased draft must still reach the index as a deletion.
    work_id: Mapped[int] = mapped_column(BigId, index=True)  # a work id is 64-bit (migration 0901)
    reason: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
