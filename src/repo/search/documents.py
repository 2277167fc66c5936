"""The search document: a work as the index sees it, built from its SQL rows next to the domain.

The document carries everything the visibility filter needs, so search applies the same rule as
``repo.works.visibility``: ``status`` and ``centre_id`` (who may see the record) and ``open_from``
(the instant the full text becomes readable by anyone: never for restricted or metadata-only
content). Full text is indexed apart from the metadata and matched, counted and highlighted only
when ``open_from <= now`` at query time, so an index that lags behind the clock never leaks it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.centres.models import Collection
from repo.files.models import File
from repo.search.query import fold
from repo.works import visibility
from repo.works.models import Work

#: Longest full text indexed per work (characters); the rest of a huge file is not searchable.
MAX_FULLTEXT = 2_000_000
#: ``open_from`` of content that is open from the start.
ALWAYS = visibility.ALWAYS
#: Analysed languages (ISO 639-3 → analyser); any other language is folded, not stemmed.
ANALYSED = {"spa": "es", "por": "pt", "eng": "en", "fra": "fr"}
# Control characters and the highlight markers (repo.search.highlight) never reach the index.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text) if _CONTROL.search(text) else text


def analyser(lang: str | None) -> str:
    return ANALYSED.get(lang or "", "und")


@dataclass
class SearchDocument:
    """One work in the index. ``display`` is what a result line shows (no second query needed)."""

    id: int
    version: int
    status: str
    centre_id: int
    centre: str
    type: str | None
    year: int | None
    languages: list[str]
    countries: list[str]
    collections: list[str]  # slugs of the work's collections and of all their ancestors
    access_right: str | None
    embargo_end: date | None
    open_from: datetime | None  # full text readable by anyone from this instant; None: never / no text
    titles: list[tuple[str, str]]  # (text, analyser); the main title first
    abstracts: list[tuple[str, str]]
    authors: list[str]
    subjects: list[tuple[str, str]]
    fulltext: str
    fulltext_lang: str
    display: dict[str, Any] = field(default_factory=dict)

    @property
    def title_key(self) -> str:
        return fold(self.titles[0][0])[:200] if self.titles else "\uffff"

    @property
    def fingerprint(self) -> str:
        """Digest of what decides who sees what (``index check``: wrong visibility)."""
        return _digest([self.status, self.centre_id, self.access_right,
                        self.embargo_end.isoformat() if self.embargo_end else None,
                        self.open_from.isoformat() if self.open_from else None])

    @property
    def digest(self) -> str:
        """Digest of the whole document (``index check``: stale)."""
        fields = {k: v for k, v in vars(self).items() if k != "fulltext"}  # json: tuples as lists, dates as text
        text = hashlib.blake2b(self.fulltext.encode(), digest_size=12).hexdigest()
        return _digest([fields, text])


def _digest(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def access_at(document: SearchDocument | dict[str, Any], now: datetime) -> str | None:
    """The access right as disseminated at ``now`` (an ended embargo reads open)."""
    if isinstance(document, SearchDocument):
        right, end = document.access_right, document.embargo_end
    else:
        right = document.get("access_right")
        end = date.fromisoformat(document["embargo_end"]) if document.get("embargo_end") else None
    return visibility.effective_access(right, end, now)


def fulltext_open(display: dict[str, Any], now: datetime) -> bool:
    """Whether the document's full text is readable by anyone at ``now``."""
    start = display.get("open_from")
    return start is not None and datetime.fromisoformat(start) <= now


def _person(person: dict[str, Any]) -> str:
    if person.get("family"):
        return f"{person['family']}, {person['given']}" if person.get("given") else str(person["family"])
    return str(person.get("name") or person.get("given") or "")


def build(work: Work, files: Sequence[File], collection_paths: dict[int, str], slugs_by_path: dict[str, str]) -> SearchDocument:
    """The document of ``work`` given its files with extracted text and the collection tree."""
    doc = work.doc or {}
    languages = list(doc.get("languages") or [])
    default_lang = languages[0] if languages else None
    titles = sorted(doc.get("titles") or [], key=lambda t: t.get("type", "main") != "main")
    texts: list[str] = []
    open_from: datetime | None = ALWAYS
    for file in files:
        if file.text_state != "done" or not file.text:
            continue
        start = visibility.opens_at(*visibility.file_access(work, file))
        if start is None:
            continue  # never readable: never indexed
        open_from = max(open_from, start) if open_from else start  # conservative: all parts readable
        texts.append(_clean(file.text))
    fulltext = "\n".join(texts)[:MAX_FULLTEXT]
    collections: list[str] = []
    for collection in work.collections:
        path = collection_paths.get(collection.id, collection.path)
        for depth in range(1, path.count(":") + 2):
            slug = slugs_by_path.get(":".join(path.split(":")[:depth]))
            if slug and slug not in collections:
                collections.append(slug)
    abstracts = doc.get("abstracts") or []
    main = titles[0] if titles else None
    creators = [_person(p) for p in doc.get("creators") or []]
    display = {
        "title": main["value"] if main else None,
        "title_lang": (main.get("lang") or default_lang) if main else None,
        "creators": [c for c in creators if c][:20],
        "year": work.publication_year,
        "type": work.type,
        "languages": languages,
        "centre": work.centre.slug,
        "centre_name": work.centre.name,
        "collections": [c.slug for c in work.collections],
        "access_right": work.access_right,
        "embargo_end": work.embargo_end.isoformat() if work.embargo_end else None,
        "status": work.status,
        "abstract": abstracts[0]["value"][:300] if abstracts else None,
    }
    open_from = open_from if fulltext else None
    display["open_from"] = open_from.isoformat() if open_from else None
    return SearchDocument(
        id=work.id,
        version=work.version,
        status=work.status,
        centre_id=work.centre_id,
        centre=work.centre.slug,
        type=work.type,
        year=work.publication_year,
        languages=languages,
        countries=list(doc.get("countries") or []),
        collections=collections,
        access_right=work.access_right,
        embargo_end=work.embargo_end,
        open_from=open_from,
        titles=[(_clean(t["value"]), analyser(t.get("lang") or default_lang)) for t in titles],
        abstracts=[(_clean(a["value"]), analyser(a.get("lang") or default_lang)) for a in abstracts],
        authors=[_clean(c) for c in creators + [_person(p) for p in doc.get("contributors") or []] if c],
        subjects=[(_clean(s["value"]), analyser(s.get("lang") or default_lang)) for s in doc.get("subjects") or []],
        fulltext=fulltext,
        fulltext_lang=analyser(default_lang),
        display=display,
    )


def load(session: Session, work_ids: Iterable[int]) -> dict[int, SearchDocument]:
    """The current documents of ``work_ids`` (absent: the work no longer exists)."""
    ids = sorted(set(work_ids))
    if not ids:
        return {}
    return {d.id: d for d in _build_many(session, Work.id.in_(ids))}


def batches(session: Session, size: int = 1000) -> Iterable[list[SearchDocument]]:
    """Every work's document, in batches of ``size`` (keyset over ids: constant memory)."""
    last = 0
    while True:
        batch = _build_many(session, Work.id > last, size)
        if not batch:
            return
        last = batch[-1].id
        yield batch


@dataclass
class _Centre:
    slug: str
    name: str


@dataclass
class _Collection:
    id: int
    slug: str
    path: str


@dataclass
class _Row:
    """The columns of a work that :func:`build` reads (a light stand-in for the ORM object)."""

    id: int
    version: int
    status: str
    type: str | None
    centre_id: int
    access_right: str | None
    embargo_end: date | None
    publication_year: int | None
    doc: dict[str, Any]
    centre: _Centre
    collections: list[_Collection]


def _build_many(session: Session, condition: sa.ColumnElement[bool], limit: int | None = None) -> list[SearchDocument]:
    """Documents of the works matching ``condition`` (by id), read with a few set-based queries.

    Core rows instead of ORM objects: the rebuild of a large index is bound by this loop.
    """
    from repo.centres.models import MemberCentre
    from repo.works.models import work_collections

    query = (sa.select(Work.id, Work.version, Work.status, Work.type, Work.centre_id, Work.access_right,
                       Work.embargo_end, Work.publication_year, Work.doc, MemberCentre.slug, MemberCentre.name)
             .join(MemberCentre, MemberCentre.id == Work.centre_id).where(condition).order_by(Work.id))
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    if not rows:
        return []
    ids = [row[0] for row in rows]
    tree = {row.id: _Collection(row.id, row.slug, row.path)
            for row in session.execute(sa.select(Collection.id, Collection.path, Collection.slug))}
    slugs = {c.path: c.slug for c in tree.values()}
    memberships: dict[int, list[_Collection]] = {}
    for work_id, collection_id in session.execute(
        sa.select(work_collections.c.work_id, work_collections.c.collection_id)
        .where(work_collections.c.work_id.in_(ids))
    ):
        memberships.setdefault(work_id, []).append(tree[collection_id])
    files: dict[int, list[File]] = {}
    for file in session.scalars(
        sa.select(File).where(File.work_id.in_(ids), File.text_state == "done").order_by(File.work_id, File.id)
    ):
        files.setdefault(file.work_id, []).append(file)
    session.expunge_all()
    works = [_Row(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], _Centre(r[9], r[10]),
                  sorted(memberships.get(r[0], []), key=lambda c: c.path)) for r in rows]
    paths = {c.id: c.path for c in tree.values()}
    return [build(work, files.get(work.id, []), paths, slugs) for work in works]  # type: ignore[arg-type]
