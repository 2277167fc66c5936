"""Job leases: one row per job that must not run in two processes at once."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo.db import Base, UTCDateTime


class Lease(Base):
    """Who runs ``job`` now, and until when: a holder that stops renewing loses it at ``expires_at``.

    ``holder`` is NULL when nobody holds the lease (released after each run of the job).
    """

    __tablename__ = "worker_leases"

    job: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
