"""The HTTP transport of ``repo serve`` (repo.transport): httptools with a bounded request head."""

from __future__ import annotations

import http.client
import socket
from typing import Any

import pytest

from helpers import live_server
from repo.transport import MAX_HEAD

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
