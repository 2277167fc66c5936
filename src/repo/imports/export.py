"""Export: every work, every field, in the import layout (:mod:`.layout`), streamed.

A page of works (by id) at a time is read in its own short transaction, straight from the columns
(no ORM objects), turned into JSON Lines or CSV and handed on, so memory stays flat however many
works there are. Each record carries what an import needs to make the same work again — the
deposit record, its status (and withdrawal reason), its files (``--files DIR``: copied there, by
content, as ``<sha256>/<name>``) and an ``external_id``: the one the work was imported with, else
its OAI identifier here — plus this repository's ``id`` and times, which an import ignores.
Exporting, importing into an empty repository and exporting again gives the same bytes but for
ids and times.

An export is not a snapshot: a work changed while the export runs is exported as it is when its
page is read.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic_core
import sqlalchemy as sa

from repo.centres.models import Collection, MemberCentre
from repo.config import Settings
from repo.db import Database
from repo.files.models import File
from repo.files.storage import FileStore, blob_key
from repo.imports import layout
from repo.ingest.models import IngestRecord
from repo.works import repository as works_repository
from repo.works.models import Work, work_collections
from repo.works.service import oai_identifier

PAGE = 1000
FORMATS = ("jsonl", "csv")
MEDIA_TYPES = {"jsonl": "application/jsonl", "csv": "text/csv; charset=utf-8"}
BOM = "\ufeff"  # Excel reads a CSV file as UTF-8 only with it


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    centre: str | None = None
    collection: str | None = None


def _text_columns(postgres: bool) -> list[Any]:
    """The columns an export record takes as text, made so by the database: the deposit record as
    its JSON text (parsed by pydantic-core, several times quicker than the driver's ``json.loads``)
    and the times as ``2026-11-27T23:53:29Z`` (UTC columns, to the second), so that no ``datetime``
    is made, moved to UTC and formatted again in Python for each of them."""
    if postgres:
        def instant(column: Any) -> Any:
            return sa.func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        doc = sa.cast(Work.doc, sa.Text)
        embargo_end = sa.func.to_char(Work.embargo_end, "YYYY-MM-DD")
    else:  # SQLite keeps both as ISO 8601 text already
        def instant(column: Any) -> Any:
            return sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", column)
        doc = sa.type_coerce(Work.doc, sa.Text)
        embargo_end = sa.type_coerce(Work.embargo_end, sa.Text)
    return [doc.label("doc"), embargo_end.label("embargo_end"),
            *(instant(c).label(c.key) for c in (Work.created_at, Work.updated_at, Work.published_at, Work.withdrawn_at))]


def _conditions(session: Any, filters: Filters) -> list[Any]:
    """Which works ``filters`` keep (on works joined with their centre)."""
    conditions: list[Any] = []
    if filters.status:
        conditions.append(Work.status == filters.status)
    if filters.centre:
        conditions.append(MemberCentre.slug == filters.centre)
    if filters.collection:
        found = works_repository.collection_by_slug(session, filters.collection)
        conditions.append(works_repository.in_collection_tree(found.path) if found else sa.false())
    return conditions


def records(db: Database, settings: Settings, filters: Filters, files_dir: Path | None = None,
            storage: FileStore | None = None, after: int = 0, upto: int | None = None) -> Iterator[dict[str, Any]]:
    """Every work matching ``filters`` (with an id above ``after``, and at most ``upto``) as an export
    record (see :func:`layout.export_record`), by id; with ``files_dir``, the works' files are
    copied there from ``storage``."""
    last = after
    text_columns = _text_columns(db.engine.dialect.name == "postgresql")
    from_json = pydantic_core.from_json
    while True:
        with db.session() as session:
            conditions = [Work.id > last, *_conditions(session, filters)]
            if upto is not None:
                conditions.append(Work.id <= upto)
            page = session.execute(
                sa.select(Work.id, Work.status, Work.type, MemberCentre.slug, Work.access_right, Work.main_file,
                          Work.withdrawal_reason, *text_columns)
                .join(MemberCentre, MemberCentre.id == Work.centre_id)
                .where(*conditions).order_by(Work.id).limit(PAGE)).all()
            if not page:
                return
            ids = [row.id for row in page]
            collections: dict[int, list[str]] = {}
            for work_id, slug in session.execute(
                    sa.select(work_collections.c.work_id, Collection.slug)
                    .join(Collection, Collection.id == work_collections.c.collection_id)
                    .where(work_collections.c.work_id.in_(ids)).order_by(Collection.path)):
                collections.setdefault(work_id, []).append(slug)
            external = dict(session.execute(
                sa.select(IngestRecord.work_id, IngestRecord.external_id).where(
                    IngestRecord.work_id.in_(ids), IngestRecord.role == "owner",
                    IngestRecord.feed.like("import:%")).order_by(IngestRecord.id)).all())
            attached: dict[int, list[dict[str, Any]]] = {}
            if files_dir is not None:
                for file in session.execute(sa.select(File.work_id, File.name, File.sha256, File.access_right,
                                                      File.embargo_end)
                                            .where(File.work_id.in_(ids)).order_by(File.work_id, File.name)):
                    assert storage is not None, "files are copied from a file store"
                    attached.setdefault(file.work_id, []).append(_copy(storage, files_dir, file))
        for row in page:
            yield layout.export_record({
                "id": row.id, "external_id": external.get(row.id) or oai_identifier(settings, row.id),
                "status": row.status, "type": row.type, "centre": row.slug,
                "collections": collections.get(row.id, []), "access_right": row.access_right,
                "embargo_end": row.embargo_end, "main_file": row.main_file, "metadata": from_json(row.doc),
                "withdrawal_reason": row.withdrawal_reason, "files": attached.get(row.id),
                "created": row.created_at, "updated": row.updated_at,
                "published": row.published_at, "withdrawn": row.withdrawn_at})
        last = ids[-1]


def _copy(storage: FileStore, files_dir: Path, file: Any) -> dict[str, Any]:
    """Copy a file's bytes into the export's files directory (once per content) and say where."""
    relative = f"{file.sha256}/{file.name}"
    target = files_dir / file.sha256 / file.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        with partial.open("wb") as out:
            for chunk in storage.read(blob_key(file.sha256)):
                out.write(chunk)
        partial.replace(target)
    found: dict[str, Any] = {"path": relative}
    if file.access_right:
        found["access_right"] = file.access_right
    if file.embargo_end:
        found["embargo_end"] = file.embargo_end.isoformat()
    return found


def stream(db: Database, settings: Settings, format: str, filters: Filters, files_dir: Path | None = None,
           storage: FileStore | None = None) -> Iterator[bytes]:
    """The export as bytes, a page of works per chunk."""
    if format == "csv":
        yield _csv_head(files_dir is not None)
    yield from _body(records(db, settings, filters, files_dir, storage), format, files_dir is not None)


def _csv_head(files: bool) -> bytes:
    """What comes before a CSV export's first work: the byte order mark and the header."""
    out = io.StringIO()
    out.write(BOM)
    csv.writer(out, lineterminator="\r\n").writerow(
        ["id", *(c.name for c in layout.columns(files=files)), *layout.EXPORT_ONLY[1:]])
    return out.getvalue().encode()


def _body(source: Iterator[dict[str, Any]], format: str, files: bool) -> Iterator[bytes]:
    """The works of ``source`` as JSON Lines or CSV rows, a page of works per chunk."""
    if format == "jsonl":
        buffer: list[str] = []
        for record in source:  # pydantic-core writes what json.dumps(ensure_ascii=False, compact) writes, quicker
            buffer.append(pydantic_core.to_json(record).decode())
            if len(buffer) >= PAGE:
                yield ("\n".join(buffer) + "\n").encode()
                buffer.clear()
        if buffer:
            yield ("\n".join(buffer) + "\n").encode()
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    count = 0
    cells = layout.cell_maker(layout.columns(files=files))
    neutralise = layout.neutralise
    times = layout.EXPORT_ONLY[1:]
    for record in source:
        row = [str(record["id"]), *cells(record), *(record.get(k) or "" for k in times)]
        writer.writerow([neutralise(c) if c else c for c in row])
        count += 1
        if count % PAGE == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    if count % PAGE:
        yield out.getvalue().encode()


#: Works per task of a parallel export.
TASK = 5_000


def parallel_stream(db: Database, settings: Settings, format: str, filters: Filters, jobs: int,
                    task: int = TASK) -> Iterator[bytes]:
    """The same bytes as :func:`stream` (without files), made by ``jobs`` processes when at least
    ``settings.export_parallel_from`` works are exported: each process turns a range of ids into
    its part of the export, and the parts are handed on in id order, a few at most waiting in
    memory. (An export is CPU work in Python: on two cores, two processes make it nearly twice as
    quick.) The processes are forked when this one runs no other thread (the CLI), after its
    connections are closed, so they start at once; else spawned (a second or so each)."""
    with db.session() as session:
        ids = session.scalars(sa.select(Work.id).join(MemberCentre, MemberCentre.id == Work.centre_id)
                              .where(*_conditions(session, filters)).order_by(Work.id)).all()
    if jobs < 2 or len(ids) < max(settings.export_parallel_from, 1):
        yield from stream(db, settings, format, filters)
        return
    ranges = [(ids[i - 1] if i else 0, ids[min(i + task, len(ids)) - 1]) for i in range(0, len(ids), task)]
    if format == "csv":
        yield _csv_head(False)
    fork = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    if fork:
        db.dispose()  # no connection of this process is shared with a child
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork" if fork else "spawn"))
    try:
        waiting: deque[Future[bytes]] = deque()
        for after, upto in ranges:
            waiting.append(pool.submit(_part, settings, format, filters, after, upto))
            if len(waiting) > 2 * jobs:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)


_DATABASES: dict[str, Database] = {}  # one per export process


def _part(settings: Settings, format: str, filters: Filters, after: int, upto: int) -> bytes:
    """A task of :func:`parallel_stream`: the works with ids in ``(after, upto]``."""
    url = settings.resolved_database_url
    db = _DATABASES.get(url) or _DATABASES.setdefault(url, Database(url))
    return b"".join(_body(records(db, settings, filters, after=after, upto=upto), format, files=False))
