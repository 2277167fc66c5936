"""Test helpers: a publishable deposit, problem+json assertions, whole-database snapshots."""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from repo.db import Database
from repo.models import Base

SAMPLE: dict[str, Any] = {
    "type": "journal_article",
    "centre": "centre-a",
    "collections": [],
    "access_right": "open",
    "metadata": {
        "titles": [{"value": "Educación popular en América Latina", "lang": "spa"},
                   {"value": "Popular education in Latin America", "lang": "eng", "type": "translated"}],
        "abstracts": [{"value": "Un estudio de la educación popular.", "lang": "spa"}],
        "creators": [{"family": "Freire", "given": "Paulo", "orcid": "0000-0002-1825-0097",
                      "affiliations": [{"name": "CLACSO", "ror": "https://ror.org/03cqe8w59"}]}],
        "subjects": [{"value": "educación", "lang": "spa"}],
        "languages": ["spa"],
        "publication_date": "2021-05-04",
        "journal": {"title": "Crítica Jurídica", "issn": "0188-7653", "volume": "3", "issue": "1"},
        "doi": "10.1234/ABC.5",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "countries": ["AR"],
    },
}


def sample(**overrides: Any) -> dict[str, Any]:
    """A complete, publishable deposit record; ``metadata__x=`` overrides a metadata field."""
    record = copy.deepcopy(SAMPLE)
    for key, value in overrides.items():
        if key.startswith("metadata__"):
            record["metadata"][key.removeprefix("metadata__")] = value
        else:
            record[key] = value
    return record


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status`` (and names ``field`` when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, f"{field!r} not in {fields}"
    return body


# The outboxes are queues that background jobs drain at any moment (the search indexer; the OAI
# renderer, which also writes the stored records, a projection like the search index); their rows
# are written in the same transaction as the change they announce, so the other tables prove it
# was not written. The worker's leases and the aggregates it stores change at any moment too.
QUEUES = {"search_outbox", "oai_render_queue", "oai_records", "worker_leases", "web_aggregates"}


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every stored table: compare before/after to prove a request changed nothing."""
    with database.engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in connection.execute(sa.select(table))), key=str
            )
            for table in Base.metadata.sorted_tables
            if table.name not in QUEUES
        }


@contextlib.contextmanager
def live_server(app: Any, http: Any = None) -> Iterator[str]:
    """Serve ``app`` (lifespan included) over loopback HTTP with uvicorn, as ``repo serve`` runs it
    (its HTTP protocol and request-head limit, or ``http``: a subclass of it), in a thread; yields
    the base URL ``http://127.0.0.1:<port>``."""
    import uvicorn

    from repo.cli import UVICORN_HTTP

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            **(UVICORN_HTTP if http is None else {"http": http}))  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def pdf_bytes(pages: int = 1) -> bytes:
    """A real (blank) PDF made by PDFium."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(595, 842)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


_databases = itertools.count()


def fresh_database(request: pytest.FixtureRequest, kind: str, tmp_path: Path, stem: str) -> Iterator[str]:
    """A fresh copy of the migrated template (``kind`` sqlite or postgresql), dropped afterwards."""
    if kind == "sqlite":
        path = tmp_path / f"{stem}.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"{stem}_{os.getpid()}_{next(_databases)}"
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE repo_template")
    yield f"{server}/{name}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``seconds`` pass (False): for background work."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def s3_settings(s3_server: Any, bucket: str) -> dict[str, str]:
    """The settings that put the file store in ``bucket`` of the ``s3_server`` fixture's server."""
    return {"s3_bucket": bucket, "s3_endpoint_url": s3_server.endpoint, "s3_access_key_id": s3_server.access_key_id,
            "s3_secret_access_key": s3_server.secret_access_key, "s3_prefix": "repo"}
