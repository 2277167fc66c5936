"""The reading room as crawlers, reference managers and readers meet it: HEAD, conditional GET,
compression, robots.txt, canonical and language links, OpenGraph, media that plays, error pages
in the reader's language. Read-only: one furnished room (``shared_room``) serves every test here.
"""

from __future__ import annotations

import gzip
from typing import Any
from urllib.parse import urlsplit

import brotli
import extruct
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from lxml import etree, html

from conftest import Room

from repo.web import i18n
from repo.works.models import Work

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def client(shared_room: Room) -> TestClient:
    """The shared room's client, without the cookies a test may leave (the language cookie)."""
    shared_room.client.cookies.clear()
    return shared_room.client


def get(client: TestClient, path: str, **headers: str) -> Any:
    client.cookies.clear()
    return client.get(path, headers=headers)


def tree_of(response: Any) -> Any:
    return html.fromstring(response.text)


# -- HEAD on every GET route ------------------------------------------------------------------------------


def test_head_answers_like_get_on_every_get_route(shared_room: Room, client: TestClient) -> None:
    work = shared_room["article"]
    paths = ["/", "/search?q=derechos", "/centres", "/centres/iep", "/collections/libros", "/sitemap.xml",
             "/sitemaps/pages.xml", "/feed.atom", "/collections/libros/feed.atom", f"/works/{work}",
             *(f"/works/{work}/export/{name}" for name in ("bibtex", "ris", "csl-json", "json-ld")),
             "/robots.txt", "/favicon.ico", "/static/site.css", "/api/works", f"/api/works/{work}",
             "/oai?verb=Identify", "/health", "/api/openapi.json", f"/works/{work}/files/articulo.pdf"]
    for path in paths:
        got, head = get(client, path), client.head(path)
        assert got.status_code == 200, path
        assert head.status_code == 200 and head.content == b"", path
        for name in ("content-type", "content-length", "etag", "link", "content-encoding"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    # and every GET route the application has, whatever its path parameters (a 404 is fine, a 405 is not)
    for route in shared_room.app.routes:
        methods = getattr(route, "methods", set())
        if "GET" in methods:
            path = route.path.replace("{work_id}", str(work)).replace("{name}", "x").replace("{slug}", "x")
            path = path.replace("{block}", "0").replace("{name:path}", "x").replace("{dimension}", "type")
            assert client.head(path).status_code != 405, route.path
    # a method a route lacks: 405, and Allow names HEAD with GET
    refused = client.post("/centres")
    assert refused.status_code == 405 and {"GET", "HEAD"} <= set(refused.headers["allow"].split(", "))


# -- conditional GET and compression --------------------------------------------------------------------------


def test_conditional_get_answers_304_on_pages_feeds_and_sitemaps(shared_room: Room, client: TestClient) -> None:
    for path in ("/", f"/works/{shared_room['open_book']}", "/centres", "/centres/flacso-ar", "/collections/libros",
                 "/sitemap.xml", "/sitemaps/pages.xml", "/feed.atom", f"/works/{shared_room['article']}/export/bibtex",
                 "/search?q=derechos"):
        first = get(client, path, **{"Accept-Language": "pt"})
        etag = first.headers["etag"]
        assert first.status_code == 200 and etag.startswith('W/"'), path
        again = get(client, path, **{"Accept-Language": "pt", "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag, path
        # another language is another representation: no 304 for its copy
        if path.startswith(("/", "/works")) and "text/html" in first.headers["content-type"]:
            other = get(client, path, **{"Accept-Language": "fr", "If-None-Match": etag})
            assert other.status_code == 200 and other.headers["etag"] != etag, path
            assert "Accept-Language" in first.headers["vary"], path
    landing = get(client, f"/works/{shared_room['open_book']}")
    assert landing.headers["last-modified"].endswith("GMT")
    since = get(client, f"/works/{shared_room['open_book']}", **{"If-Modified-Since": landing.headers["last-modified"]})
    assert since.status_code == 304
    stale = get(client, f"/works/{shared_room['open_book']}", **{"If-None-Match": 'W/"stale"',
                                                                   "If-Modified-Since": landing.headers["last-modified"]})
    assert stale.status_code == 200  # If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3)


def test_pages_feeds_and_sitemaps_are_compressed_but_ranged_files_are_not(shared_room: Room, client: TestClient) -> None:
    for path in ("/", f"/works/{shared_room['open_book']}", "/sitemaps/works-0.xml", "/sitemaps/pages.xml", "/feed.atom"):
        plain = get(client, path, **{"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers, path
        assert len(plain.content) > 512, path  # large enough to be worth it (the room has 40 works)
        for coding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            response = client.stream("GET", path, headers={"Accept-Encoding": coding})
            with response as streamed:
                body = b"".join(streamed.iter_raw())
                assert streamed.headers["content-encoding"] == coding, path
                assert int(streamed.headers["content-length"]) == len(body) < len(plain.content), path
                assert "Accept-Encoding" in streamed.headers["vary"], path
            assert decode(body) == plain.content, path
    preferred = client.get("/", headers={"Accept-Encoding": "gzip;q=0.5, br;q=1"})
    assert preferred.headers["content-encoding"] == "br"
    refused = client.get("/", headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "content-encoding" not in refused.headers
    pdf = f"/works/{shared_room['open_book']}/files/libro.pdf"
    ranged = client.get(pdf, headers={"Accept-Encoding": "gzip, br", "Range": "bytes=0-99"})
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers
    assert len(ranged.content) == 100


# -- crawlers ---------------------------------------------------------------------------------------------------


def test_robots_txt_points_at_the_sitemap_and_the_favicon_is_served(shared_room: Room, client: TestClient) -> None:
    robots = get(client, "/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    lines = robots.text.splitlines()
    assert f"Sitemap: {shared_room.extra['url']}/sitemap.xml" in lines
    assert "Disallow: /api/" in lines and "User-agent: *" in lines
    icon = get(client, "/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO directory
    tree = tree_of(get(client, "/"))
    assert tree.xpath("//link[@rel='icon']/@href") == ["/static/favicon.svg", "/favicon.ico"]


def test_file_downloads_link_back_to_their_landing_page(shared_room: Room, client: TestClient) -> None:
    work = shared_room["open_book"]
    for path in (f"/works/{work}/files/libro.pdf", f"/works/{work}/files/libro.pdf/text"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["link"] == f'<{shared_room.extra["url"]}/works/{work}>; rel="collection"', path


def test_canonical_and_language_versions_agree(shared_room: Room, client: TestClient) -> None:
    """Each ``?lang=`` URL serves its language and names itself canonical; the bare URL is the
    x-default; every version lists the same alternates."""
    base = shared_room.extra["url"]
    work = shared_room["open_book"]
    for path in (f"/works/{work}", "/", "/centres", "/collections/libros?page=1&utm_source=x"):
        bare = path.split("?")[0]
        seen: set[tuple[tuple[str, str], ...]] = set()
        for lang in i18n.LANGUAGES:
            response = get(client, f"{path}{'&' if '?' in path else '?'}lang={lang}")
            tree = tree_of(response)
            canonical = tree.xpath("//link[@rel='canonical']/@href")
            assert len(canonical) == 1 and "utm_source" not in canonical[0], path
            alternates = {a.get("hreflang"): a.get("href") for a in tree.xpath("//link[@rel='alternate'][@hreflang]")}
            assert set(alternates) == {*i18n.LANGUAGES, "x-default"}, path
            assert alternates[lang] == canonical[0] and alternates["x-default"].startswith(base + bare)
            assert "lang=" not in alternates["x-default"]
            seen.add(tuple(sorted(alternates.items())))
            # the canonical URL serves what it claims, whatever the reader's cookie or header says
            target = urlsplit(canonical[0])
            claimed = client.get(target.path + "?" + target.query, headers={"Accept-Language": "en", "Cookie": "lang=pt"})
            assert claimed.headers["content-language"] == lang, (path, lang)
            assert tree_of(claimed).xpath("//link[@rel='canonical']/@href") == canonical
        assert len(seen) == 1, path  # every version names the same set


# -- OpenGraph, Twitter, Zotero -----------------------------------------------------------------------------------


def test_opengraph_twitter_and_embedded_metadata_of_a_landing_page(shared_room: Room, client: TestClient) -> None:
    base = shared_room.extra["url"]
    work = shared_room["image"]
    response = get(client, f"/works/{work}?lang=es")
    data = extruct.extract(response.text, base_url=f"{base}/works/{work}", syntaxes=["opengraph", "json-ld"],
                           uniform=True)
    og = data["opengraph"][0]
    assert og["og:title"] == "Mercado de la Merced, 1968" and og["@type"] == "article"  # extruct: og:type as @type
    assert og["og:image"] == f"{base}/works/{work}/files/fotografia.png"
    assert og["og:url"] == f"{base}/works/{work}?lang=es" and og["og:locale"] == "es_LA"
    assert og["og:site_name"] and og["og:description"].startswith("Fotografía")
    ld = data["json-ld"][0]
    assert ld["@type"] == "ImageObject" and ld["contentUrl"] == og["og:image"]
    tree = tree_of(response)
    meta = {m.get("name"): m.get("content") for m in tree.xpath("//meta[@name]")}
    assert meta["twitter:card"] == "summary_large_image" and meta["twitter:title"] == og["og:title"]
    assert meta["DC.type"] == "StillImage" and meta["DC.title"] == og["og:title"]
    video = extruct.extract(get(client, f"/works/{shared_room['video']}").text, syntaxes=["opengraph"],
                            uniform=True)["opengraph"][0]
    assert video["@type"] == "video.other" and video["og:video:type"] == "video/webm"
    # unAPI: Zotero finds the server and the item, and is offered the exports
    assert tree.xpath("//link[@rel='unapi-server']/@href") == [f"{base}/unapi"]
    assert tree.xpath("//abbr[@class='unapi-id']/@title") == [str(work)]
    offered = get(client, f"/unapi?id={work}")
    assert offered.status_code == 300  # unAPI: the formats of one object are "multiple choices"
    formats = etree.fromstring(offered.content)
    assert formats.get("id") == str(work) and {"ris", "bibtex"} <= set(formats.xpath("//format/@name"))
    moved = client.get(f"/unapi?id={work}&format=ris", follow_redirects=False)
    assert moved.status_code == 302 and moved.headers["location"] == f"{base}/works/{work}/export/ris"
    assert get(client, f"/unapi?id={work}&format=nope").status_code == 406
    assert get(client, "/unapi?id=999999&format=ris").status_code == 404


# -- media, images, files --------------------------------------------------------------------------------------------


def test_recordings_play_videos_have_captions_images_show(shared_room: Room, client: TestClient) -> None:
    base = shared_room.extra["url"]
    sound = tree_of(get(client, f"/works/{shared_room['sound']}"))
    assert sound.xpath("//audio[@controls]")  # (libxml2's HTML parser does not nest <source> in it)
    source = sound.xpath("//source")
    assert [(s.get("src"), s.get("type")) for s in source] == [
        (f"{base}/works/{shared_room['sound']}/files/grabacion.wav", "audio/wav")]
    video = tree_of(get(client, f"/works/{shared_room['video']}"))
    assert video.xpath("//video[@controls]") and video.xpath("//source/@type") == ["video/webm"]
    track = video.xpath("//track")[0]
    assert track.get("kind") == "captions" and track.get("srclang") == "pt" and track.get("src").endswith("video.por.vtt")
    captions = client.get(track.get("src"))
    assert captions.headers["content-type"].startswith("text/vtt") and captions.text.startswith("WEBVTT")
    image = tree_of(get(client, f"/works/{shared_room['image']}"))
    assert image.xpath("//img[@class='picture']/@alt") == ["Mercado de la Merced, 1968"]
    ranged = client.get(f"/works/{shared_room['sound']}/files/grabacion.wav", headers={"Range": "bytes=0-43"})
    assert ranged.status_code == 206 and ranged.content[:4] == b"RIFF"
    # thumbnails in lists: the photograph's derived thumbnail (a WebP) in its collection
    listed = tree_of(get(client, "/collections/fotografia"))
    thumb = f"{base}/works/{shared_room['image']}/files/fotografia.png/thumbnail"
    assert thumb in listed.xpath("//img[@class='list-thumb']/@src")
    assert client.get(thumb).headers["content-type"] == "image/webp"


def test_main_file_leads_and_pdfs_open_in_the_browser(shared_room: Room, client: TestClient) -> None:
    tree = tree_of(get(client, f"/works/{shared_room['open_book']}"))
    names = tree.xpath("//ul[@class='files']/li//*[contains(@class,'file-name')]/text()")
    assert names == ["libro.pdf", "anexo.pdf"]  # the open PDF first, though "anexo" sorts before it
    assert not tree.xpath("//a[@class='file-name'][@download]")
    response = client.get(f"/works/{shared_room['open_book']}/files/libro.pdf")
    assert response.headers["content-disposition"].startswith("inline")


# -- error pages and tombstones in the reader's language ---------------------------------------------------------------


def test_a_browser_meets_file_errors_as_pages_in_its_language(shared_room: Room, client: TestClient) -> None:
    work = shared_room["open_book"]
    closed = get(client, f"/works/{work}/files/anexo.pdf", **BROWSER, **{"Accept-Language": "fr"})
    assert closed.status_code == 403 and closed.headers["content-type"].startswith("text/html")
    tree = tree_of(closed)
    assert tree.xpath("string(//h1)") == "Ce fichier n'est pas accessible au public"
    assert "2999" in tree.xpath("string(//main)")  # the embargo's end, as a date in French
    assert tree.xpath("//main//a/@href")[0] == f"/works/{work}"
    for path, status in ((f"/works/{shared_room['withdrawn']}/files/x.pdf", 410), (f"/works/{work}/files/nope.pdf", 404),
                         ("/works/abc/files/x.pdf", 404)):
        page = get(client, path, **BROWSER, **{"Accept-Language": "pt"})
        assert page.status_code == status and page.headers["content-language"] == "pt", path
        assert tree_of(page).xpath("//main//h1"), path
    program = get(client, f"/works/{work}/files/anexo.pdf")
    assert program.status_code == 403 and program.headers["content-type"] == "application/problem+json"


def test_the_tombstone_cites_what_was_withdrawn(shared_room: Room, client: TestClient) -> None:
    response = get(client, f"/works/{shared_room['withdrawn']}?lang=en")
    assert response.status_code == 410
    citation = " ".join(tree_of(response).xpath("string(//p[@id='cite-apa'])").split())
    assert "Elecciones y partidos en el Perú del siglo XXI" in citation and "(20" in citation


def test_filter_chips_speak_the_readers_language(shared_room: Room, client: TestClient) -> None:
    tree = tree_of(get(client, "/search?type=doctoral_thesis&access=embargoed&language=spa&lang=es"))
    chips = [" ".join(a.text_content().split()) for a in tree.xpath("//ul[@class='active-filters']/li/a[@data-remove]")]
    assert chips == ["Tipo: Tesis doctoral ✕ (quitar este filtro)", "Idioma: español ✕ (quitar este filtro)",
                     "Acceso: Embargado ✕ (quitar este filtro)"]
    assert not tree.xpath("//*[@role='status'][self::h1 or self::h2 or self::h3]")


def test_search_shows_the_title_in_the_readers_language(shared_room: Room, client: TestClient) -> None:
    work = shared_room["translated"]
    titles = {}
    for lang in ("es", "en"):
        tree = tree_of(get(client, f"/search?q=extractivism&lang={lang}"))
        titles[lang] = tree.xpath(f"string(//a[@href='/works/{work}'])")
        landing = tree_of(get(client, f"/works/{work}?lang={lang}"))
        assert titles[lang] == landing.xpath("string(//h1)"), lang
    assert titles["es"] != titles["en"]


def test_member_centres_are_a_table(client: TestClient) -> None:
    tree = tree_of(get(client, "/centres?lang=en"))
    assert tree.xpath("//table[@class='centres']/thead//th/text()") == ["Member centre", "Country", "Works"]
    rows = tree.xpath("//table[@class='centres']/tbody/tr")
    assert rows and all(len(r.xpath("./th|./td")) == 3 for r in rows)


# -- browse by author and by subject ---------------------------------------------------------------------------------


def test_authors_and_subjects_in_alphabetical_indexes_with_counts(shared_room: Room, client: TestClient) -> None:
    tree = tree_of(get(client, "/browse/authors?letter=g&lang=en"))
    entries = {a.text: a.get("href") for a in tree.xpath("//ul[contains(@class,'index')]/li/a")}
    assert "Gohn, Maria da Glória" in entries and "Gadotti, Moacir" in entries
    assert entries["Gohn, Maria da Glória"] == "/search?q=author%3A%22Gohn%2C%20Maria%20da%20Gl%C3%B3ria%22"
    labels = list(entries)
    assert labels == sorted(labels, key=lambda label: label.casefold())
    assert tree.xpath("//nav[@class='letters']//span[@aria-current='page']/text()") == ["G"]
    # an accent does not move an entry out of its letter: "Álvarez" is under A, "Économie" under E
    subjects = tree_of(get(client, "/browse/subjects?letter=e&lang=es"))
    counted = {li.xpath("string(a)"): li.xpath("string(span)") for li in subjects.xpath("//ul[contains(@class,'index')]/li")}
    assert "educación popular" in counted and counted["educación popular"].split()[0].isdigit()
    # the count is the number of public works with that subject, as search finds them
    search = tree_of(get(client, "/search?" + subjects.xpath("//a[text()='educación popular']/@href")[0].split("?")[1]))
    found = int(search.xpath("string(//h2[@id='results-h'])").split()[0])
    assert found == int(counted["educación popular"].split()[0])
    for odd in ("?letter=%3Cx%3E", "?letter=", "?page=999", "?letter=zz&page=abc"):
        response = get(client, "/browse/authors" + odd)
        assert response.status_code in (200, 404) and "<x>" not in response.text, odd


def test_a_conference_paper_names_its_conference_for_scholar_and_zotero(shared_room: Room, client: TestClient) -> None:
    """Highwire's citation_conference_title (Google Scholar, Zotero) from the model's conference."""
    with shared_room.app.state.db.session() as session:
        work = session.scalar(sa.select(Work.id).where(Work.type == "conference_paper", Work.status == "published"))
    tree = tree_of(get(client, f"/works/{work}"))
    meta = [(m.get("name"), m.get("content")) for m in tree.xpath("//meta[starts-with(@name, 'citation_')]")]
    assert ("citation_conference_title", "Congreso de la Asociación Latinoamericana de Sociología") in meta, meta
    assert [n for n, _ in meta].count("citation_conference_title") == 1
