"""The reading room: server-rendered pages, exports, sitemaps and feeds (routes registered in
repo.app). Handlers parse, call :mod:`repo.web.service` (or feeds/exports) and render."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from repo.context import Context
from repo.db import get_session
from repo.deposit.auth import Principal
from repo.errors import NotFound
from repo.web import delivery, exports, feeds, i18n, results, service
from repo.web.rendering import HTMLRoute, render

router = APIRouter(route_class=HTMLRoute, include_in_schema=False)
STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".ico": "image/vnd.microsoft.icon", ".png": "image/png"}
_STATIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.[a-z]{1,8}$")
XML = "application/xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


def reader(request: Request, session: Session = Depends(get_session, scope="function")) -> Context:
    """The reading room reads as the public does: whatever credentials the browser sends."""
    return Context(session, Principal(), request.app.state.clock.now(), request.app.state.settings)


def lang3(request: Request) -> str:
    return i18n.ISO639_3[i18n.negotiate(request)]


def fresh(request: Request, ctx: Context, *parts: object) -> None:
    """304 when the reader's copy of this list page is current (validators before rendering)."""
    delivery.check(request, (service.site_version(ctx), i18n.negotiate(request), ctx.settings.base_url,
                             request.url.path, str(request.query_params), *parts))


@router.get("/")
def home(request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    fresh(request, ctx)
    return render(request, "home.html", {"home": service.home(ctx, lang3(request))}, keep=())


@router.get("/search")
def search(request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    found = results.run(ctx, request.query_params, getattr(request.app.state, "search", None))
    hits = found.result.hits if found.result is not None else []
    extras = service.hit_extras(ctx, [hit.id for hit in hits], lang3(request))
    return render(request, "search.html", {"results": found, "extras": extras}, status=400 if found.problem else 200)


@router.get("/search/facets/{dimension}")
def search_facet(dimension: str, request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    found = results.facet_list(ctx, request.query_params, getattr(request.app.state, "search", None), dimension)
    return render(request, "search_facet.html", {"facet": found})


@router.get("/works/{work_id}")
def work(work_id: str, request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    record = service.record(ctx, work_id)
    delivery.check(request, (record.validator, i18n.negotiate(request), ctx.settings.base_url), record.last_modified)
    link = exports.link_header(exports.signposting(record))
    return render(request, "work.html", {"record": record, "lang3": lang3(request)}, headers={"Link": link},
                  keep=())


@router.get("/works/{work_id}/export/{name}")
def export(work_id: str, name: str, request: Request, ctx: Context = Depends(reader)) -> Response:
    exports.require_known(name)
    record = service.record(ctx, work_id)
    delivery.check(request, (record.validator, name, ctx.settings.base_url), record.last_modified, vary="")
    body, media_type, filename = exports.render(record, name, ctx.settings)
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'inline; filename="{filename}"', "Link": f'<{record.url}>; rel="describes"'})


@router.get("/centres")
def centres(request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    fresh(request, ctx)
    return render(request, "centres.html", {"centres": service.centres(ctx)}, keep=())


@router.get("/centres/{slug}")
def centre(slug: str, request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    fresh(request, ctx)
    data = service.centre(ctx, slug, lang3(request), request.query_params.get("page"))
    return render(request, "centre.html", data, keep=("page",))


@router.get("/collections/{slug}")
def collection(slug: str, request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    fresh(request, ctx)
    data = service.collection(ctx, slug, lang3(request), request.query_params.get("page"))
    return render(request, "collection.html", data, keep=("page",))


@router.get("/browse/authors")
def browse_authors(request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    fresh(request, ctx)
    index = service.browse(ctx, "author", request.query_params.get("letter"), request.query_params.get("page"))
    return render(request, "browse.html", {"index": index}, keep=("letter", "page"))


@router.get("/browse/subjects")
def browse_subjects(request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    fresh(request, ctx)
    index = service.browse(ctx, "subject", request.query_params.get("letter"), request.query_params.get("page"))
    return render(request, "browse.html", {"index": index}, keep=("letter", "page"))


def machine_fresh(request: Request, ctx: Context) -> None:
    """304 for a sitemap or feed the client has (they depend on the data, not on the language)."""
    delivery.check(request, (service.site_version(ctx), ctx.settings.base_url, request.url.path), vary="")


@router.get("/sitemap.xml")
def sitemap_index(request: Request, ctx: Context = Depends(reader)) -> Response:
    machine_fresh(request, ctx)
    return Response(feeds.sitemap_index(ctx), media_type=XML)


@router.get("/sitemaps/pages.xml")
def sitemap_pages(request: Request, ctx: Context = Depends(reader)) -> Response:
    machine_fresh(request, ctx)
    return Response(feeds.sitemap_pages(ctx), media_type=XML)


@router.get("/sitemaps/works-{block}.xml")
def sitemap_works(block: str, request: Request, ctx: Context = Depends(reader)) -> Response:
    machine_fresh(request, ctx)
    return Response(feeds.sitemap_works(ctx, block), media_type=XML)


@router.get("/feed.atom")
def feed(request: Request, ctx: Context = Depends(reader)) -> Response:
    machine_fresh(request, ctx)
    body = feeds.atom(ctx, service.feed_works(ctx), title=ctx.settings.repository_name,
                      feed_path="/feed.atom", page_path="/")
    return Response(body, media_type=ATOM)


@router.get("/collections/{slug}/feed.atom")
def collection_feed(slug: str, request: Request, ctx: Context = Depends(reader)) -> Response:
    machine_fresh(request, ctx)
    found, works = service.collection_works(ctx, slug, "")
    body = feeds.atom(ctx, works, title=f"{found.name} — {ctx.settings.repository_name}",
                      feed_path=f"/collections/{found.slug}/feed.atom", page_path=f"/collections/{found.slug}")
    return Response(body, media_type=ATOM)


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if not _STATIC_NAME.match(name):  # also keeps NUL and 300-character names from the file system
        raise NotFound("No such file.")
    path = STATIC_DIR / name
    if path.suffix not in STATIC_TYPES or not path.is_file():
        raise NotFound("No such file.")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/robots.txt")
def robots(ctx: Context = Depends(reader)) -> Response:
    """Crawlers: everything but the API and the endless combinations of search filters; the sitemap."""
    return Response(service.robots(ctx.settings.base_url), media_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return static("favicon.ico")


@router.get("/unapi")
def unapi(request: Request, ctx: Context = Depends(reader)) -> Response:
    """unAPI (unapi.info): the exports of the works a page shows (``<abbr class="unapi-id">``), so
    Zotero saves a complete item: formats without ``id``, 300 with the formats of one work, a
    redirect to the export with ``format``."""
    work_id, name = request.query_params.get("id"), request.query_params.get("format")
    if work_id is None:
        return Response(exports.unapi_formats(None), media_type=XML)
    record = service.record(ctx, work_id)
    if name is None:
        return Response(exports.unapi_formats(record), status_code=300, media_type=XML)
    if not exports.unapi_offers(record, name):
        return Response(exports.unapi_formats(record), status_code=406, media_type=XML)
    return RedirectResponse(f"{record.url}/export/{name}", status_code=302)
