"""The API's documentation pages, Swagger UI (``/api/docs``) and ReDoc (``/api/redoc``), served with
their files from this server, so they work offline and behind a firewall.

Swagger UI comes from the ``swagger-ui-bundle-v2`` package (which vendors swagger-ui-dist); ReDoc's
standalone bundle is vendored in ``static/apidocs/`` (npm ``redoc``, MIT, its licence beside it). Each
page gets its own Content-Security-Policy: its one inline script by hash, its files from this site,
inline styles (both render with style attributes; ReDoc also injects ``<style>``), and ReDoc's search
worker, which it starts from a ``blob:`` URL.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, Response
from swagger_ui_bundle import swagger_ui_path

from repo.errors import NotFound
from repo.middleware import inline_script_hashes

REDOC_DIR = Path(__file__).parent / "static" / "apidocs"
ASSETS = "/api/docs/assets"
#: The files the pages load, by the name they are served under.
FILES: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (Path(str(swagger_ui_path)) / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": (Path(str(swagger_ui_path)) / "swagger-ui.css", "text/css; charset=utf-8"),
    "favicon-32x32.png": (Path(str(swagger_ui_path)) / "favicon-32x32.png", "image/png"),
    "redoc.standalone.js": (REDOC_DIR / "redoc.standalone.js", "text/javascript; charset=utf-8"),
}


def _with_policy(page: Response, *, worker: bool = False) -> Response:
    body = bytes(page.body).decode()
    hashes = " ".join(f"'sha256-{digest}'" for digest in inline_script_hashes(body))
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        + ("worker-src blob:; " if worker else "")
        + "form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
    return page


def router(openapi_url: str, title: str) -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/api/docs")
    def swagger() -> Response:
        return _with_policy(get_swagger_ui_html(
            openapi_url=openapi_url, title=title, swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url=f"{ASSETS}/favicon-32x32.png"))

    @pages.get("/api/redoc")
    def redoc() -> Response:
        return _with_policy(get_redoc_html(
            openapi_url=openapi_url, title=title, redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon-32x32.png", with_google_fonts=False), worker=True)

    @pages.get(ASSETS + "/{name}")
    def asset(name: str) -> FileResponse:
        if name not in FILES:
            raise NotFound("No such file.")
        path, media_type = FILES[name]
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    return pages


