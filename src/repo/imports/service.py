"""Imports: receiving a file (checked whole before anything is queued), registering the import,
reading its state and report. Editors import into their own centres; administrators anywhere.

A file is received into ``<data dir>/imports`` (our copy: an import resumes from it even if the
original moves), hashed, its encoding decided and — for CSV — its header read. A file that cannot
be imported at all is refused there and then (422 naming the field: ``format``, ``file``,
``encoding``, ``centre``, ``collection``, ``files``), and nothing is stored.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from repo.context import Context
from repo.errors import FieldError, NotFound, PayloadTooLarge, Unprocessable
from repo.imports import repository
from repo.imports.models import Import
from repo.imports.readers import (
    FORMATS,
    SAMPLE,
    FileProblem,
    detect_encoding,
    guess_format,
    normalise_encoding,
    open_reader,
    store_utf8,
)
from repo.imports.schemas import ImportOut, ImportProblemOut
from repo.works import repository as works_repository

CHUNK = 1 << 20


@dataclass(frozen=True)
class Options:
    """What an import is asked to do (the CLI's options, the API's query parameters)."""

    centre: str
    filename: str
    format: str | None = None
    collection: str | None = None
    publish: bool = False
    dry_run: bool = False
    files_dir: Path | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class Received:
    """A file received into the imports directory (not yet registered)."""

    path: Path
    size: int
    sha256: str


def imports_dir(ctx: Context) -> Path:
    path = Path(ctx.settings.data_dir) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def receive_path(ctx: Context, source: Path) -> Received:
    """Copy a file of this machine into the imports directory."""
    with source.open("rb") as handle:
        return _receive(ctx, handle)


async def receive_stream(ctx: Context, body: AsyncIterator[bytes]) -> Received:
    """Stream a request body into the imports directory (413 past the upload limit)."""
    import anyio.to_thread

    limit = ctx.settings.upload_max_bytes
    fd, name = tempfile.mkstemp(dir=imports_dir(ctx), prefix="upload-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in body:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"The file exceeds the upload limit of {limit} bytes.")
                digest.update(chunk)
                await anyio.to_thread.run_sync(out.write, chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Received(Path(name), size, digest.hexdigest())


def _receive(ctx: Context, handle: BinaryIO) -> Received:
    fd, name = tempfile.mkstemp(dir=imports_dir(ctx), prefix="upload-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while data := handle.read(CHUNK):
                digest.update(data)
                size += len(data)
                out.write(data)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Received(Path(name), size, digest.hexdigest())


def start(ctx: Context, options: Options, received: Received, *, resume: bool = False) -> tuple[Import, bool]:
    """Register an import of a received file: ``(import, resumed)``. Everything that concerns the
    whole file is checked first (422 naming the field; the received copy is then deleted). With
    ``resume``, an unfinished import of the same bytes and options is returned instead."""
    try:
        return _start(ctx, options, received, resume)
    except BaseException:
        received.path.unlink(missing_ok=True)
        raise


def _start(ctx: Context, options: Options, received: Received, resume: bool) -> tuple[Import, bool]:
    ctx.principal.require_user()
    centre = works_repository.centre_by_slug(ctx.session, options.centre)
    if centre is None:
        raise Unprocessable("Unknown member centre.", errors=[FieldError("centre", f"no centre '{options.centre}'")])
    ctx.principal.require_centre(centre.id)
    format = options.format or guess_format(options.filename)
    if format not in FORMATS:
        raise Unprocessable("Unknown import format.", errors=[FieldError(
            "format", f"{options.format or 'the file name'!r} is not one of {', '.join(FORMATS)}")])
    collection = None
    if options.collection:
        collection = works_repository.collection_by_slug(ctx.session, options.collection)
        if collection is None:
            raise Unprocessable("Unknown collection.",
                                errors=[FieldError("collection", f"no collection '{options.collection}'")])
    files_dir = None
    if options.files_dir is not None:
        if not options.files_dir.is_dir():
            raise Unprocessable("The files directory does not exist.",
                                errors=[FieldError("files", f"{options.files_dir} is not a directory")])
        files_dir = str(options.files_dir.resolve())
    if resume:
        found = repository.resumable(ctx.session, received.sha256, centre.id, format,
                                     collection.id if collection else None, options.publish, options.dry_run,
                                     files_dir)
        if found is not None:
            received.path.unlink(missing_ok=True)
            return found, True
    if received.size == 0:
        raise Unprocessable("The file is empty.", errors=[FieldError("file", "the file has no bytes")])
    try:
        if options.encoding:
            encoding, note = normalise_encoding(options.encoding), None
        else:
            with received.path.open("rb") as handle:
                encoding, note = detect_encoding(handle.read(SAMPLE))
        if encoding.startswith("utf-16"):
            store_utf8(received.path)
            encoding = "utf-8"
        reader = open_reader(received.path, format, encoding)
    except FileProblem as exc:
        raise Unprocessable("The file cannot be imported.", errors=[FieldError(exc.field, exc.message)]) from None
    except UnicodeError as exc:
        raise Unprocessable("The file cannot be decoded.", errors=[FieldError("encoding", str(exc))]) from None
    stored = f"{uuid.uuid4().hex}.{format}"
    received.path.replace(imports_dir(ctx) / stored)
    job = Import(
        centre=centre, centre_id=centre.id, collection=collection, collection_id=collection.id if collection else None,
        format=format, filename=options.filename[:500], stored=stored, size=received.size, sha256=received.sha256,
        encoding=encoding, note=reader.note or note, publish=options.publish, dry_run=options.dry_run,
        files_dir=files_dir, actor=ctx.principal.name, actor_role=ctx.principal.role,
        actor_centres=sorted(ctx.principal.centre_ids), token_id=ctx.principal.token_id, status="queued",
        created_at=ctx.now, rows=0, offset=0, seen=0, created=0, updated=0, unchanged=0, linked=0, skipped=0,
        failed=0, attempts=0)
    ctx.session.add(job)
    ctx.session.flush()
    return job, False


def get(ctx: Context, import_id: int) -> Import:
    """An import this principal may see: its centre's editors, administrators."""
    ctx.principal.require_user()
    job = repository.get(ctx.session, import_id)
    if job is None or not ctx.principal.can_edit_centre(job.centre_id):
        raise NotFound(f"No import {import_id}.")
    return job


def to_out(ctx: Context, job: Import, *, problems: int = 100) -> ImportOut:
    base = f"{ctx.settings.base_url}/api/imports/{job.id}"
    return ImportOut(
        id=job.id, status=job.status, format=job.format, filename=job.filename, size=job.size, sha256=job.sha256,
        encoding=job.encoding, note=job.note, centre=job.centre.slug,
        collection=job.collection.slug if job.collection else None, publish=job.publish, dry_run=job.dry_run,
        created=job.created_at, started=job.started_at, finished=job.finished_at, rows=job.rows,
        bytes_read=job.offset if job.format != "bibtex" else (job.size if job.status == "succeeded" else 0),
        seen=job.seen, created_works=job.created, updated=job.updated, unchanged=job.unchanged, linked=job.linked,
        skipped=job.skipped, failed=job.failed, error=job.error,
        problems_total=repository.problem_count(ctx.session, job.id),
        problems=[problem_out(p) for p in repository.problems(ctx.session, job.id, problems)],
        links={"self": base, "report": f"{base}/report"})


def problem_out(problem: object) -> ImportProblemOut:
    return ImportProblemOut.model_validate(problem, from_attributes=True)


def recent(ctx: Context, limit: int = 50) -> list[Import]:
    """The latest imports this principal may see (its centres'; all for administrators)."""
    ctx.principal.require_user()
    centres = None if ctx.principal.is_admin else sorted(ctx.principal.centre_ids)
    return list(repository.recent(ctx.session, centres, limit))


def report(ctx: Context, job: Import, after: int, limit: int) -> list[ImportProblemOut]:
    """A page of the report: the lines (by their ids) after ``after``."""
    return [problem_out(p) for p in repository.problems(ctx.session, job.id, limit, after=after)]
