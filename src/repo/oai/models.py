"""OAI-PMH tables: rendered records, the render queue, and the set counters.

* ``oai_records``: a record's serialized ``<record>`` in one format, as of the work's datestamp
  and version, made by the code and settings of ``variant`` and valid until ``valid_until`` (the
  next moment the clock alone changes what it says: an embargo's end). It is only ever *used*
  when all four still hold (:func:`repo.oai.cache.fresh`), so an entry that is out of date is
  never served; it goes with its work (``ON DELETE CASCADE``).
* ``oai_render_queue``: one row per change of a record, written in the change's transaction
  (:mod:`repo.oai.tracking`); the renderer (:mod:`repo.oai.render`) renders the work's current
  state and deletes the rows it read.
* ``oai_set_counts``: how many records each set holds, per work type, kept exact in the
  transaction of every change (:mod:`repo.oai.tracking`): ``completeListSize`` without a count.
* ``oai_generation``: one row, one number, raised by the commit of every transaction that changes
  a record (:mod:`repo.oai.tracking`): a list page made ahead of its request is served only while
  the number is the one its own query read (:mod:`repo.oai.readahead`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo.db import Base, BigId, UTCDateTime


class CachedRecord(Base):
    __tablename__ = "oai_records"
    # A list page's lookups of its works' entries, in the order harvests read them (migration 1704).
    __table_args__ = (sa.Index("ix_oai_records_prefix_datestamp_work_id", "prefix", "datestamp", "work_id"),)

    work_id: Mapped[int] = mapped_column(sa.ForeignKey("works.id", ondelete="CASCADE"), primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    datestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer)
    variant: Mapped[str] = mapped_column(sa.String(32))  # settings and code the bytes were made with
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: until the work changes
    xml: Mapped[bytes] = mapped_column(sa.LargeBinary)


class RenderRequest(Base):
    __tablename__ = "oai_render_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the row must not hold up (or go with) a work erased meanwhile.
    work_id: Mapped[int] = mapped_column(BigId)  # a work id is 64-bit (migration 0901)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SetCount(Base):
    """Records (published or withdrawn works) under one counting key, per work type: ``("all", "")``,
    ``("centre", "<centre id>")``, ``("collection", "")`` and ``("collection", "<path>")`` (a
    collection counts its whole subtree, each work once), ``("type", "")``, ``("type", "<type>")``
    and ``("open", "")`` (the ``openaire`` and ``driver`` sets). See :func:`repo.oai.sets.count_keys`."""

    __tablename__ = "oai_set_counts"

    dimension: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(1000), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # "" for a work without type
    count: Mapped[int] = mapped_column(sa.Integer)


class Generation(Base):
    """The one row (``id`` 1) of ``oai_generation``: see the module's docstring."""

    __tablename__ = "oai_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(sa.BigInteger)
