"""The reading room: server-rendered pages, exports, sitemaps and feeds (routes registered in
repo.app). Handlers parse, call :mod:`repo.web.service` (or feeds/exports) and render."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.orm import Session

from repo.context import Context
from repo.db import get_session
from repo.deposit.auth import Principal
from repo.errors import NotFound
from repo.web import exports, feeds, i18n, results, service
from repo.web.rendering import HTMLRoute, render

router = APIRouter(route_class=HTMLRoute, include_in_schema=False)
STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}
_STATIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.[a-z]{1,8}$")
XML = "application/xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


def reader(request: Request, session: Session = Depends(get_session, scope="function")) -> Context:
    """The reading room reads as the public does: whatever credentials the browser sends."""
    return Context(session, Principal(), request.app.state.clock.now(), request.app.state.settings)


def lang3(request: Request) -> str:
    return i18n.ISO639_3[i18n.negotiate(request)]


@router.api_route("/", methods=["GET", "HEAD"])
def home(request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    return render(request, "home.html", {"home": service.home(ctx, lang3(request))})


@router.get("/search")
def search(request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    found = results.run(ctx, request.query_params, getattr(request.app.state, "search", None))
    return render(request, "search.html", {"results": found}, status=400 if found.problem else 200)


@router.get("/search/facets/{dimension}")
def search_facet(dimension: str, request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    found = results.facet_list(ctx, request.query_params, getattr(request.app.state, "search", None), dimension)
    return render(request, "search_facet.html", {"facet": found})


@router.api_route("/works/{work_id}", methods=["GET", "HEAD"])
def work(work_id: str, request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    record = service.record(ctx, work_id)
    link = exports.link_header(exports.signposting(record))
    return render(request, "work.html", {"record": record, "lang3": lang3(request)}, headers={"Link": link})


@router.get("/works/{work_id}/export/{name}")
def export(work_id: str, name: str, ctx: Context = Depends(reader)) -> Response:
    if name not in exports.EXPORTS:
        raise NotFound(f"No export format '{name[:40]}'; try {', '.join(exports.EXPORTS)}.")
    record = service.record(ctx, work_id)
    media_type, extension = exports.EXPORTS[name]
    body = {"bibtex": exports.bibtex, "ris": exports.ris, "csl-json": exports.csl_json,
            "json-ld": exports.json_ld_script}[name](record)
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'inline; filename="work-{record.id}.{extension}"',
        "Link": f'<{record.url}>; rel="describes"'})


@router.get("/centres")
def centres(request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    return render(request, "centres.html", {"centres": service.centres(ctx)})


@router.get("/centres/{slug}")
def centre(slug: str, request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    data = service.centre(ctx, slug, lang3(request), request.query_params.get("page"))
    return render(request, "centre.html", data)


@router.get("/collections/{slug}")
def collection(slug: str, request: Request, ctx: Context = Depends(reader)) -> HTMLResponse:
    data = service.collection(ctx, slug, lang3(request), request.query_params.get("page"))
    return render(request, "collection.html", data)


@router.get("/sitemap.xml")
def sitemap_index(ctx: Context = Depends(reader)) -> Response:
    return Response(feeds.sitemap_index(ctx), media_type=XML)


@router.get("/sitemaps/pages.xml")
def sitemap_pages(ctx: Context = Depends(reader)) -> Response:
    return Response(feeds.sitemap_pages(ctx), media_type=XML)


@router.get("/sitemaps/works-{block}.xml")
def sitemap_works(block: str, ctx: Context = Depends(reader)) -> Response:
    return Response(feeds.sitemap_works(ctx, block), media_type=XML)


@router.get("/feed.atom")
def feed(ctx: Context = Depends(reader)) -> Response:
    body = feeds.atom(ctx, service.feed_works(ctx), title=ctx.settings.repository_name,
                      feed_path="/feed.atom", page_path="/")
    return Response(body, media_type=ATOM)


@router.get("/collections/{slug}/feed.atom")
def collection_feed(slug: str, ctx: Context = Depends(reader)) -> Response:
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
