"""Duplicate matching: the identifier index of works and the lookup an incoming record makes.

Two records describe the same work when they share a DOI, a handle or an ISBN (DESIGN.md §9).
The index (:class:`~repo.ingest.models.WorkIdentifier`) holds those identifiers of *every* work —
deposits, harvested and imported works alike — normalised, so a lookup is an indexed query:

* a flush listener keeps it exact for every work the ORM writes (the deposit API, harvests,
  imports), in the same transaction, like the browse counts;
* whatever writes works by plain SQL (the synthetic corpus) calls :func:`rebuild`
  (also ``repo db recount``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from stdnum import isbn as stdnum_isbn

from repo.db import insert_many
from repo.ingest.models import WorkIdentifier
from repo.works.models import Work
from repo.works.vocabularies import Status

Key = tuple[str, str]  # (scheme, normalised value)


@functools.lru_cache(maxsize=4096)
def normalise(scheme: str, value: str) -> str | None:
    """The form an identifier is indexed and looked up in; ``None`` when it is not one. (Cached: a
    batch normalises each new record's identifiers twice, to match them and to index them, and
    an ISBN's check through stdnum is the costly part.)"""
    value = value.strip()
    if not value:
        return None
    if scheme == "isbn":
        try:
            return str(stdnum_isbn.to_isbn13(stdnum_isbn.validate(value)))
        except Exception:  # stdnum raises several ValidationError kinds; any means "not an ISBN"
            return None
    return value.lower()[:500]


def keys(doc: dict[str, Any] | None) -> set[Key]:
    """The identifier keys of a metadata document (the deposit record's ``metadata``)."""
    if not isinstance(doc, dict):
        return set()
    found: set[Key] = set()

    def add(scheme: str, value: Any) -> None:
        if isinstance(value, str) and (normal := normalise(scheme, value)):
            found.add((scheme, normal))

    add("doi", doc.get("doi"))
    add("handle", doc.get("handle"))
    for value in doc.get("isbn") or ():
        add("isbn", value)
    book = doc.get("book")
    if isinstance(book, dict):
        add("isbn", book.get("isbn"))
    return found


def keys_of(metadata: Any) -> set[Key]:
    """:func:`keys` of a validated :class:`~repo.works.schemas.Metadata` (without dumping it)."""
    return keys({"doi": metadata.doi, "handle": metadata.handle, "isbn": metadata.isbn,
                 "book": {"isbn": metadata.book.isbn} if metadata.book is not None else None})


def find(session: Session, wanted: Iterable[Key]) -> dict[Key, int]:
    """For each key, the oldest live work (draft or published) carrying it."""
    by_scheme: dict[str, list[str]] = {}
    for scheme, value in sorted(set(wanted)):
        by_scheme.setdefault(scheme, []).append(value)
    found: dict[Key, int] = {}
    for scheme, values in by_scheme.items():
        for chunk in _chunks(values, 500):
            rows = session.execute(
                sa.select(WorkIdentifier.value, sa.func.min(WorkIdentifier.work_id))
                .join(Work, Work.id == WorkIdentifier.work_id)
                .where(WorkIdentifier.scheme == scheme, WorkIdentifier.value.in_(chunk), Work.status != Status.withdrawn)
                .group_by(WorkIdentifier.value)
            )
            found.update({(scheme, value): work_id for value, work_id in rows})
    return found


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@event.listens_for(Session, "after_flush")
def _track(session: Session, _context: Any) -> None:
    """Re-index the works this flush wrote whose metadata is new or changed."""
    rows: list[dict[str, Any]] = []
    stale: list[int] = []
    for work in session.new:
        if isinstance(work, Work) and work.id is not None:
            rows += [{"work_id": work.id, "scheme": s, "value": v} for s, v in sorted(keys(work.doc))]
    for work in session.dirty:
        if isinstance(work, Work) and sa.inspect(work).attrs.doc.history.has_changes():
            stale.append(work.id)
            rows += [{"work_id": work.id, "scheme": s, "value": v} for s, v in sorted(keys(work.doc))]
    if not (rows or stale):
        return
    connection = session.connection()
    if stale:
        connection.execute(sa.delete(WorkIdentifier).where(WorkIdentifier.work_id.in_(stale)))
    if rows:
        connection.execute(sa.insert(WorkIdentifier), rows)


def index(session: Session, works: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """Index works inserted without the ORM unit of work (ingest's batch insert)."""
    rows = [{"work_id": work_id, "scheme": s, "value": v} for work_id, doc in works for s, v in sorted(keys(doc))]
    insert_many(session, WorkIdentifier.__table__, rows)  # type: ignore[arg-type]  # declarative: a Table


def rebuild(session: Session) -> int:
    """Rebuild the whole index from the works (after writes that bypassed the ORM)."""
    session.execute(sa.delete(WorkIdentifier))
    count, last = 0, 0
    while True:
        page = session.execute(sa.select(Work.id, Work.doc).where(Work.id > last).order_by(Work.id).limit(2000)).all()
        if not page:
            break
        last = page[-1].id
        rows = [{"work_id": work_id, "scheme": s, "value": v} for work_id, doc in page for s, v in sorted(keys(doc))]
        if rows:
            session.execute(sa.insert(WorkIdentifier), rows)
            count += len(rows)
    session.flush()
    return count
