"""Security headers on every response, the pages' Content-Security-Policy, the request-header
limit (431), and a spoofed ``Host`` that never reaches a redirect or a link."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import lxml.html
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from helpers import assert_problem, live_server, pdf_bytes, sample, snapshot
from repo.middleware import MAX_HEADER_BYTES, inline_script_hashes

# Headers are added around the app, whatever the database: one is enough.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DOCUMENT_HEADERS = ("content-security-policy", "x-frame-options", "referrer-policy")


def _policy(header: str) -> dict[str, list[str]]:
    directives = [d.strip().split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.fixture
def world(client: TestClient, auth: Any) -> dict[str, Any]:
    """A published work with a PDF, in a collection: something behind every route."""
    assert client.post("/api/collections", headers=auth.admin, json={"slug": "libros", "name": "Libros"}).status_code == 201
    work = client.post("/api/works", headers=auth.admin, json=sample(collections=["libros"])).json()["id"]
    assert client.put(f"/api/works/{work}/files/a.pdf", content=pdf_bytes(),
                      headers={**auth.admin, "Content-Type": "application/pdf"}).status_code == 201
    assert client.post(f"/api/works/{work}/publish", headers=auth.admin).status_code == 200
    return {"work_id": str(work), "name": "a.pdf", "slug": "libros", "block": "0", "auth": auth.admin}


def _url(path: str, values: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return quote(str(values.get(name, "x")), safe="")
    return re.sub(r"\{([^}]+)\}", fill, path)


@sqlite_only
def test_every_route_answers_nosniff_and_documents_carry_their_policy(
        client: TestClient, world: dict[str, Any]) -> None:
    seen_html = 0
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        methods = sorted(getattr(route, "methods", None) or {"GET"})
        for method in methods:
            url = _url(route.path, world)
            if route.path.startswith("/collections/") or route.path.startswith("/centres/"):
                url = url.replace("/centres/libros", "/centres/centre-a")
            headers = {"Accept": "text/html,*/*"} if not route.path.startswith("/api") else {}
            if method not in ("GET", "HEAD"):
                headers = {**headers, "Content-Type": "application/json"}  # a body-less write: refused
            response = client.request(method, url, headers={**headers, **world["auth"]}, follow_redirects=False)
            where = f"{method} {url} → {response.status_code}"
            assert response.status_code < 500, where
            assert response.headers.get("x-content-type-options") == "nosniff", where
            if response.headers.get("content-type", "").startswith("text/html"):
                seen_html += 1
                for name in DOCUMENT_HEADERS:
                    assert name in response.headers, where
                assert response.headers["x-frame-options"] == "DENY", where
                policy = _policy(response.headers["content-security-policy"])
                assert policy["frame-ancestors"] == ["'none'"], where
                scripts = policy.get("script-src", policy["default-src"])
                assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, where
                if method == "HEAD":
                    continue
                tree = lxml.html.document_fromstring(response.text)
                inline = [s for s in tree.iter("script") if s.get("src") is None
                          and s.get("type") != "application/ld+json"]
                if inline:  # only the API docs page has an inline script: allowed by its hash
                    assert set(inline_script_hashes(response.text)) <= {
                        s.removeprefix("'sha256-").removesuffix("'") for s in scripts}, where
    assert seen_html >= 6  # home, search, landing, centres, centre, collection, docs…


@sqlite_only
def test_refusals_and_errors_carry_the_headers_too(client: TestClient, auth: Any, app: Any) -> None:
    too_big = b"[" + b"1," * (app.state.settings.json_max_bytes // 2) + b"1]"
    for method, url, headers, content, status in [
        ("GET", "/nope", {"Accept": "text/html"}, None, 404),
        ("GET", "/api/nope", {}, None, 404),
        ("DELETE", "/oai", {}, None, 405),
        ("POST", "/api/works", {**auth.admin, "Content-Type": "application/json"}, too_big, 413),
        ("GET", "/", {"Cookie": "a=" + "x" * MAX_HEADER_BYTES}, None, 431),
        ("GET", "/works/1/", {}, None, 307),
        ("GET", "/oai?verb=Identify", {}, None, 200),
    ]:
        response = client.request(method, url, headers=headers, content=content, follow_redirects=False)
        assert response.status_code == status, (url, response.text[:200])
        assert response.headers["x-content-type-options"] == "nosniff", url


@sqlite_only
def test_the_api_docs_page_allows_its_inline_script_by_hash_only(client: TestClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    policy = _policy(response.headers["content-security-policy"])
    hashes = inline_script_hashes(response.text)
    assert hashes and all(f"'sha256-{h}'" in policy["script-src"] for h in hashes)
    assert "'unsafe-inline'" not in policy["script-src"] and policy["frame-ancestors"] == ["'none'"]


@sqlite_only
def test_a_spoofed_host_never_reaches_a_redirect_or_a_link(client: TestClient, world: dict[str, Any]) -> None:
    spoofed = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "Accept": "text/html"}
    work = world["work_id"]
    redirect = client.get(f"/works/{work}/?lang=pt", headers=spoofed, follow_redirects=False)
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"http://testserver/works/{work}?lang=pt"  # REPO_BASE_URL
    for path in ("/", f"/works/{work}", "/search?q=educación", "/centres", "/centres/centre-a", "/collections/libros",
                 "/nope", f"/api/works/{work}", f"/api/works/{work}/files", "/oai?verb=Identify",
                 f"/works/{work}/export/json-ld", "/sitemap.xml", "/sitemaps/pages.xml", "/feed.atom", "/api/docs"):
        response = client.get(path, headers=spoofed, follow_redirects=False)
        assert response.status_code < 500, path
        assert "evil.example" not in response.text, path
        assert all("evil.example" not in value for value in response.headers.values()), path


@sqlite_only
def test_oversized_headers_are_431_in_the_readers_language_and_change_nothing(
        client: TestClient, auth: Any, database: Any) -> None:
    before = snapshot(database)
    fits = client.get("/api/works", headers={"Cookie": "a=" + "x" * (MAX_HEADER_BYTES - 1024)})
    assert fits.status_code == 200
    big = {"Cookie": "a=" + "x" * (MAX_HEADER_BYTES + 1)}
    assert_problem(client.post("/api/works", json=sample(), headers={**auth.admin, **big}), 431)
    page = client.get("/search", headers={**big, "Accept": "text/html", "Accept-Language": "pt"})
    assert page.status_code == 431 and page.headers["content-type"].startswith("text/html")
    assert lxml.html.document_fromstring(page.text).findtext(".//h1") == "Esta solicitação é grande demais"
    many = {f"X-Filler-{i}": "y" * 1000 for i in range(MAX_HEADER_BYTES // 1000 + 1)}
    assert_problem(client.get("/api/works", headers=many), 431)
    assert snapshot(database) == before


@sqlite_only
def test_a_real_server_answers_431_to_a_300_kb_cookie(app: Any) -> None:
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        response = http.get("/api/works", headers={"Cookie": "session=" + "x" * 300_000})
        assert_problem(response, 431)
        assert response.headers["x-content-type-options"] == "nosniff"
        long_query = http.get("/oai?verb=Identify&x=" + "a" * 60_000)  # (httpx caps URLs at 64 KiB)
        assert long_query.status_code == 200  # a long OAI-PMH query string still reaches the app
        assert http.get("/health").json() == {"status": "ok"}
