"""The rules of files: who may upload, what is accepted, who may read, what a change records.

* **Upload** (editors of the work's centre, admins): the name is checked first (NFC, no path
  separators, no control characters, ≤ 255 bytes of UTF-8, an allowed extension), then the body is
  streamed to a temporary file — hashed on the way, never past ``settings.upload_max_bytes`` —
  and only then sniffed: the bytes must be an allowed type that agrees with the name's extension
  and with any declared Content-Type. Only a fully accepted upload reaches its content address.
* **Changes**: drafts and published works accept new files, replacements, deletions and access
  changes; on a published work each change writes a revision and bumps the OAI datestamp
  (:func:`repo.works.service.touch`). A published work's file list is not frozen — DSpace lets
  administrators edit bitstreams of archived items; here the revision history (old and new
  sha256 per change) is the audit trail. Withdrawn works are frozen (409).
* **Reading**: a file follows its work's access right unless it has its own
  (:func:`repo.works.visibility.can_read_file`), decided at the moment of the request, so an
  embargo opens by itself when it ends. The same check guards the bytes, the thumbnail and the
  extracted text, and decides whether links to them are shown at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import anyio
import anyio.to_thread
import sqlalchemy as sa
from pydantic import ValidationError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repo.context import Context
from repo.errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ProblemError,
    Unprocessable,
    UnsupportedMediaType,
    validation_errors,
)
from repo.files import extraction
from repo.files.models import File
from repo.files.schemas import FileAccessIn, FileLinks, FileList, FileOut
from repo.files.sniff import TEXT, VTT, Verdict, expected_for_name, normalise_declared, sniff
from repo.files.storage import Blob, BlobWriter, FileStore, blob_key, hash_chunks, thumbnail_key
from repo.search import outbox
from repo.works import repository
from repo.works import service as works
from repo.works import visibility
from repo.works.models import Work
from repo.works.vocabularies import AccessRight, Status

MAX_NAME_BYTES = 255
BATCH = 1 << 20  # bytes handed to the writer thread at a time
FORM_OVERHEAD = 1 << 20  # multipart framing and small fields allowed beyond the file limit


def storage_of(ctx: Context) -> FileStore:
    if ctx.files is None:
        raise RuntimeError("this context has no file store (the composition root gives one)")
    return ctx.files


# -- names and types --------------------------------------------------------------------------------


_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(raw: str, field: str = "name") -> str:
    """The file name in NFC, or 422 naming ``field``: no separators, controls, dot-names, > 255 bytes."""
    name = unicodedata.normalize("NFC", raw)
    problem = None
    if not name.strip():
        problem = "the name is empty"
    elif "/" in name or "\\" in name:
        problem = "the name must not contain '/' or '\\'"
    elif name in (".", "..") or name.startswith("."):
        problem = "the name must not start with '.'"
    elif any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        # Cf includes the bidi overrides that disguise "gpj.exe" as "exe.jpg".
        problem = "the name must not contain control or formatting characters"
    elif name != name.strip():
        problem = "the name must not start or end with white space"
    elif len(name.encode("utf-8")) > MAX_NAME_BYTES:
        problem = f"the name is longer than {MAX_NAME_BYTES} bytes in UTF-8"
    elif expected_for_name(name) is None:
        problem = "the name's extension is not one of the accepted kinds (pdf, epub, txt, mp3, ogg, flac, wav, " \
                  "m4a, mp4, webm, ogv, jpg, png, gif, webp, tif…)"
    if problem:
        raise Unprocessable("The file name is not acceptable.", errors=[FieldError(field, problem)])
    return name


def media_type_of(name: str, blob: Blob, declared: str | None, declared_field: str = "header.content-type") -> str:
    """The sniffed media type, when the bytes are allowed and agree with the name and declaration."""
    if blob.size == 0:
        raise Unprocessable("The file is empty.", errors=[FieldError("body", "a file needs at least one byte")])
    verdict = sniff(blob.head, blob.tail, blob.size)
    if verdict.media_type is None:
        error = Unprocessable if verdict.damaged else UnsupportedMediaType
        raise error(f"The file is not accepted: {verdict.reason}.", errors=[FieldError("body", verdict.reason)])
    expected = expected_for_name(name)
    if expected == TEXT and verdict.media_type == VTT:
        verdict = Verdict(TEXT)  # captions kept as a .txt are plain text
    if expected != verdict.media_type:
        raise UnsupportedMediaType(
            f"The file is named as {expected} but its bytes are {verdict.media_type}.",
            errors=[FieldError("name", f"the extension does not match the content ({verdict.media_type})")],
        )
    stated = normalise_declared(declared)
    if stated is not None and stated != verdict.media_type:
        raise UnsupportedMediaType(
            f"The declared type {stated} contradicts the file's bytes ({verdict.media_type}).",
            errors=[FieldError(declared_field, f"the content is {verdict.media_type}")],
        )
    return verdict.media_type


# -- lookups ----------------------------------------------------------------------------------------


def _by_name(session: Session, work_id: int, name: str) -> File | None:
    if _UNSTORABLE.search(name):
        return None  # no stored name has a control character (clean_name); PostgreSQL refuses NUL
    return session.scalar(sa.select(File).where(File.work_id == work_id, File.name == name))


def _files(session: Session, work_id: int) -> list[File]:
    return list(session.scalars(sa.select(File).where(File.work_id == work_id).order_by(File.name)))


def _require_changeable(work: Work) -> None:
    if work.status == Status.withdrawn:
        raise Conflict("The files of a withdrawn work cannot be changed.")


def _precheck(ctx: Context, work_id: int, if_match: str | None) -> None:
    """Refuse early (before receiving the body) what :func:`works.get_editable` will refuse, without a lock."""
    ctx.principal.require_user()
    work = repository.get(ctx.session, work_id)
    if work is None or not visibility.can_read(ctx.principal, work):
        raise NotFound(f"No work {work_id}.")
    ctx.principal.require_centre(work.centre_id)
    _require_changeable(work)
    if if_match is not None and if_match.strip() != "*":
        if works.etag(work) not in {t.strip().removeprefix("W/") for t in if_match.split(",")}:
            raise PreconditionFailed(f"The work changed since you read it (now version {work.version}).")


def readable(ctx: Context, work_id: int, name: str) -> tuple[Work, File]:
    """The work and file whose content this principal may read now: 404/410 for the work, 403 closed."""
    work = works.get_readable(ctx, work_id)
    file = _by_name(ctx.session, work.id, unicodedata.normalize("NFC", name))
    if file is None:
        raise NotFound(f"Work {work_id} has no file named {name!r}.")
    if not visibility.can_read_file(ctx.principal, work, file, ctx.now):
        access, embargo_end = visibility.file_access(work, file)
        if access == AccessRight.embargoed and embargo_end is not None:
            closed = Forbidden(f"This file is under embargo until {embargo_end.isoformat()}.")
            closed.page_context = {"embargo_end": embargo_end}  # a browser's error page gives the date
            raise closed
        raise Forbidden("This file is not openly accessible; sign in as an editor of its member centre.")
    return work, file


# -- representation ---------------------------------------------------------------------------------


def _summary(file: File | None) -> dict[str, Any] | None:
    if file is None:
        return None
    return {"sha256": file.sha256, "size": file.size, "media_type": file.media_type,
            "access_right": file.access_right,
            "embargo_end": file.embargo_end.isoformat() if file.embargo_end else None}


def to_out(ctx: Context, work: Work, file: File) -> FileOut:
    api = f"{ctx.settings.base_url}/api/works/{work.id}/files/{quote(file.name, safe='')}"
    links = FileLinks(self=api)
    # Links and checksums only for those who may read the bytes: nothing here points at closed
    # bytes or lets anyone confirm a guess of their content.
    readable = visibility.can_read_file(ctx.principal, work, file, ctx.now)
    if readable:
        public = f"{ctx.settings.base_url}/works/{work.id}/files/{quote(file.name, safe='')}"
        links.download = public
        links.thumbnail = f"{public}/thumbnail" if file.has_thumbnail else None
        links.text = f"{public}/text" if file.text_state == extraction.DONE else None
    access, embargo_end = visibility.file_access(work, file)
    return FileOut(
        name=file.name, media_type=file.media_type, size=file.size,
        sha256=file.sha256 if readable else None, md5=file.md5 if readable else None,
        access_right=file.access_right, embargo_end=file.embargo_end,  # type: ignore[arg-type]
        effective_access=visibility.effective_access(access, embargo_end, ctx.now),
        open=visibility.file_is_open(work, file, ctx.now), text_state=file.text_state,
        text_error=file.text_error, has_thumbnail=file.has_thumbnail, created=file.created_at,
        updated=file.updated_at, links=links,
    )


def list_files(ctx: Context, work_id: int) -> FileList:
    work = works.get_readable(ctx, work_id)
    return FileList(items=[to_out(ctx, work, f) for f in _files(ctx.session, work.id)])


def get_file(ctx: Context, work_id: int, name: str) -> FileOut:
    work = works.get_readable(ctx, work_id)
    file = _by_name(ctx.session, work.id, unicodedata.normalize("NFC", name))
    if file is None:
        raise NotFound(f"Work {work_id} has no file named {name!r}.")
    return to_out(ctx, work, file)


# -- changes ----------------------------------------------------------------------------------------


async def upload(
    ctx: Context,
    work_id: int,
    raw_name: str,
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: str | None,
    if_match: str | None,
    access: FileAccessIn | None,
) -> tuple[Work, File, bool]:
    """``PUT``: store the streamed body as file ``raw_name`` of the work; ``(work, file, created)``."""
    await anyio.to_thread.run_sync(_precheck, ctx, work_id, if_match)
    name = clean_name(raw_name)
    limit = ctx.settings.upload_max_bytes
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise PayloadTooLarge(f"The file exceeds the upload limit of {limit} bytes.")
    with storage_of(ctx).writer(limit) as writer:
        await _pump(body, writer.write, limit)
        blob = await anyio.to_thread.run_sync(writer.finish)
        return await anyio.to_thread.run_sync(
            lambda: _attach(ctx, work_id, name, writer, blob, content_type, "header.content-type", if_match, access)
        )


async def upload_form(
    ctx: Context, work_id: int, body: AsyncIterator[bytes], *, content_type: str | None, if_match: str | None
) -> tuple[Work, File, bool]:
    """``POST multipart/form-data``: one part ``file`` (its filename names the file), optional
    fields ``access_right`` and ``embargo_end``. The part is streamed straight into storage."""
    await anyio.to_thread.run_sync(_precheck, ctx, work_id, if_match)
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("Send multipart/form-data with a boundary, or PUT the bytes to /files/{name}.",
                                   errors=[FieldError("header.content-type", "expected multipart/form-data")])
    form = _Form(storage_of(ctx), ctx.settings.upload_max_bytes, boundary)
    try:
        await _pump(body, form.write, ctx.settings.upload_max_bytes + FORM_OVERHEAD)
        writer, name = form.result()
        access = parse_access(form.fields)
        blob = await anyio.to_thread.run_sync(writer.finish)
        return await anyio.to_thread.run_sync(
            lambda: _attach(ctx, work_id, name, writer, blob, form.part_type, "file.content-type", if_match, access)
        )
    finally:
        form.close()


async def _pump(body: AsyncIterator[bytes], sink: Callable[[bytes], None], max_total: int) -> None:
    """Feed the body to ``sink`` in ~1 MiB batches on a worker thread; 413 past ``max_total`` bytes.

    Receiving and writing overlap: while a worker thread hashes and writes one batch, the event
    loop gathers the next (a queue of one batch bounds the memory to a few MiB per upload).
    """
    send, receive = anyio.create_memory_object_stream[bytes](1)

    async def consume() -> None:
        async with receive:
            async for data in receive:
                await anyio.to_thread.run_sync(sink, data)

    async def produce() -> None:
        pending: list[bytes] = []
        size = total = 0
        async with send:
            async for chunk in body:
                total += len(chunk)
                if total > max_total:
                    raise PayloadTooLarge(f"The request body exceeds the upload limit of {max_total} bytes.")
                pending.append(chunk)
                size += len(chunk)
                if size >= BATCH:
                    await send.send(b"".join(pending))
                    pending.clear()
                    size = 0
            if pending:
                await send.send(b"".join(pending))

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await produce()
    except BaseExceptionGroup as group_error:
        # Surface the first meaningful error (a 413 from either side, a client disconnect…).
        problems = group_error.subgroup(lambda e: isinstance(e, ProblemError))
        raise (problems.exceptions[0] if problems else group_error.exceptions[0]) from None


def _attach(
    ctx: Context, work_id: int, name: str, writer: BlobWriter, blob: Blob, declared: str | None,
    declared_field: str, if_match: str | None, access: FileAccessIn | None,
) -> tuple[Work, File, bool]:
    work = works.get_editable(ctx, work_id, if_match)
    _require_changeable(work)
    media_type = media_type_of(name, blob, declared, declared_field)
    existing = _by_name(ctx.session, work.id, name)
    before = _summary(existing)
    writer.commit()  # every check passed: the bytes go to their content address
    file = existing or File(work_id=work.id, name=name, created_at=ctx.now)
    if existing is None or existing.sha256 != blob.sha256:
        file.media_type, file.size, file.sha256, file.md5 = media_type, blob.size, blob.sha256, blob.md5
        file.text_state, file.text, file.text_error, file.has_thumbnail = extraction.PENDING, None, None, False
        file.text_claimed_until = None  # new bytes: any worker may take them at once
    if access is not None:
        file.access_right, file.embargo_end = access.access_right, access.embargo_end
        _arm(file, ctx.now)
    if existing is None:
        ctx.session.add(file)
    after = _summary(file)
    if before != after:
        file.updated_at = ctx.now
        try:
            ctx.session.flush()
        except IntegrityError:
            # Two uploads of one new name raced (SQLite has no row lock to serialise them).
            raise Conflict(f"Another upload of {name!r} completed first; send yours again to replace it.") from None
        works.touch(ctx, work, "files", [{"field": f"files.{name}", "old": before, "new": after}])
    return work, file, existing is None


def set_access(ctx: Context, work_id: int, name: str, data: FileAccessIn, if_match: str | None) -> tuple[Work, File]:
    """Give a file its own access right (or ``null``: follow the work again)."""
    work, file = _editable_file(ctx, work_id, name, if_match)
    before = _summary(file)
    file.access_right, file.embargo_end = data.access_right, data.embargo_end
    _arm(file, ctx.now)
    if _summary(file) != before:
        file.updated_at = ctx.now
        ctx.session.flush()
        works.touch(ctx, work, "files", [{"field": f"files.{file.name}", "old": before, "new": _summary(file)}])
    return work, file


def delete(ctx: Context, work_id: int, name: str, if_match: str | None) -> None:
    """Remove a file from a work (its bytes stay until ``repo files gc`` finds them unreferenced)."""
    work, file = _editable_file(ctx, work_id, name, if_match)
    before = _summary(file)
    ctx.session.delete(file)
    ctx.session.flush()
    changes = [{"field": f"files.{file.name}", "old": before, "new": None}]
    if work.main_file == file.name:  # the main file is gone: the default rule chooses again
        work.main_file = None
        changes.append({"field": "main_file", "old": file.name, "new": None})
    works.touch(ctx, work, "files", changes)


def _editable_file(ctx: Context, work_id: int, name: str, if_match: str | None) -> tuple[Work, File]:
    """A file of a work this principal may change (401/403/404/409/412 as for the work)."""
    work = works.get_editable(ctx, work_id, if_match)
    _require_changeable(work)
    file = _by_name(ctx.session, work.id, unicodedata.normalize("NFC", name))
    if file is None:
        raise NotFound(f"Work {work_id} has no file named {name!r}.")
    return work, file


def _arm(file: File, now: datetime) -> None:
    """Mark a file whose own embargo is still running, so its end can move the work's datestamp."""
    file.embargo_pending = bool(
        file.access_right == AccessRight.embargoed
        and file.embargo_end is not None
        and visibility.embargo_lifts_at(file.embargo_end) > now
    )


def lift_file_embargoes(session: Session, now: datetime) -> int:
    """Give each published work whose file's own embargo ended a datestamp at that moment.

    The file link then appears in what harvesters receive (OAI-PMH serves only open files), so
    the record must reappear in incremental harvests; the outbox row makes search show the
    file's text. Called from :func:`repo.works.service.lift_embargoes`; an indexed lookup.
    """
    due = session.scalars(
        sa.select(File).where(File.embargo_pending.is_(True), File.embargo_end <= now.date())
    ).all()
    for file in due:
        lifted = visibility.embargo_lifts_at(file.embargo_end)  # type: ignore[arg-type]
        if lifted > now:
            continue
        file.embargo_pending = False
        work = session.get(Work, file.work_id)
        if work is not None and work.status == Status.published:
            work.datestamp = max(work.datestamp or lifted, lifted)
            outbox.enqueue(session, work.id, "embargo_end", now)
    session.flush()
    return len(due)


# -- multipart ------------------------------------------------------------------------------------


class _Form:
    """A streaming multipart/form-data reader: the ``file`` part goes straight to a BlobWriter
    (no spooling, no copy in memory); the few small fields are kept as text."""

    FIELDS = ("access_right", "embargo_end")
    MAX_FIELD = 256

    def __init__(self, storage: FileStore, limit: int, boundary: bytes) -> None:
        self.storage, self.limit = storage, limit
        self.writer: BlobWriter | None = None
        self.name: str | None = None
        self.part_type: str | None = None
        self.fields: dict[str, str] = {}
        self.ended = False
        self._headers: dict[str, str] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._kind: str | None = None
        self._field = ""
        self._value = bytearray()
        self.parser = MultipartParser(boundary, callbacks={
            "on_part_begin": self._part_begin, "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end,
        })

    def write(self, data: bytes) -> None:
        try:
            self.parser.write(data)
        except (Unprocessable, PayloadTooLarge):
            raise
        except Exception as exc:  # python-multipart's parse errors
            raise BadRequest(f"Malformed multipart body: {exc}") from None

    def result(self) -> tuple[BlobWriter, str]:
        if not self.ended:
            raise BadRequest("The multipart body ended early (no closing boundary).")
        if self.writer is None or self.name is None:
            raise Unprocessable("No file was sent.", errors=[FieldError("file", "send one part named 'file' with a filename")])
        return self.writer, self.name

    def close(self) -> None:
        if self.writer is not None and not self.writer.done:
            self.writer.abort()

    def _part_begin(self) -> None:
        self._headers, self._kind = {}, None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value.decode("utf-8", "replace")
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", "").encode("utf-8"))
        field = options.get(b"name", b"").decode("utf-8", "replace")
        if field == "file":
            if self.writer is not None:
                raise Unprocessable("Send one file per request.", errors=[FieldError("file", "more than one file part")])
            filename = options.get(b"filename")
            if not filename:
                raise Unprocessable("The file part has no filename.", errors=[FieldError("file", "missing filename")])
            try:
                decoded = filename.decode("utf-8")
            except UnicodeDecodeError:
                raise Unprocessable("The file name is not UTF-8.", errors=[FieldError("file.filename", "not UTF-8")]) from None
            self.name = clean_name(decoded, "file.filename")
            self.part_type = self._headers.get("content-type")
            self.writer = self.storage.writer(self.limit)
            self._kind = "file"
        elif field in self.FIELDS:
            self._kind, self._field = "field", field
            self._value.clear()
        else:
            raise Unprocessable("Unexpected form field.", errors=[FieldError(field or "form", "not a field of this form")])

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._kind == "file" and self.writer is not None:
            self.writer.write(data[start:end])
        elif self._kind == "field":
            self._value += data[start:end]
            if len(self._value) > self.MAX_FIELD:
                raise Unprocessable("A form field is too long.", errors=[FieldError(self._field, "too long")])

    def _part_end(self) -> None:
        if self._kind == "field":
            self.fields[self._field] = self._value.decode("utf-8", "replace")

    def _end(self) -> None:
        self.ended = True


def parse_access(fields: dict[str, str | None], source: str = "") -> FileAccessIn | None:
    """Access fields (query parameters or form fields) as a :class:`FileAccessIn`; None when absent."""
    values = {k: v for k, v in fields.items() if v}
    if not values:
        return None
    try:
        return FileAccessIn.model_validate(values)
    except ValidationError as exc:
        errors = [FieldError(source + e["field"] if e["field"] != "body" else source.rstrip(".") or "body", e["message"])
                  for e in validation_errors(exc.errors())]
        raise Unprocessable("Invalid access fields.", errors=errors) from None


# -- operations -----------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    checked: int
    mismatches: list[tuple[str, str]]  # (sha256, what differs)
    missing: list[str]


def verify(session: Session, storage: FileStore, progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Re-hash every stored blob that a file row references; report mismatches and missing blobs."""
    rows = session.execute(
        sa.select(File.sha256, sa.func.min(File.md5), sa.func.min(File.size)).group_by(File.sha256).order_by(File.sha256)
    ).all()
    report = VerifyReport(0, [], [])
    for sha256, md5, size in rows:
        try:
            actual_sha, actual_md5, actual_size = hash_chunks(storage.read(blob_key(sha256)))
        except FileNotFoundError:
            report.missing.append(sha256)
        else:
            if (actual_sha, actual_md5, actual_size) != (sha256, md5, size):
                report.mismatches.append((sha256, f"stored bytes hash to {actual_sha} (md5 {actual_md5}, {actual_size} bytes)"))
        report.checked += 1
        if progress is not None:
            progress(size)
    return report


def total_bytes(session: Session) -> int:
    sizes = sa.select(File.sha256, sa.func.min(File.size).label("size")).group_by(File.sha256).subquery()
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(sizes.c.size), 0))) or 0)


def collect_garbage(session: Session, storage: FileStore, now: datetime, grace: timedelta) -> list[str]:
    """Delete blobs and thumbnails no file references, and what interrupted uploads left, older
    than ``grace``; the keys removed (and a line per swept upload).

    The grace period protects bytes that an upload has placed but not yet committed.
    """
    referenced = set(session.scalars(sa.select(File.sha256).distinct()))
    cutoff = (now - grace).timestamp()
    removed: list[str] = []
    for key, modified in [*storage.listing("sha256/"), *storage.listing("thumbnails/")]:
        sha256 = key.rsplit("/", 1)[-1].removesuffix(".png")
        if sha256 not in referenced and modified <= cutoff and key in (blob_key(sha256), thumbnail_key(sha256)):
            storage.delete(key)
            removed.append(key)
    removed += [f"(interrupted upload {n + 1})" for n in range(storage.sweep_uploads(cutoff))]
    return removed


# -- files from a directory (imports) ---------------------------------------------------------------


def store_local(ctx: Context, work_id: int, path: Path, name: str, access: FileAccessIn | None) -> File:
    """Attach the file at ``path`` (on this machine: an import's files directory) to a work as
    ``name``, exactly as an upload: the same name rules, streaming, hashing, size limit, sniffing,
    revision and datestamp (in the caller's unit of work; its text is extracted after the commit)."""
    name = clean_name(name)
    with storage_of(ctx).writer(ctx.settings.upload_max_bytes) as writer, path.open("rb") as source:
        while data := source.read(BATCH):
            writer.write(data)
        blob = writer.finish()
        _, file, _ = _attach(ctx, work_id, name, writer, blob, None, "body", None, access)
    return file


def check_local(path: Path, name: str, limit: int) -> str:
    """What :func:`store_local` would say of the file, without storing it (an import's dry run):
    its media type, or the :class:`ProblemError` it would raise."""
    name = clean_name(name)
    size = path.stat().st_size
    if size > limit:
        raise PayloadTooLarge(f"The file exceeds the upload limit of {limit} bytes.")
    from repo.files.sniff import HEAD_BYTES, TAIL_BYTES

    with path.open("rb") as source:
        head = source.read(HEAD_BYTES)
        source.seek(max(0, size - TAIL_BYTES))
        tail = source.read(TAIL_BYTES)
    return media_type_of(name, Blob("", "", size, head, tail), None)
