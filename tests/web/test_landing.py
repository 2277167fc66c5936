"""Landing pages: metadata, files and badges, Highwire tags, JSON-LD, Signposting, tombstones."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from lxml import html
from pyld import jsonld

from conftest import Room


def _page(room: Room, work_id: int | str, **headers: str) -> tuple[Any, Any]:
    response = room.client.get(f"/works/{work_id}", headers=headers)
    return response, html.fromstring(response.text)


def _meta(tree: Any) -> list[tuple[str, str]]:
    return [(m.get("name"), m.get("content")) for m in tree.xpath("//meta[starts-with(@name, 'citation_')]")]


def _links(header: str) -> list[dict[str, str]]:
    """Parse an RFC 8288 Link header into dicts with href and parameters."""
    links = []
    for match in re.finditer(r'<([^>]*)>((?:\s*;\s*[a-zA-Z*]+="[^"]*")*)', header):
        params = dict(re.findall(r'([a-zA-Z*]+)="([^"]*)"', match.group(2)))
        links.append({"href": match.group(1), **params})
    return links


# A stand-in for https://schema.org's remote context (no network in tests): the real one also maps
# every term into the schema.org vocabulary.
SCHEMA_CONTEXT = {"@context": {"@vocab": "https://schema.org/"}}


def _loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    assert url.rstrip("/") in ("https://schema.org", "http://schema.org"), url
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": SCHEMA_CONTEXT}


def _json_ld(tree: Any) -> dict[str, Any]:
    scripts = tree.xpath("//script[@type='application/ld+json']/text()")
    assert len(scripts) == 1
    return json.loads(scripts[0])


def test_open_work_metadata_files_and_scholar_tags(room: Room) -> None:
    response, tree = _page(room, room["open_book"], **{"Accept-Language": "es"})
    assert response.status_code == 200
    assert tree.xpath("string(//h1)") == "Educación popular y movimientos sociales en América Latina"
    # the translated title is shown too, marked with its language
    assert tree.xpath("//p[@class='alt-title'][@lang='en']")
    assert "Gadotti, Moacir" in tree.xpath("string(//ul[@class='creators'])")
    assert tree.xpath("//a[@href='https://orcid.org/0000-0002-1825-0097']")
    files = {li.xpath("string(.//*[contains(@class,'file-name')])"): li for li in tree.xpath("//ul[@class='files']/li")}
    assert set(files) == {"anexo.pdf", "libro.pdf"}
    # the open PDF opens in the browser (no download attribute) and has a separate Download link;
    # with its format and size; the embargoed one is not a link
    url = f"http://testserver/works/{room['open_book']}/files/libro.pdf"
    assert files["libro.pdf"].xpath(".//a[@class='file-name'][not(@download)]/@href") == [url]
    assert files["libro.pdf"].xpath(".//a[@download='libro.pdf']/@href") == [url]
    assert "PDF" in files["libro.pdf"].xpath("string(.//*[@class='file-meta'])")
    assert not files["anexo.pdf"].xpath(".//a")
    assert "1 de enero de 2999" in files["anexo.pdf"].xpath("string(.//*[contains(@class,'badge-embargoed')])")

    meta = _meta(tree)
    names = [n for n, _ in meta]
    assert ("citation_title", "Educación popular y movimientos sociales en América Latina") in meta
    assert [c for n, c in meta if n == "citation_author"] == ["Gadotti, Moacir", "Torres, Carlos Alberto"]
    assert ("citation_publication_date", "2019/05") in meta
    assert ("citation_isbn", "978-987-722-432-0") in meta
    assert ("citation_language", "es") in meta
    # only the PDF the public may read now, on this host
    assert [c for n, c in meta if n == "citation_pdf_url"] == [
        f"http://testserver/works/{room['open_book']}/files/libro.pdf"]
    assert names.index("citation_title") < names.index("citation_pdf_url")


def test_open_work_json_ld_expands_as_schema_org(room: Room) -> None:
    _, tree = _page(room, room["article"])
    document = _json_ld(tree)
    assert document["@context"] == "https://schema.org"
    assert document["@type"] == "ScholarlyArticle"
    expanded = jsonld.expand(document, {"documentLoader": _loader})
    assert len(expanded) == 1
    node = expanded[0]
    s = "https://schema.org/"
    assert node["@type"] == [s + "ScholarlyArticle"]
    assert node["@id"] == f"http://testserver/works/{room['article']}"
    assert node[s + "name"][0]["@value"] == "Derechos indígenas y consulta previa en los Andes"
    author = node[s + "author"][0]
    assert author["@type"] == [s + "Person"] and author[s + "familyName"][0]["@value"] == "Quispe Mamani"
    assert node[s + "datePublished"][0]["@value"] == "2022-07"
    assert node[s + "license"][0]["@value"] == "https://creativecommons.org/licenses/by/4.0/"
    # issue ⊂ volume ⊂ periodical, as schema.org models an article's place
    issue = node[s + "isPartOf"][0]
    assert issue["@type"] == [s + "PublicationIssue"] and issue[s + "issueNumber"][0]["@value"]
    volume = issue[s + "isPartOf"][0]
    assert volume["@type"] == [s + "PublicationVolume"] and volume[s + "volumeNumber"][0]["@value"]
    periodical = volume[s + "isPartOf"][0]
    assert periodical["@type"] == [s + "Periodical"] and periodical[s + "issn"][0]["@value"] == "0188-7653"
    assert node[s + "isAccessibleForFree"][0]["@value"] is True
    encodings = node[s + "encoding"]
    assert [e[s + "contentUrl"][0]["@value"] for e in encodings] == [
        f"http://testserver/works/{room['article']}/files/articulo.pdf"]


def test_signposting_of_an_open_work(room: Room) -> None:
    response, _ = _page(room, room["article"])
    links = _links(response.headers["link"])
    rels: dict[str, list[dict[str, str]]] = {}
    for link in links:
        rels.setdefault(link["rel"], []).append(link)
    assert rels["cite-as"] == [{"href": "https://doi.org/10.1234/cj.2022.045", "rel": "cite-as"}]
    described = {link["type"]: link["href"] for link in rels["describedby"]}
    base = f"http://testserver/works/{room['article']}"
    assert described["application/ld+json"] == f"{base}/export/json-ld"
    assert described["application/x-bibtex"] == f"{base}/export/bibtex"
    assert [link["href"] for link in rels["item"]] == [f"{base}/files/articulo.pdf"]
    assert rels["item"][0]["type"] == "application/pdf"
    assert {link["href"] for link in rels["type"]} == {"https://schema.org/ScholarlyArticle",
                                                        "https://schema.org/AboutPage"}
    assert [link["href"] for link in rels["license"]] == ["https://creativecommons.org/licenses/by/4.0/"]
    # every describedby target answers with the type it announces
    for media_type, href in described.items():
        export = room.client.get(href.removeprefix("http://testserver"))
        assert export.status_code == 200 and export.headers["content-type"].startswith(media_type)
    # the page carries the same links as <link> elements
    _, tree = _page(room, room["article"])
    in_html = {(e.get("rel"), e.get("href")) for e in tree.xpath("//head/link")}
    assert {(link["rel"], link["href"]) for link in links} <= in_html
    book, _ = _page(room, room["open_book"])
    authors = [link["href"] for link in _links(book.headers["link"]) if link["rel"] == "author"]
    assert authors == ["https://orcid.org/0000-0002-1825-0097"]


def test_embargoed_work_badge_no_pdf_url_no_item(room: Room, clock: Any) -> None:
    response, tree = _page(room, room["thesis_embargoed"], **{"Accept-Language": "en"})
    assert response.status_code == 200
    end = clock.now().date() + timedelta(days=365)  # the demo's embargo
    badge = tree.xpath("string(//p[@class='work-kicker']//*[contains(@class,'badge-embargoed')])")
    assert badge == f"Embargoed until {end:%B} {end.day}, {end.year}"
    names = [n for n, _ in _meta(tree)]
    assert "citation_title" in names and "citation_pdf_url" not in names
    assert ("citation_dissertation_institution", "FLACSO Argentina") in _meta(tree)
    assert not tree.xpath("//li[@class='file']//a")  # listed, but not downloadable yet
    rels = [link["rel"] for link in _links(response.headers["link"])]
    assert "cite-as" in rels and "item" not in rels
    document = _json_ld(tree)
    assert document["isAccessibleForFree"] is False and "encoding" not in document


def test_embargo_ends_and_the_pdf_becomes_public(room: Room, clock: Any) -> None:
    clock.advance(days=366)
    _, tree = _page(room, room["thesis_embargoed"])
    assert [c for n, c in _meta(tree) if n == "citation_pdf_url"] == [
        f"http://testserver/works/{room['thesis_embargoed']}/files/tesis.pdf"]


def test_a_file_opened_on_its_own_is_public_before_its_work(room: Room) -> None:
    work = room["thesis_embargoed"]
    room.file_access(work, "tesis.pdf", "open")
    response, tree = _page(room, work)
    assert [c for n, c in _meta(tree) if n == "citation_pdf_url"] == [f"http://testserver/works/{work}/files/tesis.pdf"]
    assert [link["href"] for link in _links(response.headers["link"]) if link["rel"] == "item"] == [
        f"http://testserver/works/{work}/files/tesis.pdf"]


def test_withdrawn_work_is_a_410_tombstone_with_its_reason(room: Room) -> None:
    response, tree = _page(room, room["withdrawn"], **{"Accept-Language": "pt"})
    assert response.status_code == 410
    assert response.headers["content-type"].startswith("text/html")
    assert tree.xpath("string(//h1)") == "Esta obra foi retirada"
    assert "Duplicate of a later edition deposited by the author." in tree.xpath("string(//blockquote)")
    assert not _meta(tree) and not tree.xpath("//script[@type='application/ld+json']")
    assert tree.xpath("//meta[@name='robots']/@content") == ["noindex"]
    links = _links(response.headers["link"])
    assert {link["rel"] for link in links} == {"cite-as", "type"}  # no item, no describedby
    assert room.client.get(f"/works/{room['withdrawn']}/export/bibtex").status_code == 410


NOT_PUBLIC = ["/works/{draft}", "/works/999999", "/works/abc", "/works/-1", "/works/1.5", "/works/%00",
              "/works/99999999999999999999999999", "/works/123456789012345678", "/works/{draft}/export/ris",
              "/works/{open}/export/pdf", "/works/%E2%91%A0", "/centres/%00", "/collections/%00", "/centres/A%20B",
              "/centres/nowhere", "/collections/nothing", "/collections/nothing/feed.atom"]


def test_what_is_not_public_is_a_404_page(room: Room) -> None:
    for path in NOT_PUBLIC:
        response = room.client.get(path.format(draft=room["draft"], open=room["open_book"]))
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "Borrador" not in response.text, path  # a draft's title never leaks
        assert html.fromstring(response.text).xpath("//main//h1"), path


def test_a_browser_gets_a_page_for_an_unknown_path_and_programs_get_problem_json(room: Room) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "pt"}
    for path in ["/nope", "/works/1/nothing/here", "/%3Cscript%3Ealert(1)%3C/script%3E"]:
        response = room.client.get(path, headers=browser)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.headers["content-language"] == "pt"
        assert html.fromstring(response.text).xpath("//main//h1"), path
        assert "<script>alert" not in response.text
    not_allowed = room.client.post("/", headers=browser)
    assert not_allowed.status_code == 405 and set(not_allowed.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert not_allowed.headers["content-type"].startswith("text/html")
    for path, headers in [("/nope", {"Accept": "application/json"}), ("/nope", {}), ("/api/nope", browser)]:
        response = room.client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json"), (path, headers)


def test_reader_language_picks_the_title(room: Room) -> None:
    work = room["translated"]
    for lang, title in [("es", "Territorios indígenas y extractivismo en la Amazonía"),
                        ("pt", "Territórios indígenas e extrativismo na Amazônia"),
                        ("en", "Indigenous territories and extractivism in the Amazon")]:
        _, tree = _page(room, work, **{"Accept-Language": lang})
        assert tree.xpath("string(//h1)") == title
        assert tree.xpath("//h1/@lang") == [lang]
        # Scholar gets the main title whatever the reader's language
        assert ("citation_title", "Indigenous territories and extractivism in the Amazon") in _meta(tree)


def test_head_of_a_landing_page_has_the_signposting(room: Room) -> None:
    response = room.client.head(f"/works/{room['article']}")
    assert response.status_code == 200
    assert 'rel="cite-as"' in response.headers["link"]


def test_script_in_metadata_is_escaped_everywhere(room: Room, client: Any) -> None:
    evil = '</script><script>alert("x")</script><img src=x onerror=alert(1)>'
    record = {
        "type": "book", "centre": "cebrap", "access_right": "open",
        "metadata": {"titles": [{"value": evil, "lang": "spa"}], "creators": [{"family": evil, "given": "A&B"}],
                     "abstracts": [{"value": evil}], "subjects": [{"value": evil}], "languages": ["spa"],
                     "publication_date": "2020", "publisher": evil},
    }
    created = client.post("/api/works", json=record, headers=room.admin)
    assert created.status_code == 201, created.text
    work_id = created.json()["id"]
    assert client.post(f"/api/works/{work_id}/publish", headers=room.admin).status_code == 200
    room.drain()
    response, tree = _page(room, work_id)
    assert response.status_code == 200
    assert "<script>alert" not in response.text and "<img src=x" not in response.text
    assert tree.xpath("string(//h1)") == evil  # shown as text, intact
    assert len(tree.xpath("//script[not(@src)]")) == 1  # only the JSON-LD block (and the site's script file)
    assert tree.xpath("//script/@src") == ["/static/site.js"]
    assert _json_ld(tree)["name"] == evil  # the JSON-LD still carries the value, escaped for <script>
    for path in ("/", "/search?q=alert", "/centres/cebrap", "/feed.atom"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
