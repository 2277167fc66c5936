"""What ingest keeps in SQL: harvest sources and their runs, the link from each incoming record
to the work it became, the problems each run met, and the identifier index duplicates are
matched against.

* :class:`HarvestSource` — one OAI-PMH endpoint (base URL, set, metadata prefix) harvested into
  a member centre (and optionally a collection), with what Identify said about it and its
  *watermark*: the source's time at which the last successful run began.
* :class:`HarvestRun` — one run, with its window, its position (the last resumption token, the
  current window) committed with every page, so a crashed run resumes where it was; and its
  counters, so ``repo harvest show`` and the admin API can tell what happened.
* :class:`IngestRecord` — one incoming record (``feed`` + ``external_id``: for a harvest the
  source and the OAI identifier) and the work it made (``role="owner"``) or was found to
  duplicate (``role="duplicate"``). Any channel (harvest, and later file imports) uses it.
* :class:`IngestProblem` — a failed, skipped, duplicate or missing record: what and why.
* :class:`WorkIdentifier` — DOI, handle and ISBN of every work (kept by a flush listener in
  :mod:`repo.ingest.matching`), so a duplicate is found by an index lookup.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from repo.centres.models import Collection, MemberCentre
from repo.db import Base, BigId, UTCDateTime


class HarvestSource(Base):
    __tablename__ = "harvest_sources"
    __table_args__ = (sa.UniqueConstraint("base_url", "set_spec", "metadata_prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    base_url: Mapped[str] = mapped_column(sa.String(2000))
    set_spec: Mapped[str | None] = mapped_column(sa.String(500))
    metadata_prefix: Mapped[str] = mapped_column(sa.String(64))
    metadata_namespace: Mapped[str] = mapped_column(sa.String(500))
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("member_centres.id", ondelete="RESTRICT"), index=True)
    collection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collections.id", ondelete="RESTRICT"))
    every_seconds: Mapped[int | None] = mapped_column(sa.Integer)  # None: only when asked
    status: Mapped[str] = mapped_column(sa.String(16))  # active | paused
    # What Identify said (OAI-PMH §4.2), refreshed at every run.
    repository_name: Mapped[str] = mapped_column(sa.String(500))
    granularity: Mapped[str] = mapped_column(sa.String(32))  # YYYY-MM-DD | YYYY-MM-DDThh:mm:ssZ
    deleted_record: Mapped[str] = mapped_column(sa.String(16))  # no | transient | persistent
    earliest_datestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The source's time at which the last successful run began: the next run's `from` (minus the overlap).
    harvested_through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_run_id: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    centre: Mapped[MemberCentre] = relationship(lazy="joined")
    collection: Mapped[Collection | None] = relationship(lazy="joined")

    @property
    def feed(self) -> str:
        """The key of this source's records in :class:`IngestRecord`."""
        return f"oai:{self.id}"


#: The counters of a run, in the order they are shown.
COUNTERS = ("seen", "created", "updated", "unchanged", "withdrawn", "linked", "skipped", "failed", "missing")


class HarvestRun(Base):
    __tablename__ = "harvest_runs"
    __table_args__ = (sa.Index("ix_harvest_runs_source_id_id", "source_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("harvest_sources.id", ondelete="CASCADE"))
    full: Mapped[bool] = mapped_column(sa.Boolean)
    # running | succeeded | failed (resumable: the next run goes on from its position) | abandoned
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str] = mapped_column(sa.String(200))  # host:pid of the process running it
    attempts: Mapped[int] = mapped_column(sa.Integer)  # 1 + times it was resumed
    # The range the run covers (source time, inclusive), fixed when it starts; `until` None: open.
    range_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    range_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Position: the current window and the token of its next page (None: the window's first page).
    window_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token: Mapped[str | None] = mapped_column(sa.Text)
    source_time: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first responseDate of the run
    pages: Mapped[int] = mapped_column(sa.Integer, default=0)
    bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    window_restarts: Mapped[int] = mapped_column(sa.Integer, default=0)
    seen: Mapped[int] = mapped_column(sa.Integer, default=0)
    created: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated: Mapped[int] = mapped_column(sa.Integer, default=0)
    unchanged: Mapped[int] = mapped_column(sa.Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(sa.Integer, default=0)
    linked: Mapped[int] = mapped_column(sa.Integer, default=0)
    skipped: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    missing: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    source: Mapped[HarvestSource] = relationship()


class IngestRecord(Base):
    __tablename__ = "ingest_records"
    __table_args__ = (sa.UniqueConstraint("feed", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed: Mapped[str] = mapped_column(sa.String(64))  # "oai:<source id>", later "import:<…>"
    external_id: Mapped[str] = mapped_column(sa.String(1000))
    work_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("works.id", ondelete="SET NULL"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))  # owner | duplicate
    deleted: Mapped[bool] = mapped_column(sa.Boolean)  # deleted at the source
    datestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the source's, last seen
    digest: Mapped[str | None] = mapped_column(sa.String(64))  # of the mapped record last applied
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_id: Mapped[int | None] = mapped_column(sa.Integer)


class IngestProblem(Base):
    __tablename__ = "ingest_problems"
    __table_args__ = (sa.Index("ix_ingest_problems_run_id_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("harvest_runs.id", ondelete="CASCADE"))
    feed: Mapped[str] = mapped_column(sa.String(64))
    external_id: Mapped[str | None] = mapped_column(sa.String(1000))
    kind: Mapped[str] = mapped_column(sa.String(16))  # failed | skipped | duplicate | missing | unmapped
    reason: Mapped[str] = mapped_column(sa.Text)
    work_id: Mapped[int | None] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkIdentifier(Base):
    """One persistent identifier of a work, normalised (DOI and handle lower case, ISBN-13)."""

    __tablename__ = "work_identifiers"
    __table_args__ = (sa.Index("ix_work_identifiers_scheme_value", "scheme", "value"),)

    # an index row follows its work, even when the work's id changes
    work_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("works.id", ondelete="CASCADE", onupdate="CASCADE"),
                                         primary_key=True)
    scheme: Mapped[str] = mapped_column(sa.String(16), primary_key=True)  # doi | handle | isbn
    value: Mapped[str] = mapped_column(sa.String(500), primary_key=True)
