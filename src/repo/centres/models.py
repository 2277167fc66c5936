"""Member centres and their (hierarchical) collections."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from repo.db import Base, UTCDateTime


class MemberCentre(Base):
    __tablename__ = "member_centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    ror: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Collection(Base):
    """A collection; ``path`` is the colon-joined slugs from the root (its OAI setSpec tail)."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    path: Mapped[str] = mapped_column(sa.String(1000), unique=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str | None] = mapped_column(sa.Text)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collections.id", ondelete="RESTRICT"), index=True)
    centre_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member_centres.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    parent: Mapped[Collection | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)
    centre: Mapped["MemberCentre | None"] = relationship(lazy="joined")
