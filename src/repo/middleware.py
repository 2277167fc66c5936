"""ASGI middleware: a cap on request bodies that handlers read whole (JSON, forms)."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repo.errors import PayloadTooLarge, problem_response


class BodyLimit:
    """413 for a body larger than ``max_bytes``, checked on Content-Length and while reading.

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
