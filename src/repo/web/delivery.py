"""How pages, feeds and sitemaps travel: HEAD on every GET route, conditional GET, compression.

Two plain ASGI wrappers (no request object, no Starlette middleware base class), registered in
:mod:`repo.app`:

* :class:`HeadAsGet` answers ``HEAD`` on every route that has ``GET`` and no ``HEAD`` of its own
  (RFC 9110 §9.3.2: the same header fields, no body), once for the whole application instead of
  route by route. Routes with their own ``HEAD`` (file downloads, which then skip reading the
  bytes) keep it.
* :class:`Compress` compresses text responses — pages, Atom feeds, sitemaps, citation exports —
  with Brotli or gzip as the request's ``Accept-Encoding`` prefers, gives them a validator and
  answers ``If-None-Match``/``If-Modified-Since`` with ``304``. A handler that knows its validator
  before rendering (:func:`check`) has already answered the 304 itself, in a millisecond or two;
  for the others the validator is a digest of the body. File downloads (``Accept-Ranges``,
  ``Content-Range``), bodies already encoded and streamed lists longer than
  :data:`MAX_BUFFERED` pass through untouched (OAI-PMH compresses its own responses).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import brotli
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import repo

#: Response media types worth compressing (the reading room's text, not the API's JSON).
COMPRESSIBLE = (b"text/html", b"application/xml", b"application/atom+xml", b"text/css", b"text/javascript",
                b"text/plain", b"application/ld+json", b"application/vnd.citationstyles.csl+json",
                b"application/x-bibtex", b"application/x-research-info-systems", b"image/svg+xml")
MIN_SIZE = 512  # smaller bodies gain nothing worth the header
MAX_BUFFERED = 16 * 1024 * 1024  # a body larger than this streams through as it is
BROTLI_QUALITY = 5  # dynamic content: ~ gzip's speed at a better ratio
GZIP_LEVEL = 6


# -- HEAD -----------------------------------------------------------------------------------------------


class HeadAsGet:
    """``HEAD`` as ``GET`` without the body, for every route that has ``GET`` but no ``HEAD``."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app, self.router = app, router

    def _has_own_head(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] == Match.FULL for route in self.router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "GET":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "HEAD":
            await self.app(scope, receive, self._allowing_head(send))
            return
        if self._has_own_head(scope):
            await self.app(scope, receive, send)
            return

        async def bodyless(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, bodyless)


    @staticmethod
    def _allowing_head(send: Send) -> Send:
        """A 405's ``Allow`` lists HEAD wherever it lists GET (RFC 9110 §10.2.1: what is supported)."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = []
                for name, value in message.get("headers", ()):
                    methods = [m.strip() for m in value.decode("latin-1").split(",")]
                    if name.lower() == b"allow" and "GET" in methods and "HEAD" not in methods:
                        value = ", ".join([*methods, "HEAD"]).encode("latin-1")
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        return sending


# -- validators ------------------------------------------------------------------------------------------


def _code_fingerprint() -> str:
    """What every rendering depends on besides the data: the version, templates and catalogs."""
    digest = hashlib.blake2b(repo.__version__.encode(), digest_size=8)
    web = Path(__file__).parent
    for path in sorted([*web.glob("templates/*.html"), *web.glob("translations/*/LC_MESSAGES/*.po"),
                        *web.glob("*.py")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


CODE = _code_fingerprint()


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match, weak comparison (RFC 9110 §13.1.2); ``*`` matches any."""
    if not header:
        return False
    wanted = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == wanted for tag in (t.strip() for t in header.split(",")))


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def _not_modified_since(header: str | None, last_modified: datetime | None) -> bool:
    if not header or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False  # RFC 9110 §13.1.3: an invalid date is ignored
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


class NotModified(Exception):
    """Raised by :func:`check` when the client's copy is current: the route answers 304."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("not modified")
        self.headers = headers

    def response(self) -> Response:
        return Response(status_code=304, headers=self.headers)


def validator(*parts: Any) -> str:
    """A weak entity tag for a representation determined by ``parts`` (and the code)."""
    digest = hashlib.blake2b(repr((CODE, parts)).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def check(request: Request, parts: Iterable[Any], last_modified: datetime | None = None,
          vary: str = "Accept-Language, Cookie") -> None:
    """Decide a conditional GET before rendering: remember the validators for the response
    (see :class:`Compress`), or raise :class:`NotModified` when the client's copy is current.

    ``parts`` must determine the representation: the data it shows, its language and anything
    time-dependent (pages that show access or an access date include the day).
    """
    etag = validator(*parts)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": f"{vary}, Accept-Encoding".lstrip(", ")}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    request.state.validators = headers
    if_none_match = request.headers.get("if-none-match")
    if etag_matches(if_none_match, etag) or (
            if_none_match is None and _not_modified_since(request.headers.get("if-modified-since"), last_modified)):
        raise NotModified(headers)


def apply(request: Request, response: Response) -> Response:
    """Put the validators :func:`check` decided on a successful response."""
    headers = getattr(request.state, "validators", None)
    if headers and response.status_code == 200:
        for name, value in headers.items():
            if name not in response.headers:
                response.headers[name] = value
    return response


# -- compression -----------------------------------------------------------------------------------------


def choose_encoding(header: str) -> str | None:
    """``br`` or ``gzip`` as ``Accept-Encoding`` allows and prefers (ties: br); None for identity."""
    quality: dict[str, float] = {}
    for part in header.split(",")[:20]:
        coding, _, params = part.strip().partition(";")
        q = 1.0
        key, _, value = params.strip().partition("=")
        if key.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        quality[coding.strip().lower()] = q
    star = quality.get("*", 0.0)
    best = max(("br", "gzip"), key=lambda c: (quality.get(c, star), c == "br"))
    return best if quality.get(best, star) > 0 else None


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def _add_vary(headers: list[tuple[bytes, bytes]], field: bytes) -> list[tuple[bytes, bytes]]:
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if field.lower() not in value.lower():
                headers[index] = (name, value + b", " + field)
            return headers
    return [*headers, (b"vary", field)]


class Compress:
    """Validators, 304 and Brotli/gzip for the text responses of GET requests (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        request_headers = {k.lower(): v for k, v in scope["headers"]}
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def wrapped(message: Message) -> None:
            nonlocal start, size, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                if not self._eligible(message):
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BUFFERED:  # too large to hold: send what there is and stream the rest
                passing = True
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks),
                            "more_body": message.get("more_body", False)})
                return
            if not message.get("more_body", False):
                await self._finish(start, b"".join(chunks), request_headers, send)

        await self.app(scope, receive, wrapped)

    @staticmethod
    def _eligible(start: Message) -> bool:
        if start["status"] != 200:
            return False
        names = {name.lower(): value for name, value in start.get("headers", ())}
        if b"content-encoding" in names or b"content-range" in names or b"accept-ranges" in names:
            return False
        return names.get(b"content-type", b"").split(b";")[0].strip() in COMPRESSIBLE

    @staticmethod
    async def _finish(start: Message, body: bytes, request_headers: dict[bytes, bytes], send: Send) -> None:
        headers = [(n, v) for n, v in start.get("headers", ()) if n.lower() != b"content-length"]
        present = {n.lower(): v for n, v in headers}
        etag = present.get(b"etag")
        if etag is None:  # no validator decided before rendering: the body's digest
            etag = validator(hashlib.blake2b(body, digest_size=16).hexdigest()).encode()
            headers.append((b"etag", etag))
            if b"cache-control" not in present:
                headers.append((b"cache-control", b"no-cache"))
        if etag_matches(request_headers.get(b"if-none-match", b"").decode("latin-1"), etag.decode("latin-1")):
            kept = [(n, v) for n, v in headers if n.lower() in (b"etag", b"cache-control", b"vary", b"last-modified",
                                                                 b"content-location", b"expires")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        encoding = choose_encoding(request_headers.get(b"accept-encoding", b"").decode("latin-1"))
        headers = _add_vary(headers, b"Accept-Encoding")
        if encoding is not None and len(body) >= MIN_SIZE:
            body = compress(body, encoding)
            headers.append((b"content-encoding", encoding.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})
