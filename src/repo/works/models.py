"""Works, their collection memberships and their revisions.

Columns are promoted for what SQL filters or orders on; the descriptive metadata is one JSON
document validated by :class:`repo.works.schemas.Metadata`. ``datestamp`` is the OAI-PMH
datestamp: the last time what a harvester receives changed (indexed with ``id`` for keyset paging).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from repo.centres.models import Collection, MemberCentre
from repo.db import Base, BigId, JSONDocument, UTCDateTime

work_collections = sa.Table(
    "work_collections",
    Base.metadata,
    sa.Column("work_id", sa.ForeignKey("works.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("collection_id", sa.ForeignKey("collections.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Work(Base):
    __tablename__ = "works"
    __table_args__ = (
        # OAI lists of the whole repository: the keyset walk checks the status and joins the stored
        # entry on the version from the index alone (migration 1702).
        sa.Index("ix_works_datestamp_id_status_version", "datestamp", "id", "status", "version"),
        # OAI lists of a journal, a centre, a type, of the works in a journal (JATS) or a format for
        # some types only: keyset walks over their own works (repo.oai.queries.Membership, 1002).
        sa.Index("ix_works_issn_l_datestamp_id", "issn_l", "datestamp", "id"),
        sa.Index("ix_works_centre_id_datestamp_id", "centre_id", "datestamp", "id"),
        sa.Index("ix_works_type_datestamp_id", "type", "datestamp", "id"),
        # The works in a journal (JATS): the walk reads the index alone (1801).
        sa.Index("ix_works_in_journal_datestamp_id_status_type_version_issn_l", "datestamp", "id", "status", "type",
                 "version", "issn_l", sqlite_where=sa.text("issn_l IS NOT NULL"),
                 postgresql_where=sa.text("issn_l IS NOT NULL")),
        # OAI completeListSize: a covering count of records in a datestamp window.
        sa.Index("ix_works_status_datestamp", "status", "datestamp"),
        sa.Index("ix_works_updated_at_id", "updated_at", "id"),
        sa.Index("ix_works_embargo_pending_embargo_end", "embargo_pending", "embargo_end"),
        # Reading room (migration 0601): latest works, listings and browse counts from the index alone.
        sa.Index("ix_works_status_published_at_id", "status", "published_at", "id"),
        sa.Index("ix_works_status_centre_id_published_at_id", "status", "centre_id", "published_at", "id"),
        sa.Index("ix_works_status_type", "status", "type"),
        sa.Index("ix_works_status_publication_year", "status", "publication_year"),
        # Sitemap blocks (migration 0802): the last change per id block of public works, index-only.
        sa.Index("ix_works_status_id_updated_at", "status", "id", "updated_at"),
        # Ids are never reused, even after the newest draft is deleted (migration 0901).
        {"sqlite_autoincrement": True},
    )

    # 64-bit (the API accepts ids up to 2^63 - 1); columns with a foreign key to it take its type.
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # active_history: the browse counts (counts.py) need the value a change replaces.
    status: Mapped[str] = mapped_column(sa.String(16), index=True, active_history=True)
    type: Mapped[str | None] = mapped_column(sa.String(32), active_history=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("member_centres.id", ondelete="RESTRICT"),
                                           active_history=True)
    # active_history here too: the OAI open sets' counters (repo.oai.tracking) need the old values.
    access_right: Mapped[str | None] = mapped_column(sa.String(16), active_history=True)
    embargo_end: Mapped[date | None] = mapped_column(sa.Date, active_history=True)
    # True while the stored datestamp predates the embargo's end (see service.lift_embargoes).
    embargo_pending: Mapped[bool] = mapped_column(sa.Boolean, default=False, active_history=True)
    publication_year: Mapped[int | None] = mapped_column(sa.Integer, index=True, active_history=True)
    # The host journal's ISSN-L (schemas.linking_issn): the OAI set journal:<ISSN-L>, and whether
    # the JATS format applies (migration 1001).
    issn_l: Mapped[str | None] = mapped_column(sa.String(9), active_history=True)
    # The name of the work's main file (its full text), when the editor chose one (migration 1001).
    main_file: Mapped[str | None] = mapped_column(sa.String(1024))
    doc: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument, active_history=True)  # authors, subjects
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.Text)
    datestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the record came from when not from the deposit API (a harvest: base URL, OAI
    # identifier, datestamp, prefix, harvest time; see repo.ingest). Such a work is read-only here.
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)

    centre: Mapped[MemberCentre] = relationship(lazy="joined")
    collections: Mapped[list[Collection]] = relationship(
        secondary=work_collections, lazy="selectin", order_by=Collection.path
    )


class Revision(Base):
    """One change of a work: who, when, what (a list of changed paths with old and new values)."""

    __tablename__ = "revisions"
    __table_args__ = (sa.UniqueConstraint("work_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(sa.ForeignKey("works.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(sa.Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(32))
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)


class BrowseCount(Base):
    """How many public works carry one browse key: ``("total", "")``, ``("type", t)``,
    ``("year", "2024")``, ``("centre", "<centre id>")``, ``("collection", "<path>")`` (a collection
    counts the works of its whole subtree, each once), or an author or subject under its initial
    (``("author:g", "gohn, maria da gloria\x1fGohn, Maria da Glória")``, see ``counts.terms``). Kept exact by :mod:`repo.works.counts` in
    the transaction of every change."""

    __tablename__ = "browse_counts"

    dimension: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(1000), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer)


from repo.works import counts as _counts  # noqa: E402,F401  (registers the flush listener)
from repo.oai import tracking as _oai_tracking  # noqa: E402,F401  (OAI set counters and render queue)
from repo.ingest import matching as _matching  # noqa: E402,F401  (keeps the identifier index of duplicates)
