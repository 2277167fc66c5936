"""Read-through dissemination cache of serialized ``<record>`` elements (table ``oai_records``).

Why it cannot serve stale data: an entry is used only when the work's *current* ``datestamp``
and ``version`` equal the ones it was rendered from, and its ``variant`` equals the running
one. Every change of what a harvester receives bumps one of them: edits, publication,
withdrawal and file changes add a revision (``version``) and bump the datestamp; the end of a
work's or a file's own embargo bumps the datestamp (:func:`repo.works.service.lift_embargoes`,
run before each list request). The variant is a digest of the settings that appear in a record
(base URL, repository identifier) and of the source of the modules that render records, so a
changed crosswalk or setting never meets bytes made by the old one. What the clock alone changes
is covered too: an embargo's end is a datestamp bump, and a deleted record's header does not
depend on the time (a tombstone is in the open sets whatever its access right). An entry found
stale is rendered again and overwritten.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repo.config import Settings
from repo.db import Database
from repo.oai.models import CachedRecord

log = logging.getLogger("repo.oai")

Entry = tuple[int, datetime, int, bytes]  # work id, datestamp, version, serialized <record>


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    """The source of every module whose output ends up in a cached record."""
    import lxml.etree
    import pycountry

    from repo.oai import envelope, records, sets
    from repo.oai.formats import base, oai_dc
    from repo.oai.verbs import get_record
    from repo.works import visibility, vocabularies
    from repo.works.service import oai_identifier

    digest = hashlib.sha256()
    for code in (envelope, records, sets, base, oai_dc, get_record, visibility, vocabularies, oai_identifier):
        digest.update(inspect.getsource(code).encode())
    # The serializer and the country names' data are part of the bytes too.
    digest.update(f"{lxml.etree.LXML_VERSION}|{getattr(pycountry, '__version__', '')}".encode())
    return digest.digest()


def variant(settings: Settings, prefix: str) -> str:
    """What else the bytes of a record depend on, besides the work: code, settings, format."""
    return _variant(str(settings.base_url), str(settings.oai_repository_identifier), prefix)


@lru_cache(maxsize=64)
def _variant(*parts: str) -> str:
    digest = hashlib.sha256(_code_digest())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:32]


def fresh(prefix: str, variant: str) -> sa.ColumnElement[bool]:
    """The join condition of a work with its cache entry, true only for a fresh entry."""
    from repo.works.models import Work

    return sa.and_(CachedRecord.work_id == Work.id, CachedRecord.prefix == prefix,
                   CachedRecord.datestamp == Work.datestamp, CachedRecord.version == Work.version,
                   CachedRecord.variant == variant)


def store(session: Session, prefix: str, variant: str, entries: Sequence[Entry]) -> None:
    """Insert or overwrite entries (a concurrent writer of the same entry wrote the same bytes
    or bytes for another datestamp/version, which the freshness check tells apart)."""
    if not entries:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(CachedRecord)
    statement = statement.on_conflict_do_update(
        index_elements=[CachedRecord.work_id, CachedRecord.prefix],
        set_={"datestamp": statement.excluded.datestamp, "version": statement.excluded.version,
              "variant": statement.excluded.variant, "xml": statement.excluded.xml},
    )
    session.execute(statement, [
        {"work_id": work_id, "prefix": prefix, "datestamp": datestamp, "version": version,
         "variant": variant, "xml": xml}
        for work_id, datestamp, version, xml in entries
    ])


def write_back(db: Database, prefix: str, variant: str, entries: Sequence[Entry]) -> None:
    """Store what a response rendered, in a short unit of work of its own. The cache only saves
    work: if the write fails (a work purged meanwhile, a locked database) the harvest goes on and
    the records are rendered again next time."""
    if not entries:
        return
    try:
        with db.session() as session:
            store(session, prefix, variant, entries)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("OAI cache: %d records not stored: %s", len(entries), exc.__class__.__name__)
