"""The composition root: settings, engines and clients are built here, in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from repo import __version__, errors
from repo.centres.endpoints import router as centres_router
from repo.clock import Clock
from repo.config import Settings
from repo.db import Database, upgrade
from repo.deposit.endpoints import router as works_router
from repo.files.endpoints import router as files_router
from repo.ingest.endpoints import router as harvest_router
from repo.files.storage import FileStore
from repo.imports.endpoints import router as imports_router
from repo.oai.endpoints import OAIEndpoint
from repo.search.endpoints import router as search_router
from repo.search.indexer import Indexer
from repo.web.endpoints import router as web_router
from repo.web import apidocs
from repo.web.delivery import Compress, HeadAsGet
from repo.web.rendering import error_page
from repo.middleware import BodyLimit, Edge, HeaderLimit, SecurityHeaders
from repo.operations import unavailable
from repo.operations.endpoints import router as operations_router
from repo.operations.middleware import Observe
from repo.worker import Job, Resources
from repo.worker.runner import External, Runner


def jobs() -> list[Job]:
    """Every background job (run by ``repo worker``, or inside ``repo serve`` by default)."""
    from repo.files.jobs import JOBS as files_jobs
    from repo.imports.jobs import JOBS as imports_jobs
    from repo.ingest.jobs import JOBS as ingest_jobs
    from repo.oai.jobs import JOBS as oai_jobs
    from repo.search.jobs import JOBS as search_jobs
    from repo.web.jobs import JOBS as web_jobs
    from repo.works.jobs import JOBS as works_jobs

    return [*search_jobs, *oai_jobs, *works_jobs, *files_jobs, *web_jobs, *ingest_jobs, *imports_jobs]


def open_file_store(settings: Settings) -> FileStore:
    """The file store: S3-compatible object storage when ``REPO_S3_BUCKET`` is set, else the
    content-addressed directory under the data directory."""
    if settings.s3_bucket:
        from repo.files.s3 import S3Store

        secret = settings.s3_secret_access_key
        return S3Store(settings.s3_bucket, prefix=settings.s3_prefix, endpoint_url=settings.s3_endpoint_url,
                       region=settings.s3_region, access_key_id=settings.s3_access_key_id,
                       secret_access_key=secret.get_secret_value() if secret else None,
                       scratch_dir=settings.data_dir / "tmp")
    from repo.files.local import LocalStore

    return LocalStore(settings.data_dir)


def open_resources(settings: Settings, clock: Clock) -> Resources:
    """The adapters of one process: database, search backend, file store (closed by ``close()``)."""
    from repo.oai import cache
    from repo.search.runtime import open_search

    cache.pin()  # this process renders OAI records: it reads its rendering code now (repo.oai.cache.pin)
    db = Database(settings.resolved_database_url)
    return Resources(settings=settings, clock=clock, db=db, search=open_search(settings),
                     files=open_file_store(settings))


def worker_for(settings: Settings, resources: Resources) -> Runner | External:
    """The web process's share of background work: all of it in-process, or none (external)."""
    if settings.worker == "external":
        return External(resources)
    return Runner(jobs(), resources, lease_seconds=settings.worker_lease_seconds)


class Application(FastAPI):
    """FastAPI, with OAI-PMH's ``/oai`` taken ahead of FastAPI's own request layers.

    ``/oai`` is answered by a middleware (:class:`repo.oai.endpoints.OAIEndpoint`) that needs
    nothing of FastAPI, and a harvest is thousands of requests: the layers FastAPI puts around
    every request (Starlette's 500, its telemetry's check and exception recorder, its body limit,
    Starlette's application call) cost an OAI-PMH Identify about 40 µs of its 1 ms, measured end
    to end. So ``/oai`` goes through a stack of its own: the application's middleware that stands
    outside ``OAIEndpoint`` (:class:`repo.middleware.Edge`: request id, metrics and access log,
    security headers, the header limit), built from the same list as the main stack, so that both
    always have the same layers. An error nothing handled is answered 500 by the server, as
    Starlette's would be (the application has no handler of its own for it). While FastAPI's
    native telemetry is on (an OpenTelemetry provider configured), ``/oai`` takes the main stack,
    traced like every path.
    """

    _oai_stack: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/oai" and not self._telemetry_on():
            if self.middleware_stack is None:
                self.middleware_stack = self.build_middleware_stack()
            scope["app"] = self
            assert self._oai_stack is not None
            await self._oai_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        outside = self.user_middleware  # outermost first
        last = next(i for i, m in enumerate(outside) if m.cls is OAIEndpoint)
        app: ASGIApp = self.router  # what OAIEndpoint passes other paths to (none come this way)
        for cls, args, kwargs in reversed(outside[:last + 1]):
            app = cls(app, *args, **kwargs)
        self._oai_stack = app
        return stack

    def _telemetry_on(self) -> bool:
        telemetry = getattr(self, "_native_telemetry", None)  # FastAPI's own (0.16x); absent before
        return telemetry is not None and bool(telemetry.enabled())


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.is_sqlite:
            upgrade(settings.resolved_database_url)  # the embedded profile migrates itself
        resources = open_resources(settings, app.state.clock)
        app.state.db, app.state.search, app.state.files = resources.db, resources.search, resources.files
        app.state.indexer = Indexer(resources.db, resources.search, app.state.clock)  # `flush()` in tests
        app.state.worker = worker = worker_for(settings, resources)
        app.state.on_commit.append(worker.wake_commit)
        worker.start()
        try:
            yield
        finally:
            app.state.on_commit.remove(worker.wake_commit)
            worker.stop()
            if (oai := getattr(app.state, "oai_provider", None)) is not None:
                oai.close()  # its reads end before the database goes
            resources.close()

    app = Application(
        title=settings.repository_name,
        version=__version__,
        summary="Deposit API of an open-access repository (OAI-PMH at /oai).",
        docs_url=None,  # /api/docs and /api/redoc below (repo.web.apidocs): local files, their own policies
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        # The service's metrics are Prometheus' (/metrics) and its logs JSON lines (repo.operations);
        # FastAPI's OpenTelemetry tracing stays available. Its check of the three providers on every
        # request cost 5 µs; of the tracer's alone, 2.
        telemetry={"metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.clock = clock or Clock()
    app.state.on_commit = []
    errors.install(app, page=error_page)  # browsers get a page for unknown paths
    unavailable.install(app, page=error_page)  # search or file store down: 503 with Retry-After
    app.add_middleware(Compress)  # pages, feeds, sitemaps: validators, 304, Brotli/gzip
    app.add_middleware(HeadAsGet, router=app.router)  # HEAD on every GET route
    app.add_middleware(BodyLimit, max_bytes=settings.json_max_bytes, streamed=r"^/api/works/[^/]+/files|^/api/imports$")
    # /oai: answered by this middleware, ahead of FastAPI's routing (a harvest is thousands of
    # requests) and of the three above (it compresses its own answers, handles HEAD and reads
    # its own small form bodies: an oversized one gets an OAI error, not BodyLimit's 413), behind
    # the outer layer (security headers and the header limit apply; Application gives /oai a
    # stack of just that layer).
    app.add_middleware(OAIEndpoint)
    # outermost, in one layer: request id, metrics, access log; security headers on every
    # response, refusals included; the header limit
    app.add_middleware(Edge, observe=Observe(routes=lambda: app.routes), security=SecurityHeaders(),
                       limit=HeaderLimit(page=error_page))
    # Swagger UI (/api/docs) and ReDoc (/api/redoc) with their files served here: they work offline
    app.include_router(apidocs.router("/api/openapi.json", f"{settings.repository_name} — API"))
    app.include_router(works_router)
    app.include_router(centres_router)
    app.include_router(files_router)
    app.include_router(search_router)
    app.include_router(harvest_router)
    app.include_router(imports_router)
    app.include_router(web_router)
    app.include_router(operations_router)  # /health, /ready, /metrics
    return app
