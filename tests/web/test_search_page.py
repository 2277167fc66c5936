"""The results page: query, facets, highlights, sorting, pagination; bad query strings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html

from conftest import Room

# Rendering and parsing do not depend on the database: one (SQLite) is enough here; the SQL of the
# reading room runs on both databases in test_landing.py and test_browse.py.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _get(room: Room, query: str, **headers: str) -> tuple[Any, Any]:
    response = room.client.get(f"/search?{query}", headers={"Accept-Language": "en", **headers})
    return response, html.fromstring(response.text)


def _hits(tree: Any) -> list[str]:
    return tree.xpath("//section[@class='results']//h3/a/@href")


def _total(tree: Any) -> int:
    return int(tree.xpath("string(//h2[@id='results-h'])").split()[0])


@sqlite_only
def test_query_facets_and_highlights(room: Room) -> None:
    response, tree = _get(room, "q=educación")
    assert response.status_code == 200
    hits = _hits(tree)
    assert f"/works/{room['open_book']}" in hits
    assert _total(tree) == len(hits)
    marks = tree.xpath("//section[@class='results']//mark/text()")
    assert any(m.lower().startswith("educ") for m in marks)
    facets = {s.get("aria-labelledby").removeprefix("facet-"): s for s in tree.xpath("//aside[@class='facets']//section")}
    assert {"type", "language", "year", "centre", "access"} <= set(facets)
    # counts of the type facet add up to the total (each work has one type)
    counts = [int(c) for c in facets["type"].xpath(".//span[@class='count']/text()")]
    assert sum(counts) == _total(tree)
    # applying a facet keeps the query and narrows the results
    book = facets["type"].xpath(".//a[@data-value='book']/@href")[0]
    params = parse_qs(urlsplit(book).query)
    assert params == {"q": ["educación"], "type": ["book"]}
    _, narrowed = _get(room, urlsplit(book).query)
    assert 0 < _total(narrowed) <= _total(tree)
    active = narrowed.xpath("//a[@data-facet='type'][@aria-current='true']/@href")[0]
    assert parse_qs(urlsplit(active).query) == {"q": ["educación"]}  # the active value's link removes it


@sqlite_only
def test_sorting_and_pagination_state_in_the_url(room: Room) -> None:
    _, first = _get(room, "sort=oldest")
    total = _total(first)
    assert total > 20
    years = [int(y) for y in first.xpath("//section[@class='results']//p[@class='work-meta']/span[2]/text()")
             if y.strip().isdigit()]
    assert years == sorted(years)
    next_link = first.xpath("//nav[@class='pager']/a[@rel='next']/@href")[0]
    assert parse_qs(urlsplit(next_link).query) == {"sort": ["oldest"], "page": ["2"]}
    _, second = _get(room, urlsplit(next_link).query)
    assert len(_hits(first)) + len(_hits(second)) == total
    assert not set(_hits(first)) & set(_hits(second))
    assert second.xpath("//select[@name='sort']/option[@selected]/@value") == ["oldest"]


@sqlite_only
def test_year_from_the_home_page_links(room: Room) -> None:
    _, tree = _get(room, "year=2019")
    assert _total(tree) >= 1
    for meta in tree.xpath("//section[@class='results']//p[@class='work-meta']"):
        assert "2019" in meta.text_content()


@sqlite_only
def test_search_in_portuguese(room: Room) -> None:
    _, tree = _get(room, "q=sindicatos", **{"Accept-Language": "pt"})
    assert "resultado" in tree.xpath("string(//h2[@id='results-h'])")
    assert tree.xpath("string(//h1)") == "Buscar"


MALFORMED = [
    ("q=%22unbalanced", 200), ("q=-", 400), ("q=title:", 200), ("q=" + "x" * 5000, 400), ("page=abc", 200),
    ("page=0", 200), ("page=-3", 200), ("page=99999999999", 404), ("page=400", 404), ("page=3", 404),
    ("sort=nonsense", 200), ("type=nonsense", 200), ("year=20x9", 200), ("year_from=2020&year_to=2000", 400),
    ("year_from=99999999999", 200), ("q=%00%01%02", 200), ("q=%ff%fe", 400), ("lang=zz&bogus=1", 200),
    ("type=" + "&type=".join(str(i) for i in range(80)), 200), ("q=(((((", 400), ("q=*:*", 400), ("q=ed*", 400),
    ("collection=%3Cscript%3E", 200), ("collection=%00", 200), ("type=%00&centre=%00&language=%00", 200),
]


def test_malformed_query_strings_get_sane_pages(room: Room) -> None:  # on both databases
    for query, status in MALFORMED:
        response, tree = _get(room, query)
        assert response.status_code == status, query
        assert response.headers["content-type"].startswith("text/html"), query
        assert tree.xpath("//main//h1"), query
        assert "<script>" not in response.text, query


@sqlite_only
def test_highlights_cannot_inject_markup(room: Room, client: Any) -> None:
    record = {"type": "book", "centre": "iep", "access_right": "open",
              "metadata": {"titles": [{"value": "Tormenta <b onmouseover=alert(1)>perfecta</b> & <script>x()</script>"}],
                           "abstracts": [{"value": "La tormenta <script>alert('abstract')</script> llega."}],
                           "creators": [{"family": "Autor"}], "languages": ["spa"], "publication_date": "2021"}}
    work = room.deposit(record)
    room.drain()
    response, tree = _get(room, "q=tormenta")
    assert _hits(tree) == [f"/works/{work}"]
    assert "<script>" not in response.text and "<b onmouseover" not in response.text
    title = tree.xpath("//section[@class='results']//h3/a")[0]
    assert [child.tag for child in title.iter()][1:] == ["mark"]  # the only element inside is the highlight
    assert title.text_content() == "Tormenta <b onmouseover=alert(1)>perfecta</b> & <script>x()</script>"


def test_safe_snippet_keeps_only_mark() -> None:
    from repo.web.results import safe_snippet

    assert str(safe_snippet("a <mark>b</mark> &amp; <script>c</script>")) == \
        "a <mark>b</mark> &amp; &lt;script&gt;c&lt;/script&gt;"


@sqlite_only
def test_every_facet_value_is_reachable(room: Room, monkeypatch: pytest.MonkeyPatch) -> None:
    """A facet shows its first values and links to its full list, paged; every year is reachable."""
    from repo.web import results

    _, tree = _get(room, "")
    years = tree.xpath("//a[@data-facet='year']/@data-value")
    assert len(years) == results.FACET_SHOWN  # the demo has more years than that
    more = tree.xpath("//a[@data-more='year']/@href")[0]
    assert urlsplit(more).path == "/search/facets/year"
    monkeypatch.setattr(results, "FACET_PAGE", 7)
    listed, url = [], more
    while url:
        response = room.client.get(url, headers={"Accept-Language": "en"})
        assert response.status_code == 200
        page = html.fromstring(response.text)
        values = page.xpath("//ul[contains(@class, 'facet-list')]//a/@data-value")
        assert 0 < len(values) <= 7
        listed += values
        nxt = page.xpath("//nav[@class='pager']/a[@rel='next']/@href")
        url = nxt[0] if nxt else None
    assert len(listed) == len(set(listed)) > results.FACET_SHOWN
    assert "1968" in listed and "1968" not in years  # the oldest photograph, beyond the first values
    link = html.fromstring(room.client.get(more + "&fpage=2" if "?" in more else more + "?fpage=2").text) \
        .xpath("//a[@data-value]/@href")[0]
    _, narrowed = _get(room, urlsplit(link).query)
    assert _total(narrowed) >= 1
    assert room.client.get("/search/facets/nonsense").status_code == 404
    assert room.client.get(more + "?fpage=99").status_code == 404
    # the full list keeps the search: a query narrows it
    _, tree = _get(room, "q=vivienda")
    assert not tree.xpath("//a[@data-more]")  # few values: no "more" link
    page = html.fromstring(room.client.get("/search/facets/type?q=vivienda").text)
    assert page.xpath("//a[@data-value]/@data-value") == ["working_paper"]


@sqlite_only
def test_year_range(room: Room) -> None:
    _, tree = _get(room, "year_from=2010&year_to=2015&sort=oldest")
    years = [int(y) for y in tree.xpath("//section[@class='results']//p[@class='work-meta']/span[2]/text()")
             if y.strip().isdigit()]
    assert years and min(years) >= 2010 and max(years) <= 2015 and len(years) == _total(tree)
    form = tree.xpath("//form[@class='year-range']")[0]
    assert form.xpath(".//input[@name='year_from']/@value") == ["2010"]
    assert form.xpath(".//input[@name='year_to']/@value") == ["2015"]
    assert form.xpath(".//input[@type='hidden'][@name='sort']/@value") == ["oldest"]
    assert "2010–2015" in tree.xpath("string(//ul[@class='active-filters'])")
    _, open_ended = _get(room, "year_from=2020")
    assert all(int(y) >= 2020 for y in open_ended.xpath(
        "//section[@class='results']//p[@class='work-meta']/span[2]/text()") if y.strip().isdigit())


@sqlite_only
def test_search_within_a_centre_or_a_collection(room: Room) -> None:
    page = html.fromstring(room.client.get("/centres/iep", headers={"Accept-Language": "es"}).text)
    form = page.xpath("//main//form[@role='search']")[0]
    assert form.get("action") == "/search" and form.xpath(".//input[@type='hidden']/@name") == ["centre"]
    assert form.xpath(".//input[@type='hidden']/@value") == ["iep"]
    _, tree = _get(room, "centre=iep&q=derechos")
    assert f"/works/{room['article']}" in _hits(tree)
    assert all("Instituto de Estudios Peruanos" in meta.text_content()
               for meta in tree.xpath("//section[@class='results']//p[@class='work-meta']"))
    _, tree = _get(room, "centre=cebrap&q=derechos")
    assert _total(tree) == 0
    page = html.fromstring(room.client.get("/collections/revistas").text)
    assert page.xpath("//main//form[@role='search']//input[@type='hidden'][@name='collection']/@value") == ["revistas"]
    _, tree = _get(room, "collection=revistas&q=derechos")  # found in a subcollection (Crítica Jurídica)
    assert f"/works/{room['article']}" in _hits(tree)
    _, tree = _get(room, "collection=conferencias&q=derechos")
    assert f"/works/{room['article']}" not in _hits(tree)


@sqlite_only
def test_nothing_to_search_for_is_said_in_the_readers_language(room: Room) -> None:
    response, tree = _get(room, "q=*", **{"Accept-Language": "pt"})
    assert response.status_code == 400
    assert "Nada para buscar" in tree.xpath("string(//p[@role='alert'])")
    assert tree.xpath("//input[@name='q']/@value") == ["*"]  # the form is there to correct it
    response, tree = _get(room, "q=ed*")
    assert response.status_code == 400 and "3 letters" in tree.xpath("string(//p[@role='alert'])")


@sqlite_only
def test_snippets_never_repeat_a_passage(room: Room) -> None:
    from repo.files.models import File
    from repo.search import outbox

    abstract = "Las cooperativas de vivienda del Uruguay y la ayuda mutua entre vecinos."
    work = room.deposit({"type": "book", "centre": "iep", "access_right": "open", "metadata": {
        "titles": [{"value": "Ayuda mutua"}], "abstracts": [{"value": abstract}], "creators": [{"family": "Autora"}],
        "languages": ["spa"], "publication_date": "2020"}})
    text = f"Ayuda mutua. {abstract} " + "Relleno sin interés. " * 40 + "Más adelante, las cooperativas crecieron."
    now = room.app.state.clock.now()
    with room.app.state.db.session() as session:
        session.add(File(work_id=work, name="texto.pdf", media_type="application/pdf", size=len(text), sha256="0" * 64,
                         md5="0" * 32, text_state="done", text=text, created_at=now, updated_at=now))
        outbox.enqueue(session, work, "file_text", now)
    room.drain()
    _, tree = _get(room, "q=cooperativas")
    item = next(li for li in tree.xpath("//li[@class='work-item']") if li.xpath(f".//a[@href='/works/{work}']"))
    snippet = item.xpath("string(.//p[@class='snippet'])")
    assert snippet.count("ayuda mutua entre vecinos") == 1, snippet  # the abstract, once
    assert "crecieron" in snippet  # the full text's own passage, not its copy of the abstract
