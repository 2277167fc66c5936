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
    facets = {s.get("aria-labelledby").removeprefix("facet-"): s for s in tree.xpath("//aside[@class='facets']/section")}
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
    ("q=%22unbalanced", 200), ("q=-", 200), ("q=title:", 200), ("q=" + "x" * 5000, 400), ("page=abc", 200),
    ("page=0", 200), ("page=-3", 200), ("page=99999999999", 404), ("page=400", 404), ("page=3", 404),
    ("sort=nonsense", 200), ("type=nonsense", 200), ("year=20x9", 200), ("year_from=2020&year_to=2000", 400),
    ("year_from=99999999999", 200), ("q=%00%01%02", 200), ("q=%ff%fe", 200), ("lang=zz&bogus=1", 200),
    ("type=" + "&type=".join(str(i) for i in range(80)), 200), ("q=(((((", 200), ("q=*:*", 200),
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
