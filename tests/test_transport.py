"""The HTTP transport of ``repo serve`` (repo.transport): httptools with a bounded request head."""

from __future__ import annotations

import http.client
import socket
import threading
from typing import Any

import pytest

from helpers import live_server
from repo.transport import MAX_HEAD, HTTPProtocol

# The transport is below the application, whatever the database: one is enough.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _exchange(url: str, *requests: bytes) -> bytes:
    """Send raw requests on one connection; everything the server answered until it closed."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        for request in requests:
            try:
                connection.sendall(request)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server refused and closed while the request was still arriving
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@sqlite_only
def test_request_heads_are_bounded_per_request(app: Any) -> None:
    with live_server(app) as url:
        # Past MAX_HEAD the transport answers 431 without reading the rest.
        huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD + 10) + b"\r\n\r\n"
        answer = _exchange(url, huge)
        assert answer.startswith(b"HTTP/1.1 431 ") and b"x-content-type-options: nosniff" in answer
        # Below it, on one keep-alive connection, each request's head counts on its own: two heads
        # of 60 % of the bound both reach the application (whose own, smaller limit answers 431).
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
        for _ in range(2):
            connection.request("GET", "/health", headers={"X-Big": "a" * (MAX_HEAD * 6 // 10)})
            response = connection.getresponse()
            assert response.status == 431 and response.headers["content-type"] == "application/problem+json"
            response.read()
        connection.request("GET", "/health")
        assert connection.getresponse().read() == b'{"status":"ok"}'
        connection.close()
        # A URL httptools cannot parse (past 64 KiB): 414, which says what to do instead.
        answer = _exchange(url, b"GET /oai?verb=Identify&x=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 414 ") and b"POST" in answer


class _Spy:
    """The real transport, with a record of every write made to it (what left, in which pieces)."""

    def __init__(self, transport: Any, writes: list[bytes]) -> None:
        self._transport, self.writes = transport, writes

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self._transport.write(data)

    def writelines(self, pieces: Any) -> None:
        pieces = list(pieces)
        self.writes.append(b"".join(pieces))
        self._transport.writelines(pieces)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


WRITES: list[bytes] = []


class _Watched(HTTPProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(_Spy(transport, WRITES))


def _responses(url: str, request: bytes, count: int) -> bytes:
    """Send raw ``request`` (one or more pipelined requests) and read ``count`` responses whole."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while True:
            rest, done = received, 0
            while b"\r\n\r\n" in rest:  # complete responses so far (Content-Length framed)
                head, _, rest = rest.partition(b"\r\n\r\n")
                length = 0 if b"HEAD" in request.split(b"\r\n")[0] and done == 0 else next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
                if len(rest) < length:
                    break
                rest, done = rest[length:], done + 1
            if done >= count:
                return received
            chunk = connection.recv(65536)
            assert chunk, f"the server closed the connection after {received[-300:]!r}"
            received += chunk


@sqlite_only
def test_a_response_leaves_in_one_write_and_interim_answers_are_not_held(app: Any) -> None:
    with live_server(app, http=_Watched) as url:
        WRITES.clear()
        answer = _responses(url, b"GET /oai?verb=Identify HTTP/1.1\r\nHost: x\r\n\r\n", 1)
        # head and body in one write (one segment, one wake-up of the client), and nothing lost
        assert WRITES == [answer] and answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"</OAI-PMH>")
        assert b"\r\nx-content-type-options: nosniff\r\n" in answer and b"\r\nx-request-id: " in answer
        # pipelined on one connection: each response whole, in order, HEAD's head-only one too
        WRITES.clear()
        answer = _responses(url, b"HEAD /oai?verb=Identify HTTP/1.1\r\nHost: x\r\n\r\n"
                                 b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 2)
        head, _, health = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ") and b"content-type: text/xml" in head
        assert health.startswith(b"HTTP/1.1 200 ") and health.endswith(b'{"status":"ok"}')
        assert b"".join(WRITES) == answer
        # an interim 100 Continue leaves at once: the client waits for it before sending its body
        host, port = url.removeprefix("http://").split(":")
        body = b"verb=Identify"
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(b"POST /oai HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                               b"Content-Type: application/x-www-form-urlencoded\r\n"
                               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
            assert connection.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            connection.sendall(body)
            reply = b""
            while not reply.endswith(b"</OAI-PMH>"):
                reply += connection.recv(65536)
            assert reply.startswith(b"HTTP/1.1 200 ") and b"<repositoryName>" in reply


def test_a_response_leaves_when_it_is_complete_not_when_the_application_returns() -> None:
    """What an application does after its response's last send (its metrics, its access log, the
    unwinding of its middleware) is not the client's to wait for: the response leaves as soon as
    it is complete. Here the application blocks the server after its last send until the client
    has read the response; were the response held until the application returned, the client
    would read nothing until the wait gave up."""
    received = threading.Event()
    seen: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        seen.append(received.wait(10))  # blocks the server's event loop, as synchronous work would

    with live_server(app) as url:
        answer = _responses(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1)
        received.set()
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\nok")
        assert _responses(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1).endswith(b"ok")  # the next one too
    assert seen == [True, True]
