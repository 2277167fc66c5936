"""No markup from data or from the request reaches a page: every page type, rendered with hostile
metadata and hostile query parameters in every interface language, is parsed and searched for
any element or attribute the payloads try to inject (never a text grep).

The payloads each try a different way out of their context: element content, a double- or
single-quoted attribute, the ``<title>``, a ``<script>`` data block, a URL. A page passes when
(1) no element or attribute the payloads carry exists in the parsed document, (2) every
``<script>`` is a JSON-LD data block that parses as JSON, (3) no attribute is an event handler
and no link uses ``javascript:``, and (4) the hostile text is *shown* (escaped), not silently
dropped, where the page displays that value.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import lxml.html
import pytest
from fastapi.testclient import TestClient

from helpers import pdf_bytes
from repo.web import labels
from repo.web.i18n import LANGUAGES, TRANSLATIONS_DIR, translations

# Rendering does not depend on the database (the pages' SQL runs on both in test_landing/test_browse).
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

EVIL_TAGS = {"x-evil", "svg", "iframe", "object", "embed", "math", "base"}
PAYLOADS = [
    "<script>window.pwned=1</script>",
    '"><svg onload=window.pwned=2 data-evil=1>',
    "'><img src=x onerror=window.pwned=3 data-evil=1>",
    "</title><x-evil data-evil=1>",
    "</script><x-evil data-evil=1>",
    "<!--<x-evil data-evil=1>-->",
    "&lt;x-evil data-evil=1&gt; &amp; <iframe src=javascript:alert(4)>",
]
EVIL = " ".join(PAYLOADS)  # one string that tries all of them
QUERY_EVIL = [quote(p, safe="") for p in PAYLOADS]


def assert_no_injection(page: str, where: str) -> Any:
    tree = lxml.html.document_fromstring(page)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions are not elements
        assert element.tag not in EVIL_TAGS, f"{where}: injected <{element.tag}>"
        for name, value in element.attrib.items():
            assert name != "data-evil" and not name.startswith("on"), f"{where}: injected attribute {name}"
            assert not value.strip().lower().startswith("javascript:"), f"{where}: {name}={value!r}"
        if element.tag == "script" and element.get("src") is not None:
            assert element.get("src") == "/static/site.js" and not element.text, where  # the site's one script file
        elif element.tag == "script":
            assert element.get("type") == "application/ld+json", where
            json.loads(element.text or "")  # a data block that still parses: nothing broke out of it
        if element.tag == "img":
            assert element.get("src") != "x", f"{where}: injected <img>"
    return tree


@pytest.fixture
def hostile(client: TestClient, auth: Any) -> dict[str, Any]:
    """A centre, a collection, a published work with a file, and a withdrawn work, every text of
    which is hostile; the search index drained so /search shows them as hits and facets."""
    admin = auth.admin
    assert client.post("/api/centres", headers=admin, json={
        "slug": "evil", "name": EVIL, "description": EVIL}).status_code == 201
    assert client.post("/api/collections", headers=admin, json={
        "slug": "evil-books", "name": EVIL, "description": EVIL, "centre": "evil"}).status_code == 201
    metadata = {
        "titles": [{"value": "Hostil " + EVIL, "lang": "spa"}, {"value": EVIL, "lang": "eng", "type": "translated"}],
        "abstracts": [{"value": "Resumen hostil " + EVIL, "lang": "spa"}],
        "creators": [{"family": EVIL, "given": EVIL}, {"name": EVIL}],
        "contributors": [{"family": EVIL, "role": "editor"}],
        "subjects": [{"value": EVIL, "lang": "spa"}],
        "languages": ["spa"], "publication_date": "2020",
        "publisher": EVIL, "place": EVIL, "series": {"title": EVIL, "number": EVIL},
        "book": {"title": EVIL}, "notes": EVIL,
    }
    record = {"type": "book_part", "centre": "evil", "collections": ["evil-books"], "access_right": "open",
              "metadata": metadata}
    ids = {}
    for name in ("work", "withdrawn"):
        created = client.post("/api/works", headers=admin, json=record)
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
        assert client.post(f"/api/works/{ids[name]}/publish", headers=admin).status_code == 200
    file_name = "<img src=x onerror=alert(5) data-evil=1>.pdf"
    uploaded = client.put(f"/api/works/{ids['work']}/files/{quote(file_name, safe='')}", content=pdf_bytes(),
                          headers={**admin, "Content-Type": "application/pdf"})
    assert uploaded.status_code == 201, uploaded.text
    withdrawn = client.post(f"/api/works/{ids['withdrawn']}/withdraw", headers=admin, json={"reason": EVIL})
    assert withdrawn.status_code == 200, withdrawn.text
    from repo.search.indexer import Indexer

    app = client.app
    Indexer(app.state.db, app.state.search, app.state.clock).drain()  # type: ignore[attr-defined]
    return ids


def _pages(ids: dict[str, Any]) -> list[tuple[str, int]]:
    """(path and query, expected status) for every kind of page, each with hostile parameters."""
    evil = QUERY_EVIL
    filters = "&".join(f"{name}={value}" for name in ("type", "language", "centre", "collection", "access")
                       for value in evil)
    return [
        ("/", 200),
        (f"/?page={evil[1]}&x={evil[0]}", 200),
        ("/search?q=hostil", 200),
        (f"/search?q={evil[0]}&sort={evil[1]}&page={evil[2]}&year={evil[3]}", 200),
        (f"/search?q=hostil&{filters}", 200),
        (f"/search?type={evil[0]}&access={evil[1]}", 200),  # the reported case
        ("/search?centre=evil&collection=evil-books&q=hostil", 200),
        (f"/works/{ids['work']}?x={evil[1]}", 200),
        (f"/works/{ids['withdrawn']}?x={evil[2]}", 410),
        (f"/centres?x={evil[0]}", 200),
        (f"/centres/evil?page={evil[1]}", 200),
        (f"/collections/evil-books?page={evil[2]}", 200),
        (f"/works/{evil[0]}", 404),
        (f"/centres/{evil[1]}", 404),
        (f"/collections/{evil[2]}", 404),
        (f"/no/such/{evil[3]}?x={evil[4]}", 404),
        ("/search?q=" + quote("hostil " * 200, safe=""), 400),  # a query too long: an error page with its detail
    ]


@sqlite_only
def test_every_page_type_in_every_language_shows_hostile_values_as_text(
        client: TestClient, hostile: dict[str, Any]) -> None:
    for lang in LANGUAGES:
        for path, status in _pages(hostile):
            for how in ("param", "cookie"):
                url = path + ("&" if "?" in path else "?") + f"lang={lang}" if how == "param" else path
                response = client.get(url, headers={"Accept": "text/html", "Cookie": f"lang={lang}"})
                where = f"{url} [{lang}]"
                assert response.status_code == status, where
                assert response.headers["content-type"].startswith("text/html"), where
                assert response.headers["content-language"] == lang, where
                assert_no_injection(response.text, where)


@sqlite_only
def test_hostile_values_are_shown_escaped_not_dropped(client: TestClient, hostile: dict[str, Any]) -> None:
    for lang in LANGUAGES:
        landing = assert_no_injection(client.get(f"/works/{hostile['work']}?lang={lang}").text, "landing")
        titles = {"Hostil " + EVIL, EVIL}  # the title in the reader's language (the English one is translated)
        assert landing.findtext(".//h1").strip() in titles
        assert landing.find(".//title").text.split(" — ")[0] in titles
        names = [m.get("content") for m in landing.iter("meta") if m.get("name") == "citation_title"]
        assert len(names) == 1 and names[0] in titles
        ld = next(s for s in landing.iter("script") if s.get("type") == "application/ld+json")
        assert json.loads(ld.text)["name"] in titles
        tombstone = assert_no_injection(client.get(f"/works/{hostile['withdrawn']}?lang={lang}").text, "tombstone")
        assert EVIL in tombstone.text_content()
        centre = assert_no_injection(client.get(f"/centres/evil?lang={lang}").text, "centre")
        assert centre.findtext(".//h1").strip() == EVIL


@sqlite_only
def test_unknown_filter_values_are_shown_as_text_in_their_chip(client: TestClient, hostile: dict[str, Any]) -> None:
    """An unknown filter value is kept (a shared link keeps its meaning, the reader sees why nothing
    matches and can remove it) and shown as plain text, not translated, not markup."""
    payload = PAYLOADS[0]
    for lang in LANGUAGES:
        for dimension in ("type", "access", "language", "centre", "collection"):
            response = client.get(f"/search?{dimension}={quote(payload)}&lang={lang}")
            tree = assert_no_injection(response.text, dimension)
            chips = [a.text_content() for a in tree.xpath("//ul[@class='active-filters']/li/a")]
            facet = translations(lang).gettext(labels.FACETS[dimension])
            assert any(chip.startswith(f"{facet}: {payload} ✕") for chip in chips), (dimension, lang, chips)


def test_catalogs_hold_no_markup() -> None:
    """Translations are escaped like any value (repo.web.rendering.escaped_gettext): a catalog
    string with markup would show as text, so none may have any."""
    from babel.messages.pofile import read_po

    for path in TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po"):
        with path.open("rb") as handle:
            for message in read_po(handle):
                if not message.id:
                    continue  # the catalog's header
                texts = [*(message.id if isinstance(message.id, tuple) else [message.id]),
                         *(message.string if isinstance(message.string, tuple) else [message.string])]
                for text in texts:
                    assert "<" not in text and "&" not in text, (path, text)
