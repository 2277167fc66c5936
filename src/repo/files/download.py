"""HTTP delivery of stored bytes: Range (RFC 9110 §14), conditional requests, safe headers.

Streams from the file store in fixed chunks (constant memory whatever the size; ranged reads, so
a Range on object storage fetches only its bytes). Several ranges are sent
as ``multipart/byteranges``; a syntactically invalid Range is ignored (the whole file, §14.2);
a Range none of whose parts is satisfiable is 416 with ``Content-Range: bytes */size``.
Every response carries ``X-Content-Type-Options: nosniff`` and a Content-Disposition with an
ASCII fallback and the exact name as ``filename*=UTF-8''…`` (RFC 6266 §4.3 / RFC 8187).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Generator, Mapping
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from repo.context import Context
from repo.errors import NotFound, ProblemError, RangeNotSatisfiable, problem_response
from repo.files.models import File
from repo.files.service import storage_of
from repo.files.storage import FileStore, blob_key, thumbnail_key, thumbnail_type
from repo.works import visibility
from repo.works.models import Work

MAX_RANGES = 64
_RANGE = re.compile(r"^[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*$")  # ASCII digits only
# Media types a browser may show in the page: never markup (none is allowed to be stored anyway).
INLINE = ("application/pdf", "image/", "audio/", "video/")


def parse_range(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """Satisfiable ``[start, end)`` ranges, sorted and coalesced; None to send the whole file.

    Raises :class:`RangeNotSatisfiable` when the header is valid but no range overlaps the file.
    """
    if header is None:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    parts = spec.split(",")
    if len(parts) > MAX_RANGES:
        return None  # §14.2: a server may ignore a Range it deems abusive
    ranges: list[tuple[int, int]] = []
    for part in parts:
        match = _RANGE.match(part)
        if match is None or match.groups() == ("", ""):
            return None  # §14.2: an invalid Range is ignored
        first, last = match.groups()
        if first:
            start = int(first)
            if last and int(last) < start:
                return None  # invalid: last-pos before first-pos
            end = min(int(last) + 1, size) if last else size
            if start < size:
                ranges.append((start, end))
        else:
            suffix = int(last)
            if suffix > 0 and size > 0:
                ranges.append((max(size - suffix, 0), size))
    if not ranges:
        raise RangeNotSatisfiable(f"No requested range overlaps the file's {size} bytes.",
                                  headers={"Content-Range": f"bytes */{size}"})
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match: weak comparison (RFC 9110 §13.1.2), ``*`` matches any."""
    if header is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)


def content_disposition(kind: str, name: str) -> str:
    """``kind; filename="ascii"; filename*=UTF-8''exact`` (RFC 6266 §4.3)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class _Streamed(Response):
    """A Response that FastAPI passes through untouched; subclasses write their own messages."""

    def __init__(self) -> None:
        self.status_code, self.background, self.raw_headers = 200, None, []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.respond(scope, receive, send)
        if self.background is not None:
            await self.background()

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class FileStream(_Streamed):
    """An ASGI response for one stored file (GET and HEAD), honouring Range/If-Range/If-None-Match."""

    def __init__(
        self, store: FileStore, key: str, *, size: int, media_type: str, etag: str, headers: Mapping[str, str],
        request_headers: Mapping[str, str], method: str,
    ) -> None:
        super().__init__()
        self.store, self.key, self.size, self.media_type, self.etag = store, key, size, media_type, etag
        self.extra = {"ETag": etag, "Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff", **headers}
        self.head_only = method == "HEAD"
        self.request_headers = request_headers

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        if etag_matches(self.request_headers.get("if-none-match"), self.etag):
            await self._start(send, 304, {})
            await send({"type": "http.response.body", "body": b""})
            return
        if_range = self.request_headers.get("if-range")
        try:
            ranges = parse_range(self.request_headers.get("range"), self.size)
        except RangeNotSatisfiable as exc:
            response = problem_response(exc)
            response.headers.update({"Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff"})
            await response(scope, receive, send)
            return
        if ranges is not None and if_range is not None and if_range.strip() != self.etag:
            ranges = None  # §13.1.5: the representation changed, send it whole
        if ranges is None:
            await self._start(send, 200, {"Content-Type": self.media_type, "Content-Length": str(self.size)})
            await self._body(send, [(0, self.size)])
        elif len(ranges) == 1:
            start, end = ranges[0]
            await self._start(send, 206, {"Content-Type": self.media_type, "Content-Length": str(end - start),
                                          "Content-Range": f"bytes {start}-{end - 1}/{self.size}"})
            await self._body(send, ranges)
        else:
            await self._multipart(send, ranges)

    async def _start(self, send: Send, status: int, extra: dict[str, str]) -> None:
        headers = {**self.extra, **extra}
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]})

    async def _body(self, send: Send, ranges: list[tuple[int, int]], parts: list[bytes] | None = None,
                    closing: bytes = b"") -> None:
        if self.head_only:
            await send({"type": "http.response.body", "body": b""})
            return
        for index, (start, end) in enumerate(ranges):
            if parts is not None:
                await send({"type": "http.response.body", "body": parts[index], "more_body": True})
            chunks = self.store.read(self.key, start, end)
            try:
                while (chunk := await anyio.to_thread.run_sync(_next, chunks)) is not None:
                    start += len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            finally:
                chunks.close()  # a client gone mid-body: the stored object's stream is closed too
            if start < end:
                raise RuntimeError(f"{self.key} is shorter than its recorded size")
        await send({"type": "http.response.body", "body": closing, "more_body": False})

    async def _multipart(self, send: Send, ranges: list[tuple[int, int]]) -> None:
        boundary = secrets.token_hex(16)
        parts = [
            (f"{'' if i == 0 else chr(13) + chr(10)}--{boundary}\r\nContent-Type: {self.media_type}\r\n"
             f"Content-Range: bytes {start}-{end - 1}/{self.size}\r\n\r\n").encode("latin-1")
            for i, (start, end) in enumerate(ranges)
        ]
        closing = f"\r\n--{boundary}--\r\n".encode("latin-1")
        length = sum(len(p) for p in parts) + sum(end - start for start, end in ranges) + len(closing)
        await self._start(send, 206, {"Content-Type": f"multipart/byteranges; boundary={boundary}",
                                      "Content-Length": str(length)})
        await self._body(send, ranges, parts, closing)


def _cache_headers(public: bool) -> dict[str, str]:
    # Open content may be cached but is revalidated (its access may change); closed content
    # reached with a token must never sit in a shared cache.
    return {"Cache-Control": "public, no-cache" if public else "private, no-store", "Vary": "Authorization"}


def _next(chunks: Generator[bytes, None, None]) -> bytes | None:
    return next(chunks, None)


def file_response(store: FileStore, key: str, *, name: str, size: int, media_type: str, sha256: str, public: bool,
                  request_headers: Mapping[str, str], method: str) -> FileStream:
    """The stored bytes: inline only for types a browser shows safely (PDF, images, audio, video)."""
    kind = "inline" if media_type.startswith(INLINE) else "attachment"
    served = "text/plain; charset=utf-8" if media_type == "text/plain" else media_type
    headers = {"Content-Disposition": content_disposition(kind, name), **_cache_headers(public)}
    return FileStream(store, key, size=size, media_type=served, etag=f'"{sha256}"', headers=headers,
                      request_headers=request_headers, method=method)


def thumbnail_response(store: FileStore, key: str, *, size: int, name: str, sha256: str, public: bool,
                       request_headers: Mapping[str, str], method: str, media_type: str = "image/png") -> FileStream:
    stem = name.rpartition(".")[0] or name
    suffix = media_type.rpartition("/")[2]
    headers = {"Content-Disposition": content_disposition("inline", f"{stem}.thumbnail.{suffix}"), **_cache_headers(public)}
    return FileStream(store, key, size=size, media_type=media_type, etag=f'"thumb-{sha256}"',
                      headers=headers, request_headers=request_headers, method=method)


class TextResponse(_Streamed):
    """The extracted text as UTF-8 plain text (an attachment named ``<name>.txt``)."""

    def __init__(self, text: str, *, name: str, sha256: str, public: bool,
                 request_headers: Mapping[str, str], method: str) -> None:
        super().__init__()
        self.body = text.encode("utf-8")
        self.etag = f'"text-{sha256}"'
        self.extra = {"ETag": self.etag, "X-Content-Type-Options": "nosniff",
                        "Content-Disposition": content_disposition("attachment", f"{name}.txt"),
                        "Content-Type": "text/plain; charset=utf-8", **_cache_headers(public)}
        self.request_headers, self.head_only = request_headers, method == "HEAD"

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, body = 200, self.body
        if etag_matches(self.request_headers.get("if-none-match"), self.etag):
            status, body = 304, b""
        headers = {**self.extra, "Content-Length": str(len(body))} if status == 200 else dict(self.extra)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": b"" if self.head_only else body})


class StoredFileMissing(ProblemError):
    status, title = 500, "Stored file missing"


def serve(request: Request, ctx: Context, work: Work, file: File, part: str) -> Response:
    """The response for ``part`` (``file``, ``thumbnail`` or ``text``) of a file the asker may read."""
    storage = storage_of(ctx)
    public = visibility.file_is_open(work, file, ctx.now)
    common = {"public": public, "request_headers": request.headers, "method": request.method}
    if part == "thumbnail":
        key = thumbnail_key(file.sha256)
        size = storage.size(key) if file.has_thumbnail else None
        if size is None:
            raise NotFound(f"{file.name!r} has no thumbnail (extraction: {file.text_state}).")
        return thumbnail_response(storage, key, size=size, name=file.name, sha256=file.sha256,
                                  media_type=thumbnail_type(file.media_type), **common)
    if part == "text":
        if file.text_state != "done" or file.text is None:
            raise NotFound(f"{file.name!r} has no extracted text (extraction: {file.text_state}"
                           f"{': ' + file.text_error if file.text_error else ''}).")
        return TextResponse(file.text, name=file.name, sha256=file.sha256, **common)
    key = blob_key(file.sha256)
    if not storage.exists(key):
        raise StoredFileMissing("The file's bytes are missing from storage; run 'repo files verify'.")
    return file_response(storage, key, name=file.name, size=file.size, media_type=file.media_type,
                         sha256=file.sha256, **common)
