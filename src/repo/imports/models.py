"""What an import keeps in SQL: the import itself (its file, options, position and counters, so a
crashed import resumes where its last batch committed) and its report (one row per problem)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from repo.centres.models import Collection, MemberCentre
from repo.db import Base, BigId, JSONDocument, UTCDateTime

#: The counters of an import, in the order they are shown.
COUNTERS = ("seen", "created", "updated", "unchanged", "linked", "skipped", "failed")


class Import(Base):
    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("member_centres.id", ondelete="RESTRICT"), index=True)
    collection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collections.id", ondelete="RESTRICT"))
    format: Mapped[str] = mapped_column(sa.String(16))  # csv | jsonl | bibtex | ris
    filename: Mapped[str] = mapped_column(sa.String(500))  # as given (shown only)
    stored: Mapped[str] = mapped_column(sa.String(500))  # our copy, under <data dir>/imports
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    encoding: Mapped[str | None] = mapped_column(sa.String(32))  # as read (detected or given)
    note: Mapped[str | None] = mapped_column(sa.Text)  # how the file was read (an encoding guessed…)
    publish: Mapped[bool] = mapped_column(sa.Boolean)
    dry_run: Mapped[bool] = mapped_column(sa.Boolean)
    files_dir: Mapped[str | None] = mapped_column(sa.Text)
    # Who started it: the import runs with that principal's rights.
    actor: Mapped[str] = mapped_column(sa.String(200))
    actor_role: Mapped[str] = mapped_column(sa.String(16))
    actor_centres: Mapped[list[int]] = mapped_column(JSONDocument)
    token_id: Mapped[int | None] = mapped_column(sa.Integer)
    # queued | running | succeeded | failed
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    owner: Mapped[str | None] = mapped_column(sa.String(200))  # host:pid of the process running it
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Position: records read and applied (committed), and the byte offset after the last of them.
    rows: Mapped[int] = mapped_column(sa.Integer, default=0)
    offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    seen: Mapped[int] = mapped_column(sa.Integer, default=0)
    created: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated: Mapped[int] = mapped_column(sa.Integer, default=0)
    unchanged: Mapped[int] = mapped_column(sa.Integer, default=0)
    linked: Mapped[int] = mapped_column(sa.Integer, default=0)
    skipped: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)  # why the whole import failed

    centre: Mapped[MemberCentre] = relationship(lazy="joined")
    collection: Mapped[Collection | None] = relationship(lazy="joined")

    @property
    def feed(self) -> str:
        """The key of imported records in :class:`~repo.ingest.models.IngestRecord`: external ids are
        one namespace per centre (an editor's ids never reach another centre's works)."""
        return f"import:{self.centre_id}"

    def counters(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COUNTERS}


class ImportProblem(Base):
    """One line of an import's report: a row that failed (one line per field at fault), was
    linked to an existing work rather than duplicated, or was skipped."""

    __tablename__ = "import_problems"
    __table_args__ = (sa.Index("ix_import_problems_import_id_id", "import_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("imports.id", ondelete="CASCADE"))
    row: Mapped[int | None] = mapped_column(sa.Integer)
    external_id: Mapped[str | None] = mapped_column(sa.String(1000))
    kind: Mapped[str] = mapped_column(sa.String(16))  # failed | duplicate | skipped | note
    field: Mapped[str | None] = mapped_column(sa.String(500))
    message: Mapped[str] = mapped_column(sa.Text)
    work_id: Mapped[int | None] = mapped_column(BigId)
