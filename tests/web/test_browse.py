"""Home, centre and collection pages, sitemaps and Atom feeds: counts from SQL, public works only."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from lxml import etree, html

from conftest import Room
from repo.works.models import Work

SCHEMAS = Path(__file__).parent / "schemas"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"


def _published(database: Any) -> list[Work]:
    with database.session() as session:
        return list(session.scalars(sa.select(Work).where(Work.status == "published")).all())


def test_home_counts_match_sql(room: Room, database: Any) -> None:
    works = _published(database)
    response = room.client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    tree = html.fromstring(response.text)
    assert f"Open access to {len(works)} books" in tree.xpath("string(//p[@class='lead'])")
    types = {a.get("href").split("=")[1]: int(a.getnext().text)
             for a in tree.xpath("//section[@aria-labelledby='browse-type-h']//a")}
    assert types == Counter(w.type for w in works)
    years = {int(a.text): int(a.getnext().text) for a in tree.xpath("//section[@aria-labelledby='browse-year-h']//a")}
    expected_years = Counter(w.publication_year for w in works)
    assert years == {y: expected_years[y] for y in sorted(expected_years, reverse=True)[:12]}
    centres = {a.get("href"): int(a.getnext().text)
               for a in tree.xpath("//section[@aria-labelledby='browse-centre-h']//a[starts-with(@href,'/centres/')]")}
    assert centres == {f"/centres/{slug}": n for slug, n in Counter(w.centre.slug for w in works).items()}
    # a collection counts the works of its subcollections, each once
    collections = {a.get("href"): int(a.getnext().text)
                   for a in tree.xpath("//section[@aria-labelledby='browse-collection-h']//a")}
    in_biblioteca = [w for w in works if any(c.path.split(":")[0] == "biblioteca" for c in w.collections)]
    assert collections["/collections/biblioteca"] == len(in_biblioteca)
    assert collections["/collections/libros"] == sum(1 for w in works if any(c.slug == "libros" for c in w.collections))
    latest = tree.xpath("//section[@class='latest']//h3/a/@href")
    assert len(latest) == 10
    newest = sorted(works, key=lambda w: (w.published_at, w.id), reverse=True)[:10]
    assert latest == [f"/works/{w.id}" for w in newest]
    assert "Borrador" not in response.text  # drafts are not public


def test_home_has_landmarks_labels_and_a_skip_link(room: Room) -> None:
    tree = html.fromstring(room.client.get("/").text)
    assert tree.xpath("//a[@class='skip-link']/@href") == ["#main"]
    assert tree.xpath("//main/@id") == ["main"]
    # banner and contentinfo landmarks: header and footer directly in body (no redundant role)
    assert tree.xpath("/html/body/header") and tree.xpath("/html/body/footer")
    assert tree.xpath("//form[@role='search']")
    for field in tree.xpath("//input[@type='search']"):
        assert tree.xpath(f"//label[@for='{field.get('id')}']"), field.get("id")
    assert tree.xpath("//nav[@aria-label]")
    assert tree.xpath("/html/@lang") == ["es"]


def test_centre_and_collection_pages(room: Room, database: Any) -> None:
    works = _published(database)
    response = room.client.get("/centres/flacso-ar")
    assert response.status_code == 200
    tree = html.fromstring(response.text)
    listed = tree.xpath("//ol[@class='work-list']//h3/a/@href")
    assert sorted(listed) == sorted(f"/works/{w.id}" for w in works if w.centre.slug == "flacso-ar")
    response = room.client.get("/collections/biblioteca")
    tree = html.fromstring(response.text)
    assert tree.xpath("//section[@aria-labelledby='sub-h']//a/@href") == [
        "/collections/documentos-trabajo", "/collections/libros", "/collections/revistas"]
    response = room.client.get("/collections/critica-juridica")
    tree = html.fromstring(response.text)
    assert [a.text for a in tree.xpath("//nav[@class='breadcrumb']/a")] == ["Inicio", "Biblioteca Virtual", "Revistas"]
    assert room.client.get("/centres").status_code == 200


def test_listing_pages_tolerate_bad_numbers(room: Room) -> None:
    for query, status in [("page=2", 200), ("page=0", 200), ("page=-5", 200), ("page=abc", 200), ("page=%00", 200),
                          ("page=99999999999999999999", 404), ("page=3", 404)]:
        response = room.client.get(f"/collections/biblioteca?{query}")
        assert response.status_code == status, query
        assert response.headers["content-type"].startswith("text/html"), query


def _validate(document: bytes, schema: str) -> etree._Element:
    root = etree.fromstring(document)
    xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / schema)))
    assert xsd.validate(root), xsd.error_log
    return root


def test_sitemap_index_and_pages_validate(room: Room, database: Any) -> None:
    response = room.client.get("/sitemap.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    index = _validate(response.content, "siteindex.xsd")
    locations = [loc.text for loc in index.iter(f"{SM}loc")]
    assert locations[0] == "http://testserver/sitemaps/pages.xml"
    urls: list[str] = []
    for location in locations:
        sitemap = room.client.get(location.removeprefix("http://testserver"))
        assert sitemap.status_code == 200
        root = _validate(sitemap.content, "sitemap.xsd")
        urls += [loc.text for loc in root.iter(f"{SM}loc")]
    works = _published(database)
    assert sorted(u for u in urls if "/works/" in u) == sorted(f"http://testserver/works/{w.id}" for w in works)
    assert "http://testserver/collections/critica-juridica" in urls and "http://testserver/centres/iep" in urls


def test_sitemaps_split_by_id_blocks(room: Room, database: Any, clock: Any) -> None:
    """Works far apart in id land in different sitemaps; only blocks that have public works are listed."""
    from repo.web.feeds import SITEMAP_BLOCK

    with database.session() as session:
        template = session.scalar(sa.select(Work).where(Work.status == "published").limit(1))
        assert template is not None
        now = clock.now()
        for offset, status in ((3 * SITEMAP_BLOCK + 7, "published"), (5 * SITEMAP_BLOCK, "draft")):
            session.add(Work(id=offset, status=status, type="book", centre_id=template.centre_id,
                             access_right="open", doc=template.doc, created_at=now, updated_at=now,
                             published_at=now if status == "published" else None, datestamp=now))
    index = _validate(room.client.get("/sitemap.xml").content, "siteindex.xsd")
    locations = [loc.text for loc in index.iter(f"{SM}loc")]
    assert locations == ["http://testserver/sitemaps/pages.xml", "http://testserver/sitemaps/works-0.xml",
                         "http://testserver/sitemaps/works-3.xml"]
    block = _validate(room.client.get("/sitemaps/works-3.xml").content, "sitemap.xsd")
    assert [loc.text for loc in block.iter(f"{SM}loc")] == [f"http://testserver/works/{3 * SITEMAP_BLOCK + 7}"]
    lastmod = datetime.strptime(block.findtext(f"{SM}url/{SM}lastmod"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((lastmod - now).total_seconds()) < 1
    for missing in ("works-5", "works-4", "works-x", "works-99999999999999", "works--1"):
        assert room.client.get(f"/sitemaps/{missing}.xml").status_code == 404
    # the index's blocks and their lastmod: what a plain GROUP BY of the public works gives
    from repo.web.feeds import _blocks

    with database.session() as session:
        block = (Work.id // SITEMAP_BLOCK).label("block")
        expected = session.execute(sa.select(block, sa.func.max(Work.updated_at))
                                   .where(Work.status == "published").group_by(block).order_by(block)).all()
        assert _blocks(session) == [(int(number), moment) for number, moment in expected]
        assert [number for number, _ in expected] == [0, 3]


def test_atom_feeds(room: Room, database: Any) -> None:
    works = _published(database)
    feed = etree.fromstring(room.client.get("/feed.atom").content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    newest = sorted(works, key=lambda w: (w.published_at, w.id), reverse=True)
    assert [e.findtext(f"{ATOM}id") for e in entries] == [f"http://testserver/works/{w.id}" for w in newest]
    for entry in entries:  # RFC 4287 §4.1.2: id, title, updated, and an author (none at feed level here)
        assert entry.findtext(f"{ATOM}title") and entry.findtext(f"{ATOM}updated")
        assert entry.find(f"{ATOM}author/{ATOM}name") is not None
    collection = room.client.get("/collections/revistas/feed.atom")
    assert collection.headers["content-type"].startswith("application/atom+xml")
    ids = [e.findtext(f"{ATOM}id") for e in etree.fromstring(collection.content).findall(f"{ATOM}entry")]
    in_tree = [w for w in newest if any(c.path.startswith("biblioteca:revistas") for c in w.collections)]
    assert ids == [f"http://testserver/works/{w.id}" for w in in_tree] and ids


def test_counts_follow_every_change_at_once(room: Room, client: Any) -> None:
    """The browse counts follow each change as soon as it is committed (even within one clock tick)."""
    def lead_and_types() -> tuple[str, dict[str, int]]:
        tree = html.fromstring(client.get("/", headers={"Accept-Language": "en"}).text)
        types = {a.get("href").split("=")[1]: int(a.getnext().text)
                 for a in tree.xpath("//section[@aria-labelledby='browse-type-h']//a")}
        return tree.xpath("string(//p[@class='lead'])"), types

    lead, types = lead_and_types()
    record = {"type": "preprint", "centre": "iep", "access_right": "open", "collections": ["tesis"],
              "metadata": {"titles": [{"value": "Nuevo preprint"}], "creators": [{"family": "Nueva"}],
                           "languages": ["spa"], "publication_date": "2026"}}
    work = client.post("/api/works", json=record, headers=room.admin).json()["id"]
    assert lead_and_types() == (lead, types)  # a draft changes nothing public
    assert client.post(f"/api/works/{work}/publish", headers=room.admin).status_code == 200
    new_lead, new_types = lead_and_types()
    assert new_types == {**types, "preprint": types.get("preprint", 0) + 1}
    assert new_lead != lead
    tesis = html.fromstring(client.get("/collections/tesis").text)
    assert f"/works/{work}" in tesis.xpath("//ol[@class='work-list']//a/@href")
    assert client.post(f"/api/works/{work}/withdraw", json={"reason": "test"}, headers=room.admin).status_code == 200
    assert lead_and_types() == (lead, types)


def test_the_warmer_recomputes_the_sitemap_after_a_commit(room: Room, client: Any, database: Any) -> None:
    """After a deposit's commit the sitemap blocks are recomputed off the request path."""
    import time

    from repo.web import cache

    record = {"type": "report", "centre": "iep", "access_right": "open",
              "metadata": {"titles": [{"value": "Informe"}], "creators": [{"family": "Q"}], "languages": ["spa"],
                           "publication_date": "2025"}}
    work = room.deposit(record)
    with database.session() as session:
        url = str(session.get_bind().engine.url)
        version = cache.data_version(session)
    wanted = {(url, "sitemap-blocks", version)}
    deadline = time.monotonic() + 20
    while not wanted <= set(cache._memo) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert wanted <= set(cache._memo)  # no page was requested since the publication


def test_collection_pages_and_feeds_list_their_subtree_whichever_plan(client: Any, auth: Any, clock: Any,
                                                                      database: Any) -> None:
    """A collection's page and feed list the public works of its subtree, newest first, each once,
    whether the page walks the newest works (a large subtree's first page) or starts from the
    subtree's members (a small subtree, a deep page): both plans against a brute-force answer."""
    from helpers import sample
    from repo.centres.models import Collection
    from repo.context import Context
    from repo.deposit.auth import Principal
    from repo.web import service

    for slug, parent in (("raiz", None), ("hoja", "raiz"), ("otra", None)):
        made = client.post("/api/collections", json={"slug": slug, "name": slug.title(), "parent": parent},
                           headers=auth.admin)
        assert made.status_code == 201, made.text
    homes = [["raiz"], ["hoja"], ["raiz", "hoja"], ["hoja"], ["raiz"], ["hoja"], ["raiz", "hoja"], ["otra"]]
    for index in range(42):
        record = sample(collections=homes[index % 8], metadata__doi=None,
                        metadata__titles=[{"value": f"Obra {index}", "lang": "spa"}])
        work = client.post("/api/works", json=record, headers=auth.admin).json()["id"]
        if index % 10 == 9:
            continue  # a draft: never listed
        if index % 3:  # every third shares its predecessor's publication time: the id breaks the tie
            clock.advance(minutes=1)
        assert client.post(f"/api/works/{work}/publish", headers=auth.admin).status_code == 200
        if index == 12:
            assert client.post(f"/api/works/{work}/withdraw", json={"reason": "x"}, headers=auth.admin).status_code == 200

    with database.session() as session:
        works = session.scalars(sa.select(Work).where(Work.status == "published")).all()
        newest = sorted(works, key=lambda w: (w.published_at, w.id), reverse=True)
        subtree = {slug: [w.id for w in newest if any(c.path == path or c.path.startswith(path + ":")
                                                       for c in w.collections)]
                   for slug, path in (("raiz", "raiz"), ("hoja", "raiz:hoja"), ("otra", "otra"))}
        ctx = Context(session, Principal(token_id=0, name="t", role="admin"), clock.now(), client.app.state.settings)
        raiz = session.scalar(sa.select(Collection).where(Collection.slug == "raiz"))
        plans = {rows: type(service.in_tree(ctx, raiz, rows)).__name__ for rows in (20, 40, 50)}
    assert len(works) == 37 and (len(subtree["raiz"]), len(subtree["hoja"])) == (33, 23)
    assert plans == {20: "Exists", 40: "BinaryExpression", 50: "BinaryExpression"}, plans  # both plans below

    def listed(path: str) -> list[int]:
        response = client.get(path)
        assert response.status_code == 200, path
        return [int(href.rsplit("/", 1)[1]) for href in
                html.fromstring(response.text).xpath("//ol[@class='work-list']//h3/a/@href")]

    for slug, ids in subtree.items():
        assert listed(f"/collections/{slug}") == ids[:20], slug
        if len(ids) > 20:
            assert listed(f"/collections/{slug}?page=2") == ids[20:40], slug
        else:
            assert client.get(f"/collections/{slug}?page=2").status_code == 404
        feed = etree.fromstring(client.get(f"/collections/{slug}/feed.atom").content)
        assert [e.findtext(f"{ATOM}id") for e in feed.findall(f"{ATOM}entry")] == [
            f"http://testserver/works/{i}" for i in ids[:50]], slug
