"""The dissemination cache: a record's serialized ``<record>`` as of its datestamp and version.

An entry is only ever *used* when its ``datestamp``, ``version`` and ``variant`` equal the work's
current datestamp, the work's current version and the running code's variant (see
:mod:`repo.oai.cache`), so an entry that is out of date is never served: it is simply not fresh,
and is rendered again and overwritten. Entries go with their work (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo.db import Base, UTCDateTime


class CachedRecord(Base):
    __tablename__ = "oai_records"

    work_id: Mapped[int] = mapped_column(sa.ForeignKey("works.id", ondelete="CASCADE"), primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    datestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer)
    variant: Mapped[str] = mapped_column(sa.String(32))  # settings and code the bytes were made with
    xml: Mapped[bytes] = mapped_column(sa.LargeBinary)
