"""What a change of a work means for OAI-PMH, written in the change's own transaction.

A flush listener (registered when this module is imported, by :mod:`repo.oai.models`' users)
looks at every work the flush inserts, changes or deletes, and

* adjusts the set counters (``oai_set_counts``) by the difference between the work's counting
  keys before and after (:func:`repo.oai.sets.count_keys`), as :mod:`repo.works.counts` does for
  the reading room's browse counts: ``completeListSize`` is then one indexed lookup, exact as of
  the last commit, for every set and format;
* queues the work for rendering (``oai_render_queue``) when it is or was a record: the renderer
  (:mod:`repo.oai.render`) produces its bytes in every format after the commit, off the request
  path;
* and marks the transaction, whose commit then raises ``oai_generation`` (:func:`_raise`): a list
  page made ahead of its request is served only while that number is the one it read
  (:mod:`repo.oai.readahead`).

Writes that bypass the ORM must do the same themselves: :func:`enqueue` (e.g. the restamp after a
commit, :func:`repo.works.service.restamp`), and :func:`recount` then a render of everything after
loading works by plain SQL (``repo demo --synthetic`` does both; ``repo db recount`` recounts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from repo.centres.models import Collection
from repo.clock import utcnow
from repo.db import insert_many
from repo.oai import sets
from repo.oai.models import Generation, RenderRequest, SetCount
from repo.works import counts
from repo.works.models import Work, work_collections

Key = tuple[str, str, str]  # dimension, key, work type


def _keys(status: Any, type_: Any, centre_id: Any, paths: Iterable[str], access_right: Any, embargo_end: Any,
          embargo_pending: Any, issn_l: Any) -> set[Key]:
    return {(dimension, key, type_ or "") for dimension, key in
            sets.count_keys(status, type_, centre_id, paths, access_right, embargo_end, embargo_pending, issn_l)}


def _current(work: Work) -> set[Key]:
    return _keys(work.status, work.type, counts.centre_id(work), (c.path for c in work.collections),
                 work.access_right, work.embargo_end, work.embargo_pending, work.issn_l)


def _before(work: Work) -> set[Key]:
    """The keys as of the last flush (the columns' ``active_history`` keeps replaced values)."""
    old = counts.previous
    return _keys(old(work, "status"), old(work, "type"), old(work, "centre_id"), counts.previous_paths(work),
                 old(work, "access_right"), old(work, "embargo_end"), old(work, "embargo_pending"),
                 old(work, "issn_l"))


@event.listens_for(Session, "after_flush")
def _track(session: Session, _context: Any) -> None:
    # after_flush: new works have their ids, and new/dirty/deleted and attribute histories still
    # show the flush's changes.
    delta: Counter[Key] = Counter()
    changed: set[int] = set()
    for work in session.new:
        if isinstance(work, Work):
            delta.update(_current(work))
            if work.status in sets.RECORD_STATUSES:
                changed.add(work.id)
    for work in session.dirty:
        if isinstance(work, Work) and session.is_modified(work):
            before, after = _before(work), _current(work)
            delta.update(after - before)
            delta.subtract(before - after)
            if work.status in sets.RECORD_STATUSES or counts.previous(work, "status") in sets.RECORD_STATUSES:
                changed.add(work.id)
    for work in session.deleted:
        if isinstance(work, Work):
            delta.subtract(_before(work))
            if work.status in sets.RECORD_STATUSES:
                session.info[_CHANGED] = True  # erased: no longer a record
    _apply(session, {key: n for key, n in delta.items() if n})
    enqueue(session, changed)


_CHANGED = "oai_records_changed"
_TABLE: sa.Table = Generation.__table__  # type: ignore[assignment]  # declarative: a Table
_RAISE = sa.update(_TABLE).where(_TABLE.c.id == 1).values(value=_TABLE.c.value + 1)


@event.listens_for(Session, "before_commit")
def _raise(session: Session) -> None:
    """A transaction that changed a record raises ``oai_generation`` as its last statement.

    Last, after the final flush (whose changes :func:`_track` sees first): the row is locked from
    here to the commit, and a transaction that holds it waits for no other lock, so concurrent
    changes never deadlock on it."""
    session.flush()
    if session.info.pop(_CHANGED, False):
        session.execute(_RAISE)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def _apply(session: Session, delta: dict[Key, int]) -> None:
    if not delta:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table: sa.Table = SetCount.__table__  # type: ignore[assignment]  # declarative: a Table
    statement = insert(table)
    statement = statement.on_conflict_do_update(index_elements=[table.c.dimension, table.c.key, table.c.type],
                                                set_={"count": table.c.count + statement.excluded.count})
    # one statement for every key (executemany, as repo.works.counts does), in a fixed order:
    # concurrent changes never deadlock
    session.execute(statement, [{"dimension": d, "key": k, "type": t, "count": n}
                                for (d, k, t), n in sorted(delta.items())])


def count_inserted(session: Session, works: Iterable[tuple[Any, ...]]) -> None:
    """Count works inserted without the ORM unit of work (repo.ingest's batch insert), as the
    flush listener counts the works it sees: each ``(status, type, centre_id, collection paths,
    access_right, embargo_end, embargo_pending, issn_l)``. (Their rendering is queued by the restamp
    after the commit, :func:`repo.works.service.restamp`.)"""
    delta: Counter[Key] = Counter()
    for work in works:
        delta.update(_keys(*work))
    _apply(session, dict(delta))


def enqueue(session: Session, work_ids: Iterable[int], now: datetime | None = None) -> None:
    """Queue works for rendering, in ``session``'s transaction (whose commit then raises the
    generation)."""
    at = now or utcnow()
    rows = [{"work_id": i, "queued_at": at} for i in sorted(set(work_ids))]
    if rows:
        session.info[_CHANGED] = True
    insert_many(session, RenderRequest.__table__, rows)  # type: ignore[arg-type]  # declarative: a Table


def recount(session: Session) -> None:
    """Rebuild every set counter from the works (after writes that bypassed the ORM)."""
    record = Work.status.in_(sets.RECORD_STATUSES)
    type_ = sa.func.coalesce(Work.type, "")
    rows: list[tuple[str, Any, Any, int]] = []
    rows += [("all", "", t, n) for t, n in session.execute(
        sa.select(type_, sa.func.count()).where(record).group_by(type_))]
    rows += [("centre", str(c), t, n) for c, t, n in session.execute(
        sa.select(Work.centre_id, type_, sa.func.count()).where(record).group_by(Work.centre_id, type_))]
    rows += [("type", "", t, n) for t, n in session.execute(
        sa.select(type_, sa.func.count()).where(record, Work.type.is_not(None)).group_by(type_))]
    rows += [("type", t, t, n) for t, n in session.execute(
        sa.select(Work.type, sa.func.count()).where(record, Work.type.is_not(None)).group_by(Work.type))]
    opened = sa.or_(Work.status == "withdrawn", Work.access_right == "open", sa.and_(
        Work.access_right == "embargoed", Work.embargo_end.is_not(None), Work.embargo_pending.is_(False)))
    rows += [("open", "", t, n) for t, n in session.execute(
        sa.select(type_, sa.func.count()).where(record, opened).group_by(type_))]
    # a collection counts its subtree's works, each once: join each filing to every ancestor path
    filed, ancestor = aliased(Collection), aliased(Collection)
    rows += [("collection", path, t, n) for path, t, n in session.execute(
        sa.select(ancestor.path, type_, sa.func.count(sa.distinct(work_collections.c.work_id)))
        .select_from(work_collections)
        .join(Work, Work.id == work_collections.c.work_id)
        .join(filed, filed.id == work_collections.c.collection_id)
        .join(ancestor, sa.or_(filed.path == ancestor.path, filed.path.startswith(ancestor.path + ":")))
        .where(record).group_by(ancestor.path, type_))]
    rows += [("collection", "", t, n) for t, n in session.execute(
        sa.select(type_, sa.func.count()).where(
            record, Work.id.in_(sa.select(work_collections.c.work_id))).group_by(type_))]
    # journals (by ISSN-L), and all of them: the journal sets and the formats that need a journal (JATS)
    rows += [("journal", issn_l, t, n) for issn_l, t, n in session.execute(
        sa.select(Work.issn_l, type_, sa.func.count()).where(record, Work.issn_l.is_not(None))
        .group_by(Work.issn_l, type_))]
    rows += [("journal", "", t, n) for t, n in session.execute(
        sa.select(type_, sa.func.count()).where(record, Work.issn_l.is_not(None)).group_by(type_))]
    session.execute(sa.delete(SetCount))
    values = [{"dimension": d, "key": k, "type": t, "count": n} for d, k, t, n in rows if n]
    if values:
        session.execute(sa.insert(SetCount), values)
    session.flush()


_SIZE = sa.select(sa.func.coalesce(sa.func.sum(SetCount.count), 0)).where(
    SetCount.dimension == sa.bindparam("dimension"), SetCount.key == sa.bindparam("key"))
_SIZE_OF_TYPES = _SIZE.where(SetCount.type.in_(sa.bindparam("types", expanding=True)))


def size(connection: Any, key: sets.CountKey, types: frozenset[str] | None) -> int:
    """How many records a list holds (the whole list: no ``from``/``until``), from the counters."""
    dimension, value = key
    if types is None:
        return int(connection.scalar(_SIZE, {"dimension": dimension, "key": value}) or 0)
    return int(connection.scalar(_SIZE_OF_TYPES, {"dimension": dimension, "key": value, "types": sorted(types)}) or 0)
