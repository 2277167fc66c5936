"""Fixtures of the reading-room tests: the demo collection loaded through the services, real
files uploaded through the deposit API, the search index drained, and (for browser tests) the
app served by uvicorn on a loopback port for Debian's headless Chromium.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from repo import demo
from repo.clock import ManualClock
from repo.context import Context
from repo.db import Database
from repo.deposit.auth import Principal
from repo.works.models import Work

from helpers import pdf_bytes  # noqa: F401  (the web tests import it from here)

ADMIN = Principal(token_id=0, name="reading-room tests", role="admin")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@dataclass
class Room:
    """The loaded demo: work ids by role in the tests."""

    ids: dict[str, int]
    admin: dict[str, str]
    client: TestClient
    app: FastAPI
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> int:
        return self.ids[key]

    def drain(self) -> None:
        from repo.search.indexer import Indexer

        Indexer(self.app.state.db, self.app.state.search, self.app.state.clock).drain()

    def deposit(self, record: dict[str, Any]) -> int:
        """Create and publish a work through the API; its id."""
        created = self.client.post("/api/works", json=record, headers=self.admin)
        assert created.status_code == 201, created.text
        work = int(created.json()["id"])
        published = self.client.post(f"/api/works/{work}/publish", headers=self.admin)
        assert published.status_code == 200, published.text
        return work

    def upload(self, work_id: int, name: str, body: bytes, media_type: str = "application/pdf") -> None:
        response = self.client.put(f"/api/works/{work_id}/files/{name}", content=body,
                                   headers={**self.admin, "Content-Type": media_type})
        assert response.status_code in (200, 201), response.text

    def file_access(self, work_id: int, name: str, access: str | None, embargo_end: str | None = None) -> None:
        response = self.client.patch(f"/api/works/{work_id}/files/{name}", headers=self.admin,
                                     json={"access_right": access, "embargo_end": embargo_end})
        assert response.status_code == 200, response.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _title_ids(database: Database) -> dict[str, int]:
    with database.session() as session:
        rows = session.execute(sa.select(Work.id, Work.doc, Work.status)).all()
    return {doc["titles"][0]["value"]: work_id for work_id, doc, _ in rows}


IDS_BY_TITLE = {
    "open_book": "Educación popular y movimientos sociales en América Latina",
    "article": "Derechos indígenas y consulta previa en los Andes",
    "chapter": "Les migrations andines vers l'Europe : trajectoires et réseaux",
    "thesis_embargoed": "Juventudes, trabajo y precariedad en el conurbano bonaerense",
    "withdrawn": "Elecciones y partidos en el Perú del siglo XXI",
    "draft": "Borrador: historia de la educación en Argentina",
    "translated": "Indigenous territories and extractivism in the Amazon",
    "sound": "Testimonios orales de la reforma agraria",
    "video": "Democracia e participação: debate em São Paulo",
    "image": "Mercado de la Merced, 1968",
    "lecture": "Conferencia magistral: la desigualdad en América Latina",
}


def furnish(app: FastAPI, client: TestClient, database: Database, clock: ManualClock, admin: dict[str, str],
            media: bool = False) -> Room:
    """Load the demo and upload the files the tests use (``media``: also a recording, a video with
    captions and a photograph, as ``repo demo`` attaches them)."""
    with database.session() as session:
        demo.load(Context(session, ADMIN, clock.now(), app.state.settings))
    titles = _title_ids(database)
    room = Room({key: titles[title] for key, title in IDS_BY_TITLE.items()}, admin, client, app)
    pdf = pdf_bytes()
    room.upload(room["open_book"], "libro.pdf", pdf)
    room.upload(room["open_book"], "anexo.pdf", pdf_bytes(2))
    room.file_access(room["open_book"], "anexo.pdf", "embargoed", "2999-01-01")
    room.upload(room["thesis_embargoed"], "tesis.pdf", pdf)
    room.upload(room["article"], "articulo.pdf", pdf)
    if media:
        with database.session() as session:
            works = {w.id: w for w in session.scalars(sa.select(Work)).all()}
            for key in ("sound", "video", "image", "lecture"):
                for name, data, media_type in demo.media_for(works[room[key]]):
                    room.upload(room[key], name, data, media_type)
    room.extra["pdf"] = pdf
    room.drain()
    return room


@pytest.fixture
def room(app: FastAPI, client: TestClient, database: Database, clock: ManualClock, auth: Any) -> Room:
    """The demo collection plus files:

    * ``open_book``: an open book with an open PDF and a PDF under its own embargo;
    * ``article``: an open article with a DOI and an ORCID-less author;
    * ``embargoed``: the embargoed thesis with a PDF (embargo one year ahead);
    * ``withdrawn``, ``draft``: the demo's withdrawn working paper and a draft.
    """
    return furnish(app, client, database, clock, auth.admin)


@pytest.fixture(scope="session")
def shared_room(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Room]:
    """One furnished reading room (SQLite, media files too) for the tests that only read it, served
    over HTTP by uvicorn for the browser tests (``room.extra["url"]``, also its base URL). Built once
    per test process: tests that change data use ``room``."""
    import shutil

    import uvicorn

    from repo.app import create_app
    from repo.config import Settings
    from repo.deposit.auth import TokenRole, create_token

    folder = tmp_path_factory.mktemp("shared-room")
    shutil.copy(sqlite_template, folder / "repo.sqlite3")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=folder / "data", database_url=f"sqlite:///{folder / 'repo.sqlite3'}",
                        secret_key="test-secret-key", base_url=url)
    clock = ManualClock()
    app = create_app(settings, clock)
    database = Database(settings.resolved_database_url)
    with TestClient(app) as client:
        with database.session() as session:
            token, _ = create_token(session, name="admin", role=TokenRole.admin, centre_slugs=[], now=clock.now())
        room = furnish(app, client, database, clock, {"Authorization": f"Bearer {token}"}, media=True)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        room.extra["url"] = url
        yield room
        server.should_exit = True
        thread.join(timeout=10)
    database.dispose()


# -- a live server for the browser ---------------------------------------------------------------------


@pytest.fixture
def live_url(room: Room) -> Iterator[str]:
    """The app (already started by the test client) served over HTTP by uvicorn on 127.0.0.1."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(room.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    # Links on the pages are absolute to the configured base URL; point it at this server.
    room.app.state.settings.base_url = url
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("REPO_REQUIRE_CHROMIUM", "").lower() in ("1", "true", "yes"):
            pytest.fail("REPO_REQUIRE_CHROMIUM=1 but /usr/bin/chromium is missing (apt-get install chromium)")
        pytest.skip("/usr/bin/chromium not found: install Debian's 'chromium' to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test; a screenshot in tests/artifacts/ on failure."""
    context = browser.new_context(base_url=live_url, accept_downloads=True, locale="es-ES")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
