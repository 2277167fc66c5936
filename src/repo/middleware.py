"""ASGI middleware: a cap on request bodies that handlers read whole (JSON, forms), a cap on
request headers, and the security headers of every response; the outer layer that applies the
last two with the request's observation (:class:`Edge`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repo.errors import FieldError, HeadersTooLarge, PayloadTooLarge, Unprocessable, problem_response, wants_page


MAX_JSON_DEPTH = 64  # a deposit record nests 5 levels; Python's parsers recurse (RecursionError)
_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether ``body`` (any bytes) opens more than ``limit`` arrays or objects at once, outside
    strings. Looks only at brackets, quotes and backslashes, and stops as soon as it knows."""
    depth, in_string, escaped_at = 0, False, -1
    for match in _STRUCTURE.finditer(body):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue  # the byte after a backslash
            if char == b"\\":
                escaped_at = at + 1
            elif char == b'"':
                in_string = False
            continue
        if char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def _may_be_json(content_type: bytes) -> bool:
    """Bodies a handler may parse as JSON: JSON types, and no type at all (FastAPI reads it as JSON)."""
    kind = content_type.split(b";")[0].strip().lower()
    return not kind or kind.endswith(b"/json") or kind.endswith(b"+json")


class BodyLimit:
    """413 for a body larger than ``max_bytes``, checked on Content-Length and while reading;
    422 for a JSON body nested deeper than :data:`MAX_JSON_DEPTH`.

    Paths matching ``streamed`` (file uploads) are left to their handler's own, larger limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: str = r"^/api/works/[^/]+/files") -> None:
        self.app, self.max_bytes, self.streamed = app, max_bytes, re.compile(streamed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.streamed.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._reject(scope, receive, send)
            return
        # Read the body up front (bounded) and replay it to the app.
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _may_be_json(headers.get(b"content-type", b"")) and json_too_deep(body, MAX_JSON_DEPTH):
            error = Unprocessable(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.",
                                  errors=[FieldError("body", f"at most {MAX_JSON_DEPTH} levels of arrays and objects")])
            await problem_response(error)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(PayloadTooLarge(f"The request body exceeds {self.max_bytes} bytes."))
        await response(scope, receive, send)


# -- security headers and the request-head limit ----------------------------------------------------

#: The reading room's pages run no inline script: only the site's own script file (which folds the
#: search facets on phones), and play audio and video from this site. JSON-LD is a
#: ``<script type="application/ld+json">`` *data block*, which browsers never execute, so CSP does
#: not apply to it and it needs no hash (the browser tests check no violation is reported).
PAGE_POLICY = ("default-src 'none'; script-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
MAX_HEADER_BYTES = 64 * 1024
_DOCUMENTS = (b"text/html", b"image/svg+xml")  # what a browser renders as a document with script


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` on every response; on documents (HTML, SVG) also a
    Content-Security-Policy, ``X-Frame-Options: DENY`` and ``Referrer-Policy``.

    Applied by :class:`Edge` to the header list of ``http.response.start`` (no request object,
    no body buffering), so it costs microseconds even on streamed OAI-PMH lists. A response that
    sets its own policy (the API docs page hashes its inline script) keeps it.
    """

    def __init__(self, policy: str = PAGE_POLICY) -> None:
        self.document_headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]

    def secure(self, headers: list[tuple[bytes, bytes]]) -> None:
        """Append to a response's ``headers`` what it lacks of this policy."""
        present = {name.lower() for name, _ in headers}
        media_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
        if b"x-content-type-options" not in present:
            headers.append((b"x-content-type-options", b"nosniff"))
        if media_type.startswith(_DOCUMENTS):
            headers += [(n, v) for n, v in self.document_headers if n not in present]


class HeaderLimit:
    """431 (RFC 6585 §5) for a request whose header fields exceed ``max_bytes`` in total.

    The transport's own limit (``repo serve``: 1 MiB of request head, needed for OAI-PMH's long
    query strings) is far larger; this one keeps huge cookies and headers from reaching the app,
    and answers like every other error: problem+json, or a page for a browser (``page``). Applied
    by :class:`Edge`.
    """

    def __init__(self, max_bytes: int = MAX_HEADER_BYTES, page: Callable[..., Response] | None = None) -> None:
        self.max_bytes, self.page = max_bytes, page

    def exceeded(self, scope: Scope) -> bool:
        return sum(len(name) + len(value) + 4 for name, value in scope["headers"]) > self.max_bytes

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"The request's header fields exceed {self.max_bytes} bytes; send fewer or smaller cookies."
        # The page is rendered without the oversized fields (its language comes from the URL or Accept-Language).
        trimmed = {**scope, "headers": [(n, v) for n, v in scope["headers"] if len(v) <= 1024]}
        request = Request(trimmed)
        response: Response
        if self.page is not None and wants_page(request):
            response = self.page(request, 431, detail)
        else:
            response = problem_response(HeadersTooLarge(detail))
        await response(scope, receive, send)


class Edge:
    """The outer layer of every request, in one ASGI layer: the observation (request id, metrics,
    access log: :class:`repo.operations.middleware.Observe`), the security headers
    (:class:`SecurityHeaders`) and the header limit (:class:`HeaderLimit`), each done by its own
    class, in that order (the 431 is observed and secured).

    One layer instead of three middlewares: each was a coroutine call and, for two of them, a
    wrapper of every message sent; the three as one took 8-23 µs off an OAI-PMH request of about
    1 ms, measured end to end (``observe=None`` leaves the observation out: ``bench/metrics_bench.py``).
    """

    def __init__(self, app: ASGIApp, observe: Any, security: SecurityHeaders, limit: HeaderLimit) -> None:
        self.app, self.observe, self.security, self.limit = app, observe, security, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observe = self.observe
        seen = observe.begin(scope) if observe is not None else None
        status = 500  # what a crash before the response starts becomes

        async def edge_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                self.security.secure(headers)
                if seen is not None:
                    headers.append(seen.header)
                message = {**message, "headers": headers}  # the application's own message is left as it was
            await send(message)

        try:
            if self.limit.exceeded(scope):
                await self.limit.refuse(scope, receive, edge_send)
            else:
                await self.app(scope, receive, edge_send)
        finally:
            if seen is not None:
                observe.end(scope, seen, status)


def inline_script_hashes(html: str) -> list[str]:
    """The CSP hashes (base64 SHA-256) of the inline scripts of ``html``, as browsers compute them."""
    import base64
    import hashlib

    import lxml.html

    return [base64.b64encode(hashlib.sha256((script.text or "").encode()).digest()).decode()
            for script in lxml.html.fromstring(html).iter("script") if script.get("src") is None]
