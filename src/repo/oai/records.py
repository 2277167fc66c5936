"""What an OAI record is made of, how it is loaded from SQL, and its header.

Everything here shapes a record's bytes, so the source of this module is part of their variant
(:mod:`repo.oai.cache`); the queries that only find records (lists, probes) are in
:mod:`repo.oai.queries`.

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
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from lxml import etree
from sqlalchemy.orm import Session

from repo.centres.models import Collection, MemberCentre
from repo.config import Settings
from repo.files.models import File
from repo.oai import envelope
from repo.works import visibility
from repo.works.models import Work, work_collections
from repo.works.service import oai_identifier
from repo.works.vocabularies import Status

HEADER_COLUMNS = (Work.id, Work.status, Work.type, Work.centre_id, Work.access_right, Work.embargo_end,
                  Work.datestamp, Work.version, Work.issn_l, Work.main_file, Work.published_at)
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
    issn_l: str | None = None  # the host journal's ISSN-L: set journal:<ISSN-L>, the JATS format
    main_file: str | None = None  # the file the editor named as the work's main file
    published_at: datetime | None = None  # first made public here (an embargo's start)

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


def dialect(connection: Session | sa.Connection) -> str:
    """The database dialect's name (``sqlite`` or ``postgresql``) of a session or a connection."""
    return (connection.get_bind() if isinstance(connection, Session) else connection).dialect.name


def centre_slugs(session: Session | sa.Connection) -> dict[int, str]:
    return {row.id: envelope.text(row.slug) for row in session.execute(sa.select(MemberCentre.id, MemberCentre.slug))}


def load(
    session: Session | sa.Connection, rows: Sequence[Any], centres: dict[int, str], *, with_metadata: bool
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
            issn_l=row.issn_l, main_file=row.main_file, published_at=row.published_at,
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
