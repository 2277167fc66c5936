"""Stored records (table ``oai_records``): when an entry may be served, and how entries are written.

An entry is served only while it is *fresh*: its ``datestamp`` and ``version`` equal the work's
current ones, its ``variant`` equals the running one, and ``valid_until`` (if any) is still ahead
of the response's moment. Why that is enough:

* every change of a work that a harvester can see bumps its ``version`` (a revision) or its
  ``datestamp`` (the end of a work's or a file's own embargo, the restamp after a commit);
* the variant digests the settings a record shows (base URL, repository identifier), the format,
  and the source of every module that renders records in that format (the shared ones, the
  format's own module and what it imports from ``repo.oai.formats``), so a deploy or a settings
  change never meets bytes made by the old code or settings, and a new or changed format leaves
  the other formats' bytes fresh;
* what the clock alone changes — an embargo that ends, the work's or a file's own — is bounded
  by ``valid_until``, the first such moment after the bytes were made (:func:`repo.oai.render.valid_until`).

A stale or missing entry is never served: the request renders that record itself (and stores
nothing: rendering on write is the renderer's job, :mod:`repo.oai.render`).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import pkgutil
import threading
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from repo.config import Settings
from repo.oai.models import CachedRecord

#: Modules whose code decides the bytes of a record in every format (besides the modules of
#: ``repo.oai.formats`` that the format's own module imports).
RENDERING_MODULES = ("repo.oai.envelope", "repo.oai.records", "repo.oai.sets", "repo.oai.render",
                     "repo.oai.provenance", "repo.works.visibility", "repo.works.vocabularies")
FORMATS = "repo.oai.formats"
# CPython 3.11 keeps ast.parse's recursion depth in state shared by every thread: two parses at
# once (a request's and the in-process renderer's first variant) may fail with "SystemError: AST
# constructor recursion depth mismatch" (python/cpython#106905). Seen once in tests/oai.
_PARSING = threading.Lock()


@lru_cache(maxsize=1)
def _sources() -> dict[str, bytes]:
    """The source of every module whose output may end up in a stored record, by module name."""
    from repo.works.service import oai_identifier

    names = [*RENDERING_MODULES, FORMATS]
    package = importlib.import_module(FORMATS)
    names += sorted(f"{FORMATS}.{m.name}" for m in pkgutil.iter_modules(package.__path__))
    sources = {name: inspect.getsource(importlib.import_module(name)).encode() for name in names}
    sources["repo.works.service.oai_identifier"] = inspect.getsource(oai_identifier).encode()
    return sources


def _imported_formats(name: str, source: bytes, modules: set[str]) -> set[str]:
    """The modules of ``repo.oai.formats`` (among ``modules``) that the module ``name`` imports,
    absolutely or relatively; ``from package import module`` imports the module, not the package."""
    package = name if name == FORMATS else name.rsplit(".", 1)[0]
    found = set()
    with _PARSING:
        tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[:len(parts) - node.level + 1] + [node.module or ""]) if node.level else node.module
            base = (base or "").rstrip(".")
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            found |= submodules
            if len(submodules) < len(node.names):
                found.add(base)  # names defined by the module itself
    return found & modules


def _closure(module: str, sources: dict[str, bytes]) -> set[str]:
    """``module`` and the modules of ``repo.oai.formats`` it imports, directly or not."""
    modules = {name for name in sources if name == FORMATS or name.startswith(FORMATS + ".")}
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or name not in modules:
            continue
        seen.add(name)
        todo.extend(_imported_formats(name, sources[name], modules))
    return seen


@lru_cache(maxsize=64)
def _code_digest(prefix: str) -> bytes:
    """The digest of the code that renders records in ``prefix``: the modules every format
    shares, and the format's own module with what it imports from ``repo.oai.formats`` (the
    registry itself only when the format is defined there). Another format's module is left out,
    so a new or changed format leaves the stored bytes of the others fresh."""
    import lxml.etree
    import pycountry

    from repo.oai.formats import REGISTRY

    sources = _sources()
    fmt = REGISTRY.get(prefix)
    module = getattr(fmt.crosswalk, "__module__", None) if fmt is not None else None
    own = _closure(module, sources) if module in sources else set(sources)  # (unknown: every module)
    digest = hashlib.sha256()
    for name, source in sorted(sources.items()):
        if not name.startswith(FORMATS) or name in own:
            digest.update(name.encode() + b"\0" + source + b"\0")
    # The serializer and the country names' data are part of the bytes too.
    digest.update(f"{lxml.etree.LXML_VERSION}|{getattr(pycountry, '__version__', '')}".encode())
    return digest.digest()


def pin() -> None:
    """Read the rendering code's source now. A process must do it when it starts: the digest is
    of the files on disk, and a process that first read them after a deploy had replaced them
    would label its old code's bytes with the new code's variant."""
    _sources()


def variant(settings: Settings, prefix: str) -> str:
    """What else the bytes of a record depend on, besides the work: code, settings, format."""
    return _variant(str(settings.base_url), str(settings.oai_repository_identifier), prefix)


@lru_cache(maxsize=64)
def _variant(base_url: str, repository_identifier: str, prefix: str) -> str:
    digest = hashlib.sha256(_code_digest(prefix))
    for part in (base_url, repository_identifier, prefix):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:32]


def fresh(prefix: str | sa.ColumnElement[Any], variant: str | sa.ColumnElement[Any],
          now: datetime | sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """The join condition of a work with its stored entry, true only for a fresh entry (values,
    or bound parameters of a query built once)."""
    from repo.works.models import Work

    return sa.and_(CachedRecord.work_id == Work.id, CachedRecord.prefix == prefix,
                   CachedRecord.datestamp == Work.datestamp, CachedRecord.version == Work.version,
                   CachedRecord.variant == variant,
                   sa.or_(CachedRecord.valid_until.is_(None), CachedRecord.valid_until > now))


def is_fresh(entry: Any, datestamp: datetime | None, version: int, variant: str, now: datetime) -> bool:
    """:func:`fresh` in Python, for an entry row and its work's current datestamp and version."""
    return (entry.datestamp == datestamp and entry.version == version and entry.variant == variant
            and (entry.valid_until is None or entry.valid_until > now))


def _layout_order(entry: dict[str, Any]) -> tuple[str, datetime, int]:
    return entry["prefix"], entry["datestamp"], entry["work_id"]


def store(connection: Any, entries: Sequence[dict[str, Any]]) -> None:
    """Insert or overwrite entries (dicts of the table's columns).

    An entry made from an older state of the work (a lower version, or the same version and an
    earlier datestamp) never replaces one made from a newer state: two renderers that raced over
    the same work leave the newer bytes. Bytes of another variant are replaced.

    New entries are written format by format, in (datestamp, work) order: a harvest reads one
    format in datestamp order, and rows appended in that order lie together in the table (SQLite's
    rowid, PostgreSQL's heap), so a harvest from a cold page cache reads nearly in sequence instead
    of one random page per record (migration 1702 laid out what existed before). An entry that
    replaces another stays where it was on SQLite (an in-place update), so re-rendering after a
    deploy keeps the layout.
    """
    if not entries:
        return
    entries = sorted(entries, key=_layout_order)
    dialect = postgresql if connection.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(CachedRecord)
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[CachedRecord.work_id, CachedRecord.prefix],
        set_={"datestamp": new.datestamp, "version": new.version, "variant": new.variant,
              "valid_until": new.valid_until, "xml": new.xml},
        where=sa.or_(new.version > CachedRecord.version,
                     sa.and_(new.version == CachedRecord.version, new.datestamp >= CachedRecord.datestamp),
                     new.variant != CachedRecord.variant),
    )
    connection.execute(statement, list(entries))
