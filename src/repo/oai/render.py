"""Render on write: every record's bytes in every format it applies to, made when its work changes.

Harvests stream stored bytes (:mod:`repo.oai.cache`); this module makes them, off the request path:

* **after a change**: the change's transaction queues the work (``oai_render_queue``, written by
  :mod:`repo.oai.tracking`'s flush listener). :func:`render_pending` renders one bounded batch of
  queued works in their *current* state, stores the bytes and deletes only the queue rows it read,
  so a change committed meanwhile is rendered by the next batch. The background renderer
  (:mod:`repo.oai.jobs`) runs it after every commit, like the search indexer.
* **after a deploy or a settings change** (a new variant: every entry stale at once):
  :func:`render_all` walks every record and renders those without fresh bytes (``repo oai render
  --all``, with a progress bar; stopping and starting again resumes, as fresh records are skipped).
* **after a bulk load** (``repo demo --synthetic``): the same walk, so the first harvest is
  served from stored bytes.

Until the renderer has caught up, a request that meets a stale or missing entry renders that
record itself and stores nothing: a harvest never writes and never serves stale bytes.

The clock changes records too: an embargo that ends (the work's, or a file's own) changes the
access terms, the files listed and the open sets. Bytes are therefore stored with ``valid_until``,
the first such moment after they were made (:func:`valid_until`), and are not served from then on;
the lift of that embargo bumps the datestamp and queues the work again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from lxml import etree
from sqlalchemy.orm import Session

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database, UTCDateTime
from repo.oai import cache, envelope, provenance, records, sets
from repo.oai.formats import REGISTRY
from repo.oai.formats.base import MetadataFormat
from repo.oai.models import CachedRecord, RenderRequest
from repo.oai.records import Disseminated, RenderContext
from repo.works import visibility
from repo.works.models import Work

#: Queued works rendered per batch (a batch is one short transaction).
BATCH = 200


def record(work: Disseminated, fmt: MetadataFormat | None, context: RenderContext) -> etree._Element:
    """``<record>``: the header, then ``<metadata>`` unless deleted (§2.5, no comment before the
    payload root: sickle and scythe read its first child), then the provenance ``<about>`` of a
    harvested work (stored with the rest of the bytes)."""
    element = envelope.oai("record")
    element.append(records.header(work, context, sets.specs(work, context.now)))
    if not work.deleted and fmt is not None:
        envelope.oai("metadata", parent=element).append(fmt.to_element(work, context))
        if (about := provenance.about(work.origin)) is not None:
            element.append(about)
    return element


def serialize(work: Disseminated, fmt: MetadataFormat, context: RenderContext) -> bytes:
    """The bytes of a ``<record>`` as they are stored and spliced into responses."""
    data: bytes = etree.tostring(record(work, fmt, context), encoding="UTF-8", xml_declaration=False)
    return data


def valid_until(work: Disseminated, now: datetime) -> datetime | None:
    """The first moment after ``now`` at which the clock alone changes this record: the end of
    the work's embargo or of a file's own (``None``: only a change of the work will)."""
    if work.deleted:
        return None  # a deleted header does not depend on the time
    rights = [(work.access_right, work.embargo_end)]
    rights += [(file.access_right, file.embargo_end) for file in work.files if file.access_right is not None]
    moments = [start for access, end in rights
               if (start := visibility.opens_at(access, end)) is not None and start > now]
    return min(moments, default=None)


def render_works(session: Session | sa.Connection, work_ids: Sequence[int], settings: Settings,
                 now: datetime) -> list[dict[str, Any]]:
    """The stored entries (``oai_records`` rows) of ``work_ids``' records in every format that
    applies, rendered as of ``now`` from their current state (works that are not records: none)."""
    context = RenderContext(settings, now)
    entries = []
    for work in records.get_many(session, work_ids):
        until = valid_until(work, now)
        for fmt in REGISTRY.values():
            if fmt.applies_to(work):
                entries.append({"work_id": work.id, "prefix": fmt.prefix, "datestamp": work.datestamp,
                                "version": work.version, "variant": cache.variant(settings, fmt.prefix),
                                "valid_until": until, "xml": serialize(work, fmt, context)})
    return entries


def render_pending(db: Database, settings: Settings, clock: Clock, *, batch: int = BATCH) -> int:
    """Render one batch of queued works; return how many queue rows it consumed (0: none left)."""
    with db.session() as session:
        query = (sa.select(RenderRequest.id, RenderRequest.work_id)
                 .order_by(RenderRequest.id).limit(batch))
        if records.dialect(session) == "postgresql":
            query = query.with_for_update(skip_locked=True)  # concurrent renderers share the queue
        rows = session.execute(query).all()
        if not rows:
            return 0
        cache.store(session, render_works(session, sorted({row.work_id for row in rows}), settings, clock.now()))
        session.execute(sa.delete(RenderRequest).where(RenderRequest.id.in_([row.id for row in rows])))
    return len(rows)


def pending(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(RenderRequest)) or 0)


def stale_ids(session: Session | sa.Connection, work_ids: Sequence[int], settings: Settings,
              now: datetime) -> list[int]:
    """Those of ``work_ids`` (records) that lack a fresh entry in some format that applies."""
    works = session.execute(sa.select(Work.id, Work.type, Work.issn_l, Work.datestamp, Work.version)
                            .where(Work.id.in_(work_ids))).all()
    entries: dict[int, dict[str, Any]] = {}
    for entry in session.execute(
        sa.select(CachedRecord.work_id, CachedRecord.prefix, CachedRecord.datestamp, CachedRecord.version,
                  CachedRecord.variant, CachedRecord.valid_until).where(CachedRecord.work_id.in_(work_ids))
    ):
        entries.setdefault(entry.work_id, {})[entry.prefix] = entry
    variants = {prefix: cache.variant(settings, prefix) for prefix in REGISTRY}
    stale = []
    for work in works:
        have = entries.get(work.id, {})
        for fmt in REGISTRY.values():
            if not fmt.applies_to(work):  # type: ignore[arg-type]  # a row has the fields it reads
                continue
            found = have.get(fmt.prefix)
            if found is None or not cache.is_fresh(found, work.datestamp, work.version, variants[fmt.prefix], now):
                stale.append(work.id)
                break
    return sorted(stale)


def render_all(db: Database, settings: Settings, clock: Clock, *, batch: int = 500,
               progress: Callable[[int], None] | None = None) -> int:
    """Render every record that lacks fresh bytes (in datestamp order, the order harvests read
    them, so that new entries are stored in it: :func:`repo.oai.cache.store`; in batches of
    ``batch`` records, each committed); return how many were rendered. Resumable: what is fresh is
    skipped. A work changed meanwhile moves ahead of the walk and is met again (then fresh)."""
    after: tuple[Any, int] | None = None
    rendered = 0
    while True:
        with db.session() as session:
            query = sa.select(Work.datestamp, Work.id).where(visibility.public_or_tombstone())
            if after is not None:
                at, work_id = after
                query = query.where(sa.tuple_(Work.datestamp, Work.id)
                                    > sa.tuple_(sa.literal(at, UTCDateTime()), sa.literal(work_id)))
            keys = session.execute(query.order_by(Work.datestamp, Work.id).limit(batch)).all()
            if not keys:
                return rendered
            now = clock.now()
            stale = stale_ids(session, [key.id for key in keys], settings, now)
            if stale:
                cache.store(session, render_works(session, stale, settings, now))
        after, rendered = tuple(keys[-1]), rendered + len(stale)
        if progress is not None:
            progress(len(keys))


def total(db: Database) -> int:
    """How many records there are (the length of :func:`render_all`'s walk)."""
    with db.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(Work)
                                     .where(visibility.public_or_tombstone())) or 0)
