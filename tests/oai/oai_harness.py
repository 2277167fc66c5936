"""OAI-PMH test harness (fixtures are registered by conftest.py).

* Every OAI response the suite receives goes through :class:`OAIClient`, which checks HTTP 200 and
  ``text/xml; charset=UTF-8`` and validates the body against the official XSDs with
  ``shared/schemas/validate.py`` (found via ``REPO_OFFICIAL_SCHEMAS``, default
  ``<repo root>/../shared/schemas``). Without the schemas these tests skip with the reason, or
  fail when ``REPO_REQUIRE_SCHEMAS=1`` (CI).
* ``corpus``: works made through the real services (publish, edit, withdraw) on the test database.
* ``live_server``: the app under uvicorn in a background thread on a free loopback port, for the
  real harvesting clients (sickle, oaipmh-scythe).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from lxml import etree

from repo.app import create_app
from repo.cli import UVICORN_HTTP
from repo.centres import service as centres
from repo.centres.schemas import CentreIn, CollectionIn
from repo.clock import Clock, ManualClock
from repo.config import Settings
from repo.context import Context
from repo.db import Database
from repo.deposit.auth import Principal, TokenRole
from repo.works import service as works
from repo.works.schemas import WithdrawIn, WorkIn

OAI = "http://www.openarchives.org/OAI/2.0/"
NS = {"o": OAI, "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/", "dc": "http://purl.org/dc/elements/1.1/"}
ADMIN = Principal(token_id=0, name="oai-tests", role=TokenRole.admin)
REPO_ROOT = Path(__file__).resolve().parents[2]


def _required(variable: str) -> bool:
    return os.environ.get(variable, "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def schemas() -> ModuleType:
    """The official-schema validator (``validate.py``), or a skip/fail saying why it is missing."""
    folder = Path(os.environ.get("REPO_OFFICIAL_SCHEMAS") or REPO_ROOT.parent / "shared" / "schemas")
    script = folder / "validate.py"
    if not script.is_file():
        reason = f"official OAI-PMH schemas not found: no {script} (set REPO_OFFICIAL_SCHEMAS)"
        if _required("REPO_REQUIRE_SCHEMAS"):
            pytest.fail("REPO_REQUIRE_SCHEMAS=1 but " + reason)
        pytest.skip(reason)
    spec = importlib.util.spec_from_file_location("oai_official_validate", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in validate.py look their module up
    spec.loader.exec_module(module)
    return module


@dataclass
class OAIResponse:
    http: httpx.Response
    root: etree._Element

    def xpath(self, path: str) -> list[Any]:
        return self.root.xpath(path, namespaces=NS)  # type: ignore[no-any-return]

    @property
    def errors(self) -> list[str]:
        return [e.get("code") for e in self.xpath("/o:OAI-PMH/o:error")]

    @property
    def request(self) -> etree._Element:
        return self.xpath("/o:OAI-PMH/o:request")[0]

    @property
    def response_date(self) -> str:
        return self.xpath("string(/o:OAI-PMH/o:responseDate)")  # type: ignore[return-value]

    @property
    def identifiers(self) -> list[str]:
        return [str(x) for x in self.xpath("//o:header/o:identifier/text()")]

    @property
    def headers(self) -> list[etree._Element]:
        return self.xpath("//o:header")

    @property
    def token(self) -> etree._Element | None:
        found = self.xpath("/o:OAI-PMH/*/o:resumptionToken")
        return found[0] if found else None


def _check(schemas: ModuleType, response: httpx.Response) -> OAIResponse:
    """The checks every OAI response must pass, whatever was asked."""
    assert response.status_code == 200, response.text[:500]  # §3.1.2 / §3.6: errors are HTTP 200 too
    assert response.headers["content-type"] == "text/xml; charset=UTF-8"
    body = response.content
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    result = schemas.validate_bytes(body)
    assert result.ok, (result.errors, body[:2000])
    root = etree.fromstring(body)
    # §3.2 / §3.3.2: responseDate and datestamps at seconds granularity with Z (what Identify declares).
    for value in root.xpath("//o:responseDate/text() | //o:datestamp/text() | //o:earliestDatestamp/text()",
                            namespaces=NS):
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    codes = [e.get("code") for e in root.findall(f"{{{OAI}}}error")]
    if {"badVerb", "badArgument"} & set(codes):
        assert dict(root.find(f"{{{OAI}}}request").attrib) == {}, "no attributes after badVerb/badArgument"
    return OAIResponse(response, root)


@dataclass
class OAIClient:
    """Sends OAI requests (GET or POST) and validates every response."""

    http: Any  # TestClient or httpx.Client
    schemas: ModuleType
    method: str = "GET"
    seen: list[OAIResponse] = field(default_factory=list)

    def query(self, query: str | list[tuple[str, str]], *, method: str | None = None,
              headers: dict[str, str] | None = None) -> OAIResponse:
        raw = query if isinstance(query, str) else urlencode(query)
        if (method or self.method) == "GET":
            response = self.http.get(f"/oai?{raw}" if raw else "/oai", headers=headers)
        else:
            response = self.http.post("/oai", content=raw.encode(), headers={
                "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
        checked = _check(self.schemas, response)
        self.seen.append(checked)
        return checked

    def __call__(self, **params: str) -> OAIResponse:
        pairs = [("from" if k == "from_" else k, v) for k, v in params.items()]
        return self.query(pairs)

    def harvest(self, verb: str = "ListIdentifiers", **params: str) -> tuple[list[OAIResponse], list[str]]:
        """Follow resumptionTokens to the end: (pages, identifiers in order)."""
        pages = [self(verb=verb, **params)]
        while (token := pages[-1].token) is not None and token.text:
            pages.append(self(verb=verb, resumptionToken=token.text))
        return pages, [i for page in pages for i in page.identifiers]


@pytest.fixture(params=["GET", "POST"])
def method(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def oai(client: Any, schemas: ModuleType, method: str) -> OAIClient:
    return OAIClient(client, schemas, method)


@pytest.fixture
def oai_get(client: Any, schemas: ModuleType) -> OAIClient:
    """GET only, for tests whose subject is not the transport."""
    return OAIClient(client, schemas, "GET")


# -- arranging works through the real services -------------------------------------------------------

def _metadata(title: str, lang: str = "spa", **extra: Any) -> dict[str, Any]:
    return {
        "titles": [{"value": title, "lang": lang}],
        "creators": [{"family": "Freire", "given": "Paulo"}],
        "languages": [lang],
        "publication_date": "2021-05-04",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        **extra,
    }


@dataclass
class Corpus:
    """Make works through the services, at the clock's time, each in its own committed unit of work."""

    database: Database
    settings: Settings
    clock: ManualClock | Clock

    def context(self, session: Any) -> Context:
        from repo.app import open_file_store

        return Context(session, ADMIN, self.clock.now(), self.settings, self.clock, open_file_store(self.settings))

    def run(self, action: Callable[[Context], Any]) -> Any:
        with self.database.session() as session:
            return action(self.context(session))

    def structure(self) -> None:
        def make(ctx: Context) -> None:
            for slug, name in (("centre-a", "Centro A de Estudios"), ("centre-b", "Centro B de Pesquisas")):
                centres.create_centre(ctx, CentreIn(slug=slug, name=name, country="AR"))
            for slug, parent in (("biblioteca", None), ("libros", "biblioteca"), ("clasicos", "libros"),
                                 ("revistas", "biblioteca"), ("tesis", None)):
                centres.create_collection(ctx, CollectionIn(slug=slug, name=slug.capitalize(), parent=parent,
                                                            description=f"Colección {slug}"))
        self.run(make)

    def work(self, title: str = "Una obra", *, publish: bool = True, centre: str = "centre-a",
             collections: tuple[str, ...] = (), type: str = "journal_article", access_right: str = "open",
             embargo_end: Any = None, **metadata: Any) -> int:
        data = WorkIn.model_validate({
            "type": type, "centre": centre, "collections": list(collections), "access_right": access_right,
            "embargo_end": embargo_end, "metadata": _metadata(title, **metadata),
        })

        def make(ctx: Context) -> int:
            work = works.create(ctx, data)
            if publish:
                works.publish(ctx, work.id, None)
            return work.id

        return int(self.run(make))

    def edit(self, work_id: int, **changes: Any) -> None:
        self.run(lambda ctx: works.patch(ctx, work_id, changes, None))

    def publish(self, work_id: int) -> None:
        self.run(lambda ctx: works.publish(ctx, work_id, None))

    def withdraw(self, work_id: int, reason: str = "Duplicado.") -> None:
        self.run(lambda ctx: works.withdraw(ctx, work_id, WithdrawIn(reason=reason), None))

    def synthetic(self, count: int, seed: int = 7) -> None:
        from repo.synthetic import generate

        self.run(lambda ctx: generate(ctx, count, seed=seed))


@pytest.fixture
def corpus(client: Any, database: Database, settings: Settings, clock: ManualClock) -> Corpus:
    """An empty repository (migrated by the app's lifespan) with two centres and nested collections."""
    made = Corpus(database, settings, clock)
    made.structure()
    return made


def identifier(work_id: int) -> str:
    return f"oai:repo.example.org:{work_id}"


# -- a real HTTP server for the harvesting clients --------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    settings: Settings
    database: Database
    validated: list[int]  # how many /oai responses the validating wrapper checked

    @property
    def oai(self) -> str:
        return self.url + "/oai"


class ValidatingApp:
    """ASGI wrapper: every /oai response the live server sends (to sickle, scythe or raw HTTP) is
    collected, decompressed if needed, and put through the same checks as :func:`_check`."""

    def __init__(self, app: Any, schemas: ModuleType, failures: list[str], validated: list[int]) -> None:
        self.app, self.schemas, self.failures, self.validated = app, schemas, failures, validated

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/oai":
            await self.app(scope, receive, send)
            return
        status: list[int] = []
        headers: dict[str, str] = {}
        body: list[bytes] = []

        async def tee(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers.update({k.decode().lower(): v.decode() for k, v in message.get("headers", [])})
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body"):
                    self._check(status[0], headers, b"".join(body))
            await send(message)

        await self.app(scope, receive, tee)

    def _check(self, status: int, headers: dict[str, str], data: bytes) -> None:
        import gzip
        import zlib

        encoding = headers.get("content-encoding")
        if encoding == "gzip":
            data = gzip.decompress(data)
        elif encoding == "deflate":
            data = zlib.decompress(data)
        response = httpx.Response(status, headers={"content-type": headers.get("content-type", "")}, content=data)
        try:
            _check(self.schemas, response)
            self.validated[0] += 1
        except AssertionError as exc:
            self.failures.append(str(exc)[:2000])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(database_url: str, tmp_path: Path, schemas: ModuleType) -> Iterator[Callable[..., LiveServer]]:
    """Start the app under uvicorn (real clock) in a thread; call it with Settings overrides.
    Every /oai response it sends is validated; the test fails at teardown if one was not valid."""
    servers: list[tuple[uvicorn.Server, threading.Thread, Database]] = []
    failures: list[str] = []

    def start(**overrides: Any) -> LiveServer:
        port = _free_port()
        settings = Settings(data_dir=tmp_path / "live", database_url=database_url, secret_key="live-secret",
                            base_url=f"http://127.0.0.1:{port}", **overrides)
        validated = [0]
        app = ValidatingApp(create_app(settings, Clock()), schemas, failures, validated)
        # as `repo serve` runs it (its HTTP protocol and request-head limits)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                **UVICORN_HTTP)  # type: ignore[arg-type]
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        database = Database(settings.resolved_database_url)
        servers.append((server, thread, database))
        return LiveServer(f"http://127.0.0.1:{port}", settings, database, validated)

    yield start
    for server, thread, database in servers:
        server.should_exit = True
        thread.join(timeout=30)
        database.dispose()
    assert not failures, f"{len(failures)} invalid OAI responses, first: {failures[0]}"
