"""The OAI-PMH endpoint: ``GET /oai?verb=…`` and ``POST /oai`` (form-encoded), OAI-PMH §3.1.1.

Every answer, errors included, is HTTP 200 ``text/xml; charset=UTF-8`` (§3.1.2, §3.6).

It is a pure ASGI middleware, the innermost one (:class:`OAIEndpoint`), that answers ``/oai``
ahead of FastAPI's exception handling and routing and passes every other path on: an OAI request
needs no dependency injection, validation or response model, and a harvest is thousands of
requests, each of which would pay for them. The middleware outside it (security headers, the
header limit) applies to ``/oai`` as to every path.

The arguments are read raw (repeats kept); the reply is produced in one worker-thread call per
:data:`SEND_BYTES` of body (one for most responses, sent with a ``Content-Length``), compressed
there when the client asks (§3.1.3). The verbs that read one row or none (:data:`INLINE_VERBS`)
are answered on the event loop itself: their query costs less than the two thread switches
(measured), which a loaded machine makes longer still. Should such a request have to write (lift
an embargo that ended a moment ago, :class:`repo.oai.service.Deferred`), it is answered by a
worker thread after all, so the loop never waits for a write.

After a list page that ends with a resumption token, the next page is made at once in the
background, for the request the harvester will send next (:mod:`repo.oai.readahead`): the server
makes it while the harvester reads this one.

A POST body is read up to :data:`MAX_BODY` bytes; a larger one is not read further and gets a
``badArgument`` answer (HTTP 200, like every OAI error), not a transport error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Receive, Scope, Send

from repo.errors import MethodNotAllowed, database_problem, problem_response
from repo.oai import compression, readahead, service
from repo.oai.arguments import pairs_from_query
from repo.operations.metrics import OAI_READ_AHEAD, OAI_RECORDS

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # far beyond any OAI-PMH request (a token and a few short arguments)
SEND_BYTES = 256 * 1024  # body produced per worker-thread call (a ListRecords page of 100: one)
INLINE_VERBS = frozenset({"Identify", "GetRecord", "ListMetadataFormats"})


def _first(provider: service.Provider, pairs: list[tuple[str, str]] | None,
           encoding: str | None) -> tuple[service.Reply, Iterator[bytes], bytes, bool]:
    """The reply to one request, its body (the reading is done, the serializing is left to the
    iterator, compressed if asked) and the first :data:`SEND_BYTES` of it, and whether that is all.
    A reply made around its envelope (one record, Identify) is one piece: it is compressed in one
    call and nothing is left to iterate."""
    reply = service.respond(provider, pairs)
    whole = reply.whole()
    if whole is not None:  # one record, Identify: no stream to make
        return reply, _NOTHING_MORE, compression.compressed(whole, encoding) if encoding else whole, True
    body = reply.body(provider.base_url)
    if encoding:
        body = compression.compress(body, encoding)
    return (reply, body, *_pull(body))


class _NothingMore(Iterator[bytes]):
    """The rest of a body sent whole: nothing (closed like the stream it stands for)."""

    def __next__(self) -> bytes:
        raise StopIteration

    def close(self) -> None:
        pass


_NOTHING_MORE = _NothingMore()


def _pull(body: Iterator[bytes]) -> tuple[bytes, bool]:
    """The next :data:`SEND_BYTES` (or more) of ``body``, and whether it is the end."""
    parts: list[bytes] = []
    size = 0
    for chunk in body:
        parts.append(chunk)
        size += len(chunk)
        if size >= SEND_BYTES:
            return b"".join(parts), False
    return b"".join(parts), True


def _made_ahead(provider: service.Provider, pairs: list[tuple[str, str]], encoding: str | None) -> readahead.Page | None:
    """The page a request with ``pairs`` would get now, made before it is asked for (in the
    read-ahead's thread), or ``None`` when it cannot be made ahead (:mod:`repo.oai.readahead`)."""
    with service.ahead():
        try:
            reply, body, data, done = _first(provider, pairs, encoding)
        except service.Deferred:
            return None  # it would have to write
        body.close()  # type: ignore[attr-defined]
    page = reply.listing
    if not done or page is None or page.generation is None:
        return None  # an error reply, or a page of more than one send
    return readahead.Page(data, page.generation, page.sent, page.next_token, reply.response_date)


def _inline(pairs: list[tuple[str, str]] | None) -> bool:
    verbs = [value for key, value in pairs or () if key == "verb"]
    return len(verbs) == 1 and verbs[0] in INLINE_VERBS


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or ``None`` when it exceeds :data:`MAX_BODY` (then left unread)."""
    parts: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        parts.append(chunk)
        more = message.get("more_body", False)
    return b"".join(parts)


class OAIEndpoint:
    """ASGI middleware: ``/oai`` (GET, HEAD, POST) answered here, everything else passed to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/oai":
            await self.app(scope, receive, send)
            return
        scope["route_template"] = "/oai"  # the request metrics' route (repo.operations.middleware)
        if scope["method"] not in ("GET", "HEAD", "POST"):
            refusal = MethodNotAllowed("OAI-PMH requests are GET or POST (§3.1.1).",
                                       headers={"Allow": "GET, HEAD, POST"})
            await problem_response(refusal)(scope, receive, send)
        else:
            await self.answer(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive) if scope["method"] == "POST" else scope["query_string"]
        encoding = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                encoding = compression.negotiate(value.decode("latin-1"))
                break
        provider = service.Provider.of(scope["app"].state)
        pairs = None if raw is None else pairs_from_query(raw.decode("utf-8", "replace"))
        ahead = provider.settings.oai_read_ahead and scope["method"] != "HEAD"
        key = readahead.key_of(pairs, encoding) if ahead else None
        if key is not None and await self.made_ahead(provider, key, send):
            return
        # The loop's own executor: a third of anyio.to_thread's cost per call (measured), which
        # matters at thousands of requests per harvest.
        loop = asyncio.get_running_loop()
        try:
            answered = None
            if _inline(pairs):
                try:
                    with service.on_loop():
                        answered = _first(provider, pairs, encoding)
                except service.Deferred:
                    pass  # it has to write: a worker thread answers it
            if answered is None:
                answered = await loop.run_in_executor(None, _first, provider, pairs, encoding)
        except DBAPIError as exc:  # answered ahead of the app's handlers: the database restarting is a 503
            problem = database_problem(exc)
            if problem is None:
                raise
            await problem_response(problem)(scope, receive, send)
            return
        reply, body, data, done = answered
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": _headers(encoding, len(data) if done else None)})
            if scope["method"] == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send({"type": "http.response.body", "body": data, "more_body": not done})
            while not done:
                data, done = await loop.run_in_executor(None, _pull, body)
                await send({"type": "http.response.body", "body": data, "more_body": not done})
        finally:
            body.close()  # type: ignore[attr-defined]  # a generator: ends its database work
        if ahead and reply.listing is not None and reply.listing.next_token is not None:
            self.read_ahead(provider, reply.verb, reply.listing.next_token, encoding)

    async def made_ahead(self, provider: service.Provider, key: readahead.Key, send: Send) -> bool:
        """Answer with the page made ahead for ``key``, if there is one and it may be served."""
        making = provider.pages.take(key)
        if making is None:
            return False
        try:
            page = await asyncio.wrap_future(making)
        except Exception:  # made as any answer: a failure there is the live request's to meet
            log.debug("a page made ahead failed", exc_info=True)
            page = None
        if page is None:
            OAI_READ_AHEAD.labels("unmade").inc()
            return False
        try:
            with service.on_loop(), provider.read() as connection:  # one row: on the loop, as the one-row verbs
                current = readahead.generation(connection)
        except DBAPIError:
            current = None  # the request is answered live, which meets the database's state itself
        if not page.fresh(current, provider.now()):
            OAI_READ_AHEAD.labels("stale").inc()
            return False
        OAI_READ_AHEAD.labels("served").inc()
        OAI_RECORDS.labels(key[0]).inc(page.records)  # /metrics: records served
        await send({"type": "http.response.start", "status": 200, "headers": _headers(key[2], len(page.body))})
        await send({"type": "http.response.body", "body": page.body, "more_body": False})
        if page.next_token is not None:
            self.read_ahead(provider, key[0], page.next_token, key[2])
        return True

    @staticmethod
    def read_ahead(provider: service.Provider, verb: str | None, token: str, encoding: str | None) -> None:
        """Have the next page of a list made now, for the request that will ask for it."""
        assert verb is not None
        pairs = [("verb", verb), ("resumptionToken", token)]
        provider.pages.start((verb, token, encoding), lambda: _made_ahead(provider, pairs, encoding))


def _headers(encoding: str | None, length: int | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", service.MEDIA_TYPE.encode()), (b"vary", b"Accept-Encoding")]
    if encoding:
        headers.append((b"content-encoding", encoding.encode()))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return headers

