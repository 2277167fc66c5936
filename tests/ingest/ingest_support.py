"""Support of the ingest tests (conftest.py registers the fixtures): a harvesting repository (the
test database, on both databases), OAI-PMH sources started for the test (our fault-injecting provider, another instance of this
repository, oai_repo from PyPI), and helpers to add and run sources through the real services."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "oai"))

from oai_harness import live_server, oai_get, schemas  # noqa: E402,F401  (fixtures)
from oai_source import Item, Source, serve  # noqa: E402

from repo.centres.models import MemberCentre  # noqa: E402
from repo.clock import Clock  # noqa: E402
from repo.config import Settings  # noqa: E402
from repo.context import Context  # noqa: E402
from repo.db import Database  # noqa: E402
from repo.deposit.auth import Principal, TokenRole  # noqa: E402
from repo.ingest import pipeline, service  # noqa: E402
from repo.ingest.models import HarvestRun, IngestProblem  # noqa: E402
from repo.works.models import Work  # noqa: E402

ADMIN = Principal(token_id=0, name="ingest-tests", role=TokenRole.admin)


@pytest.fixture
def settings(settings: Settings) -> Settings:  # the suite's, overridden for every ingest test (the app's too)
    """Settings of the harvesting repository: quick retries (a refused address is not waited
    for), no background harvests."""
    return settings.model_copy(update={
        "harvest_backoff_seconds": 0.05, "harvest_retries": 3, "harvest_timeout_seconds": 5,
        "harvest_scheduler_seconds": 0, "harvest_max_retry_after_seconds": 5})


@dataclass
class Harvester:
    """The harvesting repository: its database, settings and clock, and the services to drive it."""

    database: Database
    settings: Settings
    clock: Clock

    def context(self, session: Any) -> Context:
        return Context(session, ADMIN, self.clock.now(), self.settings, self.clock)

    def add(self, url: str, **values: Any) -> int:
        with self.database.session() as session:
            source = service.add_source(self.context(session), service.validated_source(
                {"url": url, "centre": "member", **values}))
            return source.id

    def run(self, source_id: int, *, full: bool = False, **overrides: Any) -> HarvestRun:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        run_id = service.run_source(self.database, settings, self.clock, source_id, full=full)
        return self.get_run(run_id)

    def get_run(self, run_id: int) -> HarvestRun:
        with self.database.session() as session:
            run = session.get(HarvestRun, run_id)
            assert run is not None
            session.expunge(run)
            return run

    def problems(self, run_id: int) -> list[tuple[str | None, str, str]]:
        with self.database.session() as session:
            return [(p.external_id, p.kind, p.reason) for p in session.scalars(
                sa.select(IngestProblem).where(IngestProblem.run_id == run_id).order_by(IngestProblem.id))]

    def works(self) -> dict[str, Work]:
        """Harvested works by OAI identifier of their record."""
        with self.database.session() as session:
            found = session.scalars(sa.select(Work).where(Work.origin.is_not(None))).all()
            for work in found:
                session.expunge(work)
        return {w.origin["identifier"]: w for w in found}  # type: ignore[index]


@pytest.fixture
def harvester(database: Database, settings: Settings, clock: Clock) -> Harvester:
    with database.session() as session:
        session.add(MemberCentre(slug="member", name="Centro Miembro", country="AR", created_at=clock.now(),
                                 updated_at=clock.now()))
    return Harvester(database, settings, Clock())


@pytest.fixture(params=["here", "apart"])
def where(request: pytest.FixtureRequest, harvester: Harvester, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both ways of running the test's harvests: records mapped and validated here, or (``apart``)
    in a second process from the first page on (``repo harvest run`` of a big source) — which the
    test then must have used."""
    if request.param == "here":
        yield "here"
        return
    harvester.settings = harvester.settings.model_copy(update={"harvest_parallel_from_records": 0})
    pages: list[int] = []
    call = pipeline.Preparer.call

    def counted(self: pipeline.Preparer, function: Callable[..., Any], *args: Any) -> Any:
        pages.append(1)
        return call(self, function, *args)

    monkeypatch.setattr(pipeline.Preparer, "call", counted)
    yield "apart"
    assert pages, "no page was mapped and prepared in a second process"


@pytest.fixture
def oai_source() -> Iterator[Callable[..., Source]]:
    """Start a fault-injecting OAI-PMH provider: ``oai_source(items, page_size=…, faults=Faults(…))``."""
    running: list[Iterator[Source]] = []

    def start(items: list[Item], **options: Any) -> Source:
        served = serve(Source(items, **options))
        running.append(served)
        return next(served)

    yield start
    for served in running:
        served.close()




# -- another instance of this repository, as a source ---------------------------------------------------

@pytest.fixture
def second_database_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh, migrated database of the same kind as ``database_url`` (the peer's)."""
    from helpers import fresh_database

    yield from fresh_database(request, "sqlite" if database_url.startswith("sqlite") else "postgresql",
                              tmp_path, "peer")


@dataclass
class Peer:
    """Another instance of this repository over a real socket: its corpus and its OAI endpoint."""

    url: str
    corpus: Any  # oai_harness.Corpus on the peer's database
    database: Database

    @property
    def oai(self) -> str:
        return self.url + "/oai"


@pytest.fixture
def peer(second_database_url: str, tmp_path: Path, schemas: Any) -> Iterator[Peer]:  # noqa: F811
    """A second repository (uvicorn in a thread, its own database), every OAI answer it sends
    validated against the official schemas; it starts with two centres and a few collections."""
    import threading
    import time

    import uvicorn
    from oai_harness import Corpus, ValidatingApp, _free_port

    from repo.app import create_app
    from repo.db import Database

    port = _free_port()
    settings = Settings(data_dir=tmp_path / "peer", database_url=second_database_url, secret_key="peer-secret",
                        base_url=f"http://127.0.0.1:{port}", oai_repository_identifier="peer.example.org",
                        oai_page_size=7, harvest_scheduler_seconds=0)
    failures: list[str] = []
    app = ValidatingApp(create_app(settings, Clock()), schemas, failures, [0])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the peer did not start"
        time.sleep(0.02)
    database = Database(second_database_url)
    corpus = Corpus(database, settings, Clock())
    corpus.structure()
    yield Peer(f"http://127.0.0.1:{port}", corpus, database)
    server.should_exit = True
    thread.join(timeout=30)
    database.dispose()
    assert not failures, failures[0]
