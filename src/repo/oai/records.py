"""Reading OAI records from SQL: the keyset list query, chunk loading and the record header.

OAI-PMH is served from SQL, never from the search index, so a lagging index cannot make a
harvester miss a record. Records are the works that exist publicly
(:func:`repo.works.visibility.public_or_tombstone`): published works, and withdrawn works as
persistent deletions (§2.5.1, ``deletedRecord=persistent``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache, partial
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from lxml import etree
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

from repo.centres.models import Collection, MemberCentre
from repo.config import Settings
from repo.db import UTCDateTime
from repo.files.models import File
from repo.oai import cache as cache_module
from repo.oai import envelope
from repo.oai.models import CachedRecord
from repo.works import visibility
from repo.works.models import Work, work_collections
from repo.works.service import oai_identifier
from repo.works.vocabularies import Status

HEADER_COLUMNS = (Work.id, Work.status, Work.type, Work.centre_id, Work.access_right, Work.embargo_end,
                  Work.datestamp, Work.version)
# The metadata document is read as JSON text and decoded here: cheaper than the ORM type's
# processing, and the raw text tells in one scan whether any string in it needs cleaning.
RECORD_COLUMNS = (*HEADER_COLUMNS, Work.origin, sa.type_coerce(Work.doc, sa.Text).label("doc"))
PG_RECORD_COLUMNS = (*HEADER_COLUMNS, Work.origin, sa.cast(Work.doc, sa.Text).label("doc"))
# Anything that may decode to an XML-illegal character: a JSON escape of a C0 control other than
# tab/LF/CR, of a surrogate or of U+FFFE/U+FFFF, or such a character written raw. False positives
# (an escaped backslash before "u0001") only cost the slow, per-string cleaning path.
_SUSPECT = re.compile(r"\\u(?:000[0-8bBcCeEfF]|001[0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2}|[fF]{3}[eEfF])"
                      "|[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FileView:
    name: str
    media_type: str
    access_right: str | None
    embargo_end: date | None


@dataclass
class Disseminated:
    """A work as the OAI layer reads it: the promoted columns, the metadata document, and the
    centre, collections and files it belongs to (loaded per chunk, not per work)."""

    id: int
    status: str
    type: str | None
    access_right: str | None
    embargo_end: date | None
    datestamp: datetime
    centre: str
    doc: dict[str, Any] = field(default_factory=dict)
    clean: bool = False  # True when no string in ``doc`` holds an XML-illegal character
    collections: list[str] = field(default_factory=list)  # collection paths
    files: list[FileView] = field(default_factory=list)
    version: int = 0  # the work's version (bumped by every revision)
    origin: dict[str, Any] | None = None  # where a harvested work came from (repo.oai.provenance)

    @property
    def deleted(self) -> bool:
        return self.status == Status.withdrawn


@dataclass(frozen=True)
class RenderContext:
    """What a crosswalk may know besides the work: settings and the moment of the response.

    A crosswalk may depend on ``now`` only through embargoes (the work's and its files' own, as
    :meth:`effective_access` and :meth:`open_files` read them): stored bytes are trusted until
    the next embargo end (:func:`repo.oai.render.valid_until`), not beyond.
    """

    settings: Settings
    now: datetime

    def identifier(self, work_id: int) -> str:
        return oai_identifier(self.settings, work_id)

    def landing_page(self, work: Disseminated) -> str:
        return f"{self.settings.base_url}/works/{work.id}"

    def file_url(self, work: Disseminated, file: FileView) -> str:
        return f"{self.settings.base_url}/works/{work.id}/files/{quote(file.name, safe='')}"

    def effective_access(self, work: Disseminated) -> str | None:
        return visibility.effective_access(work.access_right, work.embargo_end, self.now)

    def open_files(self, work: Disseminated) -> list[FileView]:
        """Files anyone may download now: a file's own access right and embargo, when set,
        override the work's; embargoed or closed files are never linked."""
        return [f for f in work.files if visibility.is_open(*visibility.file_access(work, f), self.now)]


def id_from_identifier(settings: Settings, identifier: str) -> int | None:
    """The work id an ``oai:<repositoryIdentifier>:<id>`` identifier names, if it is one."""
    prefix = f"oai:{settings.oai_repository_identifier}:"
    local = identifier[len(prefix):] if identifier.startswith(prefix) else ""
    if not (local.isascii() and local.isdigit()) or local.startswith("0") or len(local) > 19:
        return None
    value = int(local)
    return value if value < 2**63 else None  # work ids are 64-bit (migration 0901)


def dialect(connection: Session | sa.Connection) -> str:
    """The database dialect's name (``sqlite`` or ``postgresql``) of a session or a connection."""
    return (connection.get_bind() if isinstance(connection, Session) else connection).dialect.name


def centre_slugs(session: Session | sa.Connection) -> dict[int, str]:
    return {row.id: envelope.text(row.slug) for row in session.execute(sa.select(MemberCentre.id, MemberCentre.slug))}


class not_indexed(sa.sql.expression.ColumnElement[bool]):  # noqa: N801 (reads like a function)
    """A filter the SQLite planner must not drive the query with.

    Without statistics SQLite prefers an equality index (``ix_works_status``, ``ix_works_centre_id``)
    and then sorts the whole match for ``ORDER BY datestamp, id LIMIT n`` — a cost that grows with
    the repository. Rendered as ``+(…)`` on SQLite (the documented way to disqualify a term from
    index use), the filter is checked row by row along ``ix_works_datestamp_id`` instead, so every
    page is a short range scan. PostgreSQL plans from statistics and gets the plain condition.
    """

    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [("clause", InternalTraversal.dp_clauseelement)]

    def __init__(self, clause: sa.ColumnElement[bool]) -> None:
        self.clause = clause


@compiles(not_indexed)
def _plain(element: not_indexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clause, **kw))


@compiles(not_indexed, "sqlite")
def _unary_plus(element: not_indexed, compiler: Any, **kw: Any) -> str:
    return f"+({compiler.process(element.clause, **kw)})"


def in_range(lower: datetime | None, upper: datetime) -> sa.ColumnElement[bool]:
    """Datestamps within ``[lower, upper]`` (§2.7.1: both bounds inclusive)."""
    if lower is None:
        return Work.datestamp <= upper
    return sa.and_(Work.datestamp >= lower, Work.datestamp <= upper)


# The datestamp as the driver returns it (text on SQLite, a naive datetime on PostgreSQL): only the
# last row's is ever needed (the resume point), so the others are not converted.
_RAW_DATESTAMP = sa.type_coerce(Work.datestamp, sa.String).label("raw_datestamp")


def instant(raw: Any) -> datetime:
    """A :data:`_RAW_DATESTAMP` value as an aware UTC datetime."""
    value = datetime.fromisoformat(raw) if raw.__class__ is str else raw
    return value.replace(tzinfo=UTC)


@lru_cache(maxsize=512)
def _keyset_query(membership: sa.ColumnElement[bool], lower: bool, after: bool, stored: bool) -> sa.Select[Any]:
    """The keyset query of a list, built once per shape (values are bound at execution)."""
    at = partial(sa.bindparam, type_=UTCDateTime())
    if stored:
        query = (sa.select(Work.id, _RAW_DATESTAMP, CachedRecord.xml.label("stored")).select_from(Work)
                 .outerjoin(CachedRecord, cache_module.fresh(sa.bindparam("prefix"), sa.bindparam("variant"), at("now"))))
    else:
        query = sa.select(*HEADER_COLUMNS)
    query = query.where(not_indexed(membership), Work.datestamp <= at("upper"))
    if lower:
        query = query.where(Work.datestamp >= at("lower"))
    if after:
        # A row-value comparison: both SQLite and PostgreSQL seek the index with it (the expanded
        # ``a > x OR (a = x AND b > y)`` form makes SQLite merge two scans and sort).
        query = query.where(sa.tuple_(Work.datestamp, Work.id) > sa.tuple_(at("after_at"), sa.bindparam("after_id")))
    return query.order_by(Work.datestamp, Work.id).limit(sa.bindparam("limit"))


def keyset(
    connection: Session | sa.Connection,
    membership: sa.ColumnElement[bool],
    lower: datetime | None,
    upper: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
    *,
    stored: tuple[str, str, datetime] | None = None,
    today: date | None = None,
) -> Sequence[sa.Row[Any]]:
    """Up to ``limit`` records after ``after`` in ``(datestamp, id)`` order: a range scan on
    ``ix_works_datestamp_id`` whatever the depth (never OFFSET).

    Without ``stored``: the header columns (:func:`load` makes records of them). With ``stored``
    (prefix, variant, now): ``id``, ``raw_datestamp`` (:func:`instant`) and ``stored``, the bytes of
    the record's fresh stored entry or ``None`` (then :func:`get_many` loads it to render it).
    ``membership`` must be the same object for the same list (the query is built once per shape);
    ``today`` is the value of the ``today`` parameter the open sets' condition has.
    """
    values: dict[str, Any] = {"upper": upper, "limit": limit, "today": today or upper.date()}
    if lower is not None:
        values["lower"] = lower
    if after is not None:
        values["after_at"], values["after_id"] = after
    if stored is not None:
        values["prefix"], values["variant"], values["now"] = stored
    query = _keyset_query(membership, lower is not None, after is not None, stored is not None)
    return connection.execute(query, values).all()


def load(
    session: Session | sa.Connection, rows: Sequence[sa.Row[Any]], centres: dict[int, str], *, with_metadata: bool
) -> list[Disseminated]:
    """Rows as :class:`Disseminated`, with collections (and files) fetched in one query each."""
    ids = [row.id for row in rows]
    paths: dict[int, list[str]] = defaultdict(list)
    files: dict[int, list[FileView]] = defaultdict(list)
    if ids:
        for work_id, path in session.execute(
            sa.select(work_collections.c.work_id, Collection.path)
            .join(Collection, Collection.id == work_collections.c.collection_id)
            .where(work_collections.c.work_id.in_(ids))
            .order_by(work_collections.c.work_id, Collection.path)
        ):
            paths[work_id].append(envelope.text(path))
        if with_metadata:
            for file in session.execute(
                sa.select(File.work_id, File.name, File.media_type, File.access_right, File.embargo_end)
                .where(File.work_id.in_(ids))
                .order_by(File.work_id, File.id)
            ):
                files[file.work_id].append(FileView(file.name, file.media_type, file.access_right, file.embargo_end))
    loaded = []
    for row in rows:
        doc, clean = _document(row.doc) if with_metadata else ({}, True)
        loaded.append(Disseminated(
            id=row.id, status=row.status, type=row.type, access_right=row.access_right,
            embargo_end=row.embargo_end, datestamp=row.datestamp, centre=centres.get(row.centre_id, ""),
            doc=doc, clean=clean, collections=paths.get(row.id, []), files=files.get(row.id, []),
            version=row.version,
            origin=row.origin if with_metadata else None,
        ))
    return loaded


def _document(raw: Any) -> tuple[dict[str, Any], bool]:
    """The metadata document and whether it is free of XML-illegal characters."""
    if raw.__class__ is str:
        try:
            doc = json.loads(raw)
        except ValueError:
            return {}, True
        return (doc, _SUSPECT.search(raw) is None) if doc.__class__ is dict else ({}, True)
    return (raw, False) if isinstance(raw, dict) else ({}, True)


def get_many(session: Session | sa.Connection, work_ids: Sequence[int]) -> list[Disseminated]:
    """The records (published or withdrawn works) among ``work_ids``, with their metadata, by id."""
    columns = PG_RECORD_COLUMNS if dialect(session) == "postgresql" else RECORD_COLUMNS
    rows = session.execute(
        sa.select(*columns).where(Work.id.in_(work_ids), visibility.public_or_tombstone()).order_by(Work.id)
    ).all()
    return load(session, rows, centre_slugs(session), with_metadata=True) if rows else []


def get(session: Session | sa.Connection, work_id: int) -> Disseminated | None:
    """One record (published or withdrawn) with its metadata, or ``None``."""
    found = get_many(session, [work_id])
    return found[0] if found else None


def _earliest() -> sa.Select[Any]:
    # min() over an IN list scans the index; one min() per status is one lookup each.
    parts = sa.union_all(*(sa.select(sa.func.min(Work.datestamp).label("at")).where(Work.status == status)
                           for status in (Status.published, Status.withdrawn))).subquery()
    return sa.select(sa.func.min(parts.c.at))


_EARLIEST = _earliest()


def earliest_datestamp(session: Session | sa.Connection) -> datetime | None:
    """The earliest datestamp of any record (published or withdrawn work)."""
    return session.scalar(_EARLIEST)


def header(work: Disseminated, context: RenderContext, set_specs: list[str]) -> etree._Element:
    """``<header>``: identifier, datestamp, setSpecs, and ``status="deleted"`` for a withdrawn
    work (§2.5.1: a persistent deletion keeps its header, with the withdrawal as datestamp)."""
    element = etree.Element(_HEADER, _DELETED if work.deleted else _NO_ATTRIBUTES, nsmap=envelope.NSMAP)
    sub = etree.SubElement
    sub(element, _IDENTIFIER).text = context.identifier(work.id)
    sub(element, _DATESTAMP).text = envelope.datestamp(work.datestamp)
    for spec in set_specs:  # made of slugs and paths already cleaned by load()
        sub(element, _SET_SPEC).text = spec
    return element


_HEADER, _IDENTIFIER, _DATESTAMP, _SET_SPEC = (f"{{{envelope.OAI_NS}}}{tag}" for tag in
                                               ("header", "identifier", "datestamp", "setSpec"))
_DELETED = {"status": "deleted"}
_NO_ATTRIBUTES: dict[str, str] = {}
