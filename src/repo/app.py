"""The composition root: settings, engines and clients are built here, in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from repo import __version__, errors
from repo.centres.endpoints import router as centres_router
from repo.clock import Clock
from repo.config import Settings
from repo.db import Database, upgrade
from repo.deposit.endpoints import router as works_router
from repo.files.endpoints import router as files_router
from repo.oai import jobs as oai_jobs
from repo.ingest import jobs as harvest_jobs
from repo.ingest.endpoints import router as harvest_router
from repo.oai.endpoints import OAIEndpoint
from repo.search.endpoints import router as search_router
from repo.search import runtime as search_runtime
from repo.web import warmer as web_warmer
from repo.web.endpoints import router as web_router
from repo.web import apidocs
from repo.web.delivery import Compress, HeadAsGet
from repo.web.rendering import error_page
from repo.middleware import BodyLimit, HeaderLimit, SecurityHeaders


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.is_sqlite:
            upgrade(settings.resolved_database_url)  # the embedded profile migrates itself
        app.state.db = Database(settings.resolved_database_url)
        search_runtime.start(app)  # app.state.search (backend) and the background indexer
        web_warmer.start(app)  # recomputes the reading room's browse counts after each change
        oai_jobs.start(app)  # renders the OAI records of changed works after each commit
        harvest_jobs.start(app)  # scheduled harvests (repo.ingest.jobs.run_due)
        try:
            yield
        finally:
            harvest_jobs.stop(app)
            oai_jobs.stop(app)
            web_warmer.stop(app)
            search_runtime.stop(app)
            app.state.db.dispose()

    app = FastAPI(
        title=settings.repository_name,
        version=__version__,
        summary="Deposit API of an open-access repository (OAI-PMH at /oai).",
        docs_url=None,  # /api/docs and /api/redoc below (repo.web.apidocs): local files, their own policies
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock or Clock()
    app.state.on_commit = []
    errors.install(app, page=error_page)  # browsers get a page for unknown paths
    app.add_middleware(Compress)  # pages, feeds, sitemaps: validators, 304, Brotli/gzip
    app.add_middleware(HeadAsGet, router=app.router)  # HEAD on every GET route
    # /oai: answered by this middleware, ahead of FastAPI's routing (a harvest is thousands of
    # requests) and of the two above (it compresses its own answers and handles HEAD), behind the
    # others (security headers and the header limit apply); it reads its own small form bodies,
    # so an oversized one gets an OAI error, not BodyLimit's 413.
    app.add_middleware(OAIEndpoint)
    app.add_middleware(BodyLimit, max_bytes=settings.json_max_bytes, streamed=r"^/api/works/[^/]+/files|^/oai$")
    app.add_middleware(HeaderLimit, page=error_page)
    app.add_middleware(SecurityHeaders)  # outermost: every response, refusals included
    # Swagger UI (/api/docs) and ReDoc (/api/redoc) with their files served here: they work offline
    app.include_router(apidocs.router("/api/openapi.json", f"{settings.repository_name} — API"))
    app.include_router(works_router)
    app.include_router(centres_router)
    app.include_router(files_router)
    app.include_router(search_router)
    app.include_router(harvest_router)
    app.include_router(web_router)

    @app.get("/health", tags=["operations"], summary="Liveness and database check")
    def health() -> dict[str, str]:
        with app.state.db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return {"status": "ok"}

    return app
