"""Browse counts: how many public works each type, year, centre, collection, author and subject holds.

The reading room shows these on every browse page. Counting them is a pass over every public
work (hundreds of milliseconds at 100,000 works), so instead they are *counter rows*
(:class:`~repo.works.models.BrowseCount`) kept exact in the transaction of every change:

* a flush listener compares each changed work's *browse keys* before and after the flush and
  adds the difference to the counter rows (an upsert per key, in key order so that concurrent
  transactions on PostgreSQL lock rows in the same order and never deadlock);
* whatever writes works without the ORM (the synthetic corpus, a restore) calls :func:`recount`,
  which rebuilds every row from the works in SQL (also ``repo db recount``).

Readers therefore see the counts of the last committed change, at once, in a few indexed rows.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from repo.centres.models import Collection
from repo.works import visibility
from repo.works.models import BrowseCount, Work, work_collections

Key = tuple[str, str]
#: Authors and subjects are browsed alphabetically, a letter at a time: their dimension names the
#: letter (``author:g``, ``subject:#`` for what begins with no letter a–z) and their key is the folded
#: form (lower case, no accents) that orders them, then the label as deposited. A letter is then
#: one equality on the primary key's prefix, whatever collation the database uses.
SEPARATOR = "\x1f"
FOLDED_MAX, LABEL_MAX = 120, 300


def fold(text: str) -> str:
    """Lower case, accents dropped, spaces collapsed: the order of an alphabetical index."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def term_key(label: str) -> str | None:
    """The browse key of an author's or a subject's label (None for an empty one)."""
    label = " ".join(label.split())[:LABEL_MAX]
    folded = fold(label)[:FOLDED_MAX]
    return f"{folded}{SEPARATOR}{label}" if folded else None


def letter_of(key: str) -> str:
    return key[0] if "a" <= key[0] <= "z" else "#"


def term_label(key: str) -> str:
    return key.partition(SEPARATOR)[2]


def _person(creator: Any) -> str:
    if not isinstance(creator, dict):
        return ""
    family, given = creator.get("family"), creator.get("given")
    if family:
        return f"{family}, {given}" if given else str(family)
    return str(creator.get("name") or "")


def terms(doc: Any) -> set[Key]:
    """The author and subject keys of a metadata document (each once)."""
    if not isinstance(doc, dict):
        return set()
    found: set[Key] = set()
    for dimension, labels in (("author", (_person(c) for c in doc.get("creators") or [])),
                              ("subject", (str(s.get("value") or "") for s in doc.get("subjects") or []
                                           if isinstance(s, dict)))):
        for label in labels:
            key = term_key(label)
            if key is not None:
                found.add((f"{dimension}:{letter_of(key)}", key))
    return found


def ancestors(path: str) -> list[str]:
    """A collection path and the paths of its ancestors (``a:b:c`` → ``a``, ``a:b``, ``a:b:c``)."""
    parts = path.split(":")
    return [":".join(parts[:n]) for n in range(1, len(parts) + 1)]


def keys(status: str | None, type_: str | None, year: int | None, centre_id: int | None,
         paths: Iterable[str], doc: Any = None) -> set[Key]:
    """The browse keys one work counts under: none unless its record is public."""
    if not visibility.is_public_record(status):
        return set()
    found: set[Key] = {("total", ""), *terms(doc)}
    if type_:
        found.add(("type", type_))
    if year is not None:
        found.add(("year", str(year)))
    if centre_id is not None:
        found.add(("centre", str(centre_id)))
    found.update(("collection", p) for path in paths for p in ancestors(path))
    return found


def centre_id(work: Work) -> int | None:
    """The work's centre id, also when the centre was given as an object (no id until the flush)."""
    return work.centre_id if work.centre_id is not None else getattr(work.centre, "id", None)


def previous(work: Work, name: str) -> Any:
    """A column's value as of the last flush (``active_history`` on the column keeps the replaced one)."""
    history = sa.inspect(work).attrs[name].history
    return history.deleted[0] if history.deleted else getattr(work, name)


def previous_paths(work: Work) -> list[str]:
    """The paths of the work's collections as of the last flush."""
    history = sa.inspect(work).attrs.collections.history
    collections = [*history.unchanged, *history.deleted] if history.has_changes() else list(work.collections)
    return [c.path for c in collections]


def _current(work: Work) -> set[Key]:
    return keys(work.status, work.type, work.publication_year, centre_id(work), (c.path for c in work.collections),
                work.doc)


def _before(work: Work) -> set[Key]:
    """The keys as of the last flush."""
    return keys(previous(work, "status"), previous(work, "type"), previous(work, "publication_year"),
                previous(work, "centre_id"), previous_paths(work), previous(work, "doc"))


@event.listens_for(Session, "before_flush")
def _track(session: Session, _context: Any, _instances: Any) -> None:
    delta: Counter[Key] = Counter()
    for work in session.new:
        if isinstance(work, Work):
            delta.update(_current(work))
    for work in session.dirty:
        if isinstance(work, Work):
            before, after = _before(work), _current(work)
            delta.update(after - before)
            delta.subtract(before - after)
    for work in session.deleted:
        if isinstance(work, Work):
            delta.subtract(_before(work))
    _apply(session, {key: n for key, n in delta.items() if n})


def add(session: Session, new_works: Iterable[set[Key]]) -> None:
    """Count works inserted without the ORM unit of work (ingest's batch insert), given the
    :func:`keys` of each, as the flush listener counts the works it sees."""
    delta: Counter[Key] = Counter()
    for found in new_works:
        delta.update(found)
    _apply(session, dict(delta))


def _apply(session: Session, delta: dict[Key, int]) -> None:
    if not delta:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table: sa.Table = BrowseCount.__table__  # type: ignore[assignment]  # declarative: a Table
    statement = insert(table)
    statement = statement.on_conflict_do_update(index_elements=[table.c.dimension, table.c.key],
                                                set_={"count": table.c.count + statement.excluded.count})
    # one statement for every key (executemany), in key order (see the module docstring)
    session.execute(statement, [{"dimension": d, "key": k, "count": n} for (d, k), n in sorted(delta.items())])


def recount(session: Session) -> None:
    """Rebuild every counter row from the works (after writes that bypassed the ORM)."""
    public = visibility.public_record()
    rows: list[tuple[str, Any, int]] = [("total", "", session.scalar(
        sa.select(sa.func.count()).select_from(Work).where(public)) or 0)]
    for dimension, column in (("type", Work.type), ("year", Work.publication_year), ("centre", Work.centre_id)):
        rows += [(dimension, value, n) for value, n in session.execute(
            sa.select(column, sa.func.count()).where(public, column.is_not(None)).group_by(column))]
    # a collection counts its subtree's works, each once: join each filing to every ancestor path
    filed, ancestor = aliased(Collection), aliased(Collection)
    rows += [("collection", path, n) for path, n in session.execute(
        sa.select(ancestor.path, sa.func.count(sa.distinct(work_collections.c.work_id)))
        .select_from(work_collections)
        .join(Work, Work.id == work_collections.c.work_id)
        .join(filed, filed.id == work_collections.c.collection_id)
        .join(ancestor, sa.or_(filed.path == ancestor.path, filed.path.startswith(ancestor.path + ":")))
        .where(public).group_by(ancestor.path))]
    authors_and_subjects: Counter[Key] = Counter()
    for (doc,) in session.execute(sa.select(Work.doc).where(public).execution_options(yield_per=2000)):
        authors_and_subjects.update(terms(doc))
    rows += [(dimension, key, n) for (dimension, key), n in authors_and_subjects.items()]
    session.execute(sa.delete(BrowseCount))
    values = [{"dimension": d, "key": str(k), "count": n} for d, k, n in rows if n]
    if values:
        session.execute(sa.insert(BrowseCount), values)
    session.flush()


def read(session: Session, dimension: str) -> dict[str, int]:
    """The non-zero counts of one dimension, by key."""
    return dict(session.execute(sa.select(BrowseCount.key, BrowseCount.count).where(
        BrowseCount.dimension == dimension, BrowseCount.count > 0)).all())


def index_page(session: Session, dimension: str, letter: str, offset: int, limit: int) -> tuple[list[tuple[str, int]], int]:
    """One page of an alphabetical index (``letter``: a–z, or ``#`` for everything else):
    ``(label, works)`` pairs in order, and how many entries the letter has. A prefix of the primary
    key, in order: no scan of the works."""
    key = BrowseCount.key
    where = (BrowseCount.dimension == f"{dimension}:{letter}", BrowseCount.count > 0)
    total = session.scalar(sa.select(sa.func.count()).select_from(BrowseCount).where(*where)) or 0
    rows = session.execute(sa.select(key, BrowseCount.count).where(*where).order_by(key).offset(offset).limit(limit))
    return [(term_label(k), n) for k, n in rows], total
