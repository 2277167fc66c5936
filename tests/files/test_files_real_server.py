"""Over a real socket (uvicorn in a thread): the size limit trips while the body is still arriving,
the client hears 413, nothing is stored, and the server keeps serving."""

from __future__ import annotations

import http.client
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from file_support import stored_files

from repo.app import create_app
from repo.centres.models import MemberCentre
from repo.clock import ManualClock
from repo.config import Settings
from repo.db import Database
from repo.deposit.auth import TokenRole, create_token
from repo.works.models import Work

LIMIT = 1 << 20


@pytest.fixture
def server(settings: Settings, clock: ManualClock, database: Database) -> Iterator[tuple[int, str, int]]:
    """``(port, editor token, draft work id)`` of a uvicorn server on the test database."""
    settings.upload_max_bytes = LIMIT
    now = clock.now()
    with database.session() as session:
        session.add(MemberCentre(slug="real", name="Real", created_at=now, updated_at=now))
        session.flush()
        token, _ = create_token(session, name="real", role=TokenRole.editor, centre_slugs=["real"], now=now)
        centre = session.query(MemberCentre).filter_by(slug="real").one()
        work = Work(status="draft", centre_id=centre.id, access_right="open", doc={}, version=1,
                    created_at=now, updated_at=now, embargo_pending=False)
        session.add(work)
        session.flush()
        work_id = work.id
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(settings, clock), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port, token, work_id
    instance.should_exit = True
    thread.join(timeout=20)


def put_chunked(port: int, token: str, path: str, chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """PUT with Transfer-Encoding: chunked; the status may arrive before the body is fully sent."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("PUT", path)
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    try:
        for chunk in chunks:
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were still sending
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_limit_trips_mid_stream_and_the_server_stays_healthy(server: tuple[int, str, int], settings: Settings) -> None:
    port, token, work = server
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(f"PUT /api/works/{work}/files/big.txt HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    sent, total, answer = 0, 40 * LIMIT, b""
    chunk = b"a" * 65536
    try:
        while sent < total:
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            if select.select([connection], [], [], 0)[0]:
                break  # the server answered before the body ended
        else:
            connection.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    connection.settimeout(10)
    while b"\r\n\r\n" not in answer:
        data = connection.recv(65536)
        if not data:
            break
        answer += data
    connection.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < total  # refused while streaming, not after the whole body arrived
    assert stored_files(settings) == []
    assert get(port, "/health")[0] == 200
    # And a normal streamed upload right after works, byte for byte.
    data = ("línea de texto\n" * 20_000).encode()
    status, body = put_chunked(port, token, f"/api/works/{work}/files/ok.txt",
                               iter([data[i:i + 50_000] for i in range(0, len(data), 50_000)]))
    assert status == 201, body
    status, downloaded = get(port, f"/works/{work}/files/ok.txt", {"Authorization": f"Bearer {token}"})
    assert (status, downloaded) == (200, data)


def test_client_gone_mid_upload_leaves_nothing(server: tuple[int, str, int], settings: Settings) -> None:
    port, token, work = server
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(f"PUT /api/works/{work}/files/cut.txt HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {token}\r\nContent-Length: 500000\r\n\r\n".encode())
    connection.sendall(b"a" * 100_000)
    time.sleep(0.3)
    connection.close()  # the client vanishes after a fifth of the body
    deadline = time.monotonic() + 10
    while stored_files(settings) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_files(settings) == []
    assert get(port, "/health")[0] == 200
    status, body = get(port, f"/api/works/{work}/files", {"Authorization": f"Bearer {token}"})
    assert status == 200 and b'"items":[]' in body
