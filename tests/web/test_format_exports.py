"""The OAI-PMH metadata formats as landing-page exports (``/works/{id}/export/{prefix}``): the
same crosswalks, linked from the page, from Signposting ``describedby`` and from JSON-LD
``subjectOf``; each export validates against its official XSD."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lxml import etree, html

from conftest import Room
from repo.oai.formats import REGISTRY

# Rendering does not depend on the database (the OAI tests run the crosswalks on both).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def official() -> ModuleType:
    """``shared/schemas/validate.py`` (the module the OAI tests loaded, when they ran first: the
    JATS schema is compiled once per session)."""
    if "oai_official_validate" in sys.modules:
        return sys.modules["oai_official_validate"]
    folder = Path(os.environ.get("REPO_OFFICIAL_SCHEMAS") or Path(__file__).parents[2].parent / "shared" / "schemas")
    if not (folder / "validate.py").is_file():
        if os.environ.get("REPO_REQUIRE_SCHEMAS", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"REPO_REQUIRE_SCHEMAS=1 but {folder}/validate.py is missing")
        pytest.skip(f"official schemas not found in {folder} (set REPO_OFFICIAL_SCHEMAS)")
    spec = importlib.util.spec_from_file_location("oai_official_validate", folder / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _links(header: str) -> list[dict[str, str]]:
    import re

    return [{"href": m.group(1), **dict(re.findall(r'([a-z]+)="([^"]*)"', m.group(2)))}
            for m in re.finditer(r'<([^>]*)>((?:\s*;\s*[a-z]+="[^"]*")*)', header)]


def test_every_applicable_format_is_exported_linked_and_valid(room: Room, official: ModuleType) -> None:
    for kind, prefixes in (("article", list(REGISTRY)), ("chapter", [p for p in REGISTRY if p != "jats"])):
        work = room[kind]
        page = room.client.get(f"/works/{work}")
        base = f"http://testserver/works/{work}"
        tree = html.fromstring(page.text)
        assert tree.xpath("//p[@class='exports']/a/@href")[4:] == [f"{base}/export/{p}" for p in prefixes]
        described = [link for link in _links(page.headers["link"]) if link["rel"] == "describedby" and "profile" in link]
        assert [(link["href"], link["profile"]) for link in described] == [
            (f"{base}/export/{p}", REGISTRY[p].namespace) for p in prefixes]
        document = json.loads(tree.xpath("//script[@type='application/ld+json']/text()")[0])
        assert [(d["@type"], d["contentUrl"], d["encodingFormat"]) for d in document["subjectOf"]] == [
            ("DataDownload", f"{base}/export/{p}", REGISTRY[p].media_type) for p in prefixes]
        for link in described:
            export = room.client.get(link["href"].removeprefix("http://testserver"))
            assert export.status_code == 200 and export.headers["content-type"].startswith(link["type"])
            assert export.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
            root = etree.fromstring(export.content)
            result = official.validate_tree(root)
            assert result.ok, (link["href"], result.errors)
            assert etree.QName(root).namespace == link["profile"]
    # the record links to the files the public may read now, the embargoed annex never
    marc = room.client.get(f"/works/{room['open_book']}/export/marcxml").text
    assert "/files/libro.pdf" in marc and "anexo.pdf" not in marc


def test_formats_that_do_not_apply_and_unknown_names(room: Room) -> None:
    book = room["open_book"]
    missing = room.client.get(f"/works/{book}/export/jats")
    assert missing.status_code == 404  # JATS is for articles and reviews
    assert room.client.get(f"/works/{book}/export/marc21").status_code == 404
    assert room.client.get(f"/works/{room['draft']}/export/mods").status_code == 404
    assert room.client.get(f"/works/{room['withdrawn']}/export/mods").status_code == 410


def test_the_main_file_is_the_scholar_pdf(room: Room, database: Any) -> None:
    """``citation_pdf_url`` follows the editor's choice of main file, and only while the public
    may read it; without a choice, the first readable PDF by name."""
    book = room["open_book"]
    room.file_access(book, "anexo.pdf", None)  # the annex opens: it sorts first by name
    pdf_url = lambda: [m.get("content") for m in html.fromstring(room.client.get(f"/works/{book}").text)  # noqa: E731
                       .xpath("//meta[@name='citation_pdf_url']")]
    assert pdf_url() == [f"http://testserver/works/{book}/files/anexo.pdf"]
    chosen = room.client.patch(f"/api/works/{book}", json={"main_file": "libro.pdf"}, headers=room.admin)
    assert chosen.status_code == 200, chosen.text
    assert pdf_url() == [f"http://testserver/works/{book}/files/libro.pdf"]
    openaire = etree.fromstring(room.client.get(f"/works/{book}/export/oai_openaire").content)
    files = {f.text.rsplit("/", 1)[1]: f.get("objectType")
             for f in openaire.iter("{http://namespace.openaire.eu/schema/oaire/}file")}
    assert files == {"libro.pdf": "fulltext", "anexo.pdf": "other"}
    room.file_access(book, "libro.pdf", "restricted")  # the chosen full text closes: no Scholar PDF
    assert pdf_url() == []


def test_unapi_offers_the_formats_that_apply(room: Room) -> None:
    """unAPI (what Zotero asks a page for): each work's formats are the citation exports and the
    metadata formats that apply to it, with their namespaces (Zotero's reader picks MODS by them),
    and a format that does not apply is refused (406) like an unknown name."""
    every = etree.fromstring(room.client.get("/unapi").content)
    assert set(REGISTRY) <= set(every.xpath("//format/@name"))
    for kind, prefixes in (("article", set(REGISTRY)), ("open_book", set(REGISTRY) - {"jats"})):
        work = room[kind]
        offered = room.client.get(f"/unapi?id={work}")
        assert offered.status_code == 300
        formats = {f.get("name"): f for f in etree.fromstring(offered.content).iter("format")}
        assert {name for name, f in formats.items() if f.get("namespace_uri")} == prefixes, kind
        assert formats["mods"].get("namespace_uri") == "http://www.loc.gov/mods/v3"
        assert formats["mods"].get("schema_location") == REGISTRY["mods"].schema
        for prefix in prefixes:
            moved = room.client.get(f"/unapi?id={work}&format={prefix}", follow_redirects=False)
            assert moved.status_code == 302, (kind, prefix)
            assert moved.headers["location"] == f"http://testserver/works/{work}/export/{prefix}"
    assert room.client.get(f"/unapi?id={room['open_book']}&format=jats").status_code == 406
