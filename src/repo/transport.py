"""The HTTP/1.1 transport of ``repo serve``: uvicorn's httptools protocol, with a bounded request head.

httptools (llhttp, in C) parses a request in a fraction of the time of the pure-Python h11 (about
0.17 ms less server CPU per request measured on this machine: a tenth of an OAI-PMH GetRecord),
but as uvicorn uses it, it bounds neither the request head nor a URL. This protocol adds both:

* a request head (request line and header fields) larger than :data:`MAX_HEAD` is answered
  ``431 Request Header Fields Too Large`` and the connection closed, without buffering more of it
  (the application's own, smaller limit answers 431 in the reader's language below that:
  :class:`repo.middleware.HeaderLimit`);
* a URL httptools cannot parse because it is longer than 64 KiB is answered ``414 URI Too Long``
  instead of uvicorn's bare 400. No OAI-PMH harvester sends one; the same request as a POST (a
  form body) gets the OAI-PMH answer.

It also sends a response's head with its body: uvicorn writes the status line and header fields
on ``http.response.start`` and the body on ``http.response.body``, two socket writes, two TCP
segments and two wake-ups of the client for a response of a few hundred bytes (every OAI-PMH
GetRecord and Identify). :class:`Coalescing` gathers what is written in one turn of the event loop
and sends it as one write at the end of the turn, or at once when the response is complete (what
the application does after its last send, its metrics and access log, is not the client's to wait
for) or the connection closes. So a response whose body follows its head without waiting, as every
OAI-PMH answer's does, leaves in one piece; a body that takes longer still lets its head go at the
end of the turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_HEAD = 1024 * 1024
MAX_URL = 65535  # httptools.parse_url keeps offsets in 16 bits


class Coalescing:
    """A transport whose writes of one event-loop turn go out as one write, at the end of the turn.

    Everything else is the wrapped transport's. Closing (or aborting) it first sends (or drops)
    what is held, so nothing is reordered or lost; data are only ever held until the loop runs
    its next callback.
    """

    __slots__ = ("_transport", "_held", "_loop")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        held, self._held = self._held, []
        if self._transport.is_closing():
            return  # the connection was lost meanwhile (writing would raise): as uvicorn drops them
        if len(held) == 1:
            self._transport.write(held[0])
        elif held:
            self._transport.writelines(held)  # uvloop: one writev, nothing copied

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HTTPProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes: int | None = 0  # None while a request's body (not its head) arrives

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Coalescing(transport, self.loop))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self._refuse(431, "Request header fields too large.")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head_bytes = 0  # the next request on this connection starts with its head
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]  # the response is whole: it leaves now
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        if len(getattr(self, "url", b"")) > MAX_URL:
            self._refuse(414, "URI too long: send the arguments in a POST body.")
        else:
            super().send_400_response(msg)

    def _refuse(self, status: int, message: str) -> None:
        body = message.encode("ascii")
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend([b"content-type: text/plain; charset=utf-8\r\n", b"x-content-type-options: nosniff\r\n",
                     b"content-length: " + str(len(body)).encode("ascii") + b"\r\n", b"connection: close\r\n\r\n",
                     body])
        self.transport.write(b"".join(head))
        self.transport.close()
