"""Aggregates of the reading room computed by the worker and shared by every web process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo.db import Base, JSONDocument, UTCDateTime


class StoredAggregate(Base):
    """The value of aggregate ``name`` for data version ``version`` (see :mod:`repo.web.cache`)."""

    __tablename__ = "web_aggregates"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(500))
    value: Mapped[Any] = mapped_column(JSONDocument)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
