"""The embedded backend's execution strategies give the same answers.

The embedded backend picks how to produce a page by size: few matches in a non-relevance order
are looked up by id, many are walked in index order one status at a time; full-text matches are
bm25-scored up to ``TEXT_RANKED_MAX`` of them and rank after every metadata match beyond. The
test corpora are small, so the thresholds are lowered here to run every strategy, and each must
agree with the other and with the order the API promises — pages, cursors, totals, visibility.
"""

from __future__ import annotations

from typing import Any

import pytest

from repo.search.query import fold
from search_support import flush, search

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
              pytest.mark.parametrize("backend_kind", ["embedded"])]


@pytest.fixture
def corpus(make: Any) -> dict[str, int]:
    works = {
        "a": make("Vivienda obrera en Rosario", year=1998),
        "b": make("Zonas de vivienda", year=2011, type="book"),
        "c": make("Ciudad y vivienda popular", year=2011),
        "d": make("Árboles de la ciudad", year=2004, abstract="La vivienda entre árboles."),
        "e": make("Barrios del sur", year=2020, text="informe sobre vivienda y barrios"),
        "f": make("Mercados del norte", year=1987, text="vivienda vivienda vivienda en el mercado"),
        "g": make("Éxodo rural", year=2015, subjects=["vivienda"]),
        "draft": make("Borrador sobre vivienda", status="draft", year=2023),
        "withdrawn": make("Retirado sobre vivienda", status="withdrawn", year=2002, centre="centre-b"),
        "other": make("Salud comunitaria", year=2019),
    }
    return works


def _walk(client: Any, headers: dict[str, str] | None, **params: Any) -> list[dict[str, Any]]:
    """Every hit, following cursors with pages of 2 (and checking page numbers agree)."""
    hits: list[dict[str, Any]] = []
    cursor = None
    page = 1
    while True:
        result = search(client, headers, size=2, **params, **({"cursor": cursor} if cursor else {}))
        by_number = search(client, headers, size=2, page=page, **params)
        assert [h["id"] for h in result["hits"]] == [h["id"] for h in by_number["hits"]], page
        hits += result["hits"]
        cursor = result["next_cursor"]
        if cursor is None:
            return hits
        page += 1


@pytest.mark.parametrize("listed_max", [5000, 0], ids=["by-id", "walked"])
def test_sorted_free_text_in_every_strategy(client, auth, corpus, monkeypatch, listed_max):
    monkeypatch.setattr("repo.search.embedded.backend._LISTED_MAX", listed_max)
    flush(client)
    visible = {corpus[k] for k in "abcdefg"}
    for headers, expected in ((None, visible), (auth.editor_a, visible | {corpus["draft"]}),
                              (auth.admin, visible | {corpus["draft"], corpus["withdrawn"]})):
        for sort in ("newest", "oldest", "title"):
            everything = search(client, headers, q="vivienda", sort=sort, size=100)
            assert {h["id"] for h in everything["hits"]} == expected and everything["total"] == len(expected)
            keys = {"newest": lambda h: (-h["year"], -h["id"]), "oldest": lambda h: (h["year"], h["id"]),
                    "title": lambda h: (fold(h["title"]), h["id"])}[sort]
            assert everything["hits"] == sorted(everything["hits"], key=keys), sort
            assert [h["id"] for h in _walk(client, headers, q="vivienda", sort=sort)] == \
                [h["id"] for h in everything["hits"]]
    # filters and exclusions narrow the same way on both strategies
    assert [h["id"] for h in search(client, q="vivienda", sort="newest", year_from=2004, year_to=2011)["hits"]] == \
        [corpus["c"], corpus["b"], corpus["d"]]
    assert {h["id"] for h in search(client, q="vivienda -ciudad", sort="oldest")["hits"]} == \
        {corpus[k] for k in "abefg"}
    assert {h["id"] for h in search(client, q="-vivienda", sort="title")["hits"]} == {corpus["other"]}
    # browsing (no query text) too
    assert [h["id"] for h in search(client, sort="newest", year_from=2004, year_to=2011)["hits"]] == \
        [corpus["c"], corpus["b"], corpus["d"]]
    assert [h["id"] for h in search(client, auth.editor_a, sort="oldest", year_from=2020)["hits"]] == \
        [corpus["e"], corpus["draft"]]
    assert [h["id"] for h in _walk(client, auth.admin, sort="newest")] == \
        [h["id"] for h in search(client, auth.admin, sort="newest", size=100)["hits"]]


@pytest.mark.parametrize("text_ranked_max", [2000, 1, 0], ids=["text-scored", "text-unscored-past-one", "text-unscored"])
def test_relevance_in_every_strategy(client, corpus, monkeypatch, text_ranked_max):
    monkeypatch.setattr("repo.search.embedded.backend.TEXT_RANKED_MAX", text_ranked_max)
    flush(client)
    everything = search(client, q="vivienda", size=100)
    order = [h["id"] for h in everything["hits"]]
    assert set(order) == {corpus[k] for k in "abcdefg"} and everything["total"] == 7
    scores = [h["score"] for h in everything["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert [h["id"] for h in _walk(client, None, q="vivienda")] == order
    text_only = [corpus["e"], corpus["f"]]
    if text_ranked_max < 2:  # past the threshold: after every metadata match, by id, score 0
        # (two open texts match: the match by full text says so, with no count of them)
        assert order[-2:] == sorted(text_only) and scores[-2:] == [0.0, 0.0] and min(scores[:-2]) > 0
    else:
        assert min(scores) > 0
    # every word must match, each in metadata or in open full text (one in the title, one in the text)
    assert {h["id"] for h in search(client, q="barrios vivienda")["hits"]} == {corpus["e"]}
    assert {h["id"] for h in search(client, q="ciudad vivienda")["hits"]} == {corpus["c"], corpus["d"]}
    assert {h["id"] for h in search(client, q="mercado norte vivienda")["hits"]} == {corpus["f"]}
    # a filter keeps the relative order of what it keeps
    books_and_texts = search(client, q="vivienda", year_from=1987, year_to=2011, size=100)
    assert [h["id"] for h in books_and_texts["hits"]] == [i for i in order if i in {
        corpus["a"], corpus["b"], corpus["c"], corpus["d"], corpus["f"]}]


@pytest.mark.parametrize("text_ranked_max", [2000, 0], ids=["text-scored", "text-unscored"])
def test_many_matches_rank_title_matches_first(client, corpus, monkeypatch, text_ranked_max):
    """Past META_RANKED_MAX matches only title matches (and scored full texts) are bm25-ranked;
    the other matches follow, by id, with score 0 — on every page, by number or by cursor."""
    monkeypatch.setattr("repo.search.embedded.backend.META_RANKED_MAX", 3)
    monkeypatch.setattr("repo.search.embedded.backend.TEXT_RANKED_MAX", text_ranked_max)
    flush(client)
    hits = search(client, q="vivienda", size=100)["hits"]
    assert {h["id"] for h in hits} == {corpus[k] for k in "abcdefg"}
    unscored = [h["id"] for h in hits if h["score"] == 0]
    rest = "dg" if text_ranked_max else "defg"  # abstract, subject (and full text when unscored)
    assert unscored == sorted(corpus[k] for k in rest) == [h["id"] for h in hits[-len(rest):]]
    scores = [h["score"] for h in hits[:-len(rest)]]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0
    assert [h["id"] for h in _walk(client, None, q="vivienda")] == [h["id"] for h in hits]


#: Queries of terms and ORs (matched and scored in one walk when few are allowed) and others.
_RANKED = [{"q": "vivienda"}, {"q": "vivienda", "year_from": 1987, "year_to": 2011}, {"q": "vivienda", "type": "book"},
           {"q": "vivienda OR ciudad"}, {"q": "title:vivienda OR barrios"}, {"q": "fulltext:vivienda OR norte"},
           {"q": "vivienda ciudad"}, {"q": "vivienda -ciudad"}]


@pytest.mark.parametrize("text_ranked_max", [2000, 0], ids=["text-scored", "text-unscored"])
def test_matching_and_scoring_in_one_walk_changes_nothing(client, auth, corpus, monkeypatch, text_ranked_max):
    """Below SCORED_MATCH_MAX allowed documents, a query of terms and ORs is matched and scored
    in one walk: the same totals, order, scores and cursor pages as matching, then ranking."""
    monkeypatch.setattr("repo.search.embedded.backend.TEXT_RANKED_MAX", text_ranked_max)
    flush(client)

    def answers() -> list[Any]:
        out = []
        for params in _RANKED:
            for headers in (None, auth.admin):
                result = search(client, headers, size=100, **params)
                out.append((result["total"], [(h["id"], h["score"]) for h in result["hits"]],
                            [h["id"] for h in _walk(client, headers, **params)]))
        return out

    together = answers()  # the corpus is small: every search here is below the threshold
    monkeypatch.setattr("repo.search.embedded.backend.SCORED_MATCH_MAX", -1)
    apart = answers()
    assert together == apart
    assert together[0][0] == 7 and together[1][0] == 9  # anonymous; the administrator sees 2 more
    assert together[0][2] == [i for i, _ in together[0][1]]  # the cursor walk agrees with the page
    assert {i for i, _ in together[12][1]} == {corpus["c"], corpus["d"]}  # vivienda ciudad


def _downgrade(path: Any) -> None:
    """Turn an index into layout 1, as the previous version wrote it: stems not tagged, full text
    alone in ``text_fts`` (the inverse of the conversion under test)."""
    import sqlite3

    from repo.search.embedded.backend import META_COLUMNS, STEM_TAG, WEIGHTS

    conn = sqlite3.connect(path, isolation_level=None)
    g = int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
    meta = conn.execute(f"SELECT rowid, {', '.join(META_COLUMNS)} FROM meta_fts_{g}").fetchall()
    text = conn.execute(f"SELECT rowid, body_f, body_s FROM text_fts_{g}").fetchall()
    assert meta and text and any(STEM_TAG in v for row in meta for v in row[1:])
    conn.execute("BEGIN")
    conn.execute(f"DROP TABLE meta_fts_{g}")
    conn.execute(f"DROP TABLE title_fts_{g}")  # layout 1 had none
    conn.execute(f"DROP TABLE text_fts_{g}")
    conn.execute(f"CREATE VIRTUAL TABLE meta_fts_{g} USING fts5({', '.join(META_COLUMNS)}, tokenize='ascii')")
    conn.execute(f"INSERT INTO meta_fts_{g} (meta_fts_{g}, rank) VALUES ('rank', 'bm25({WEIGHTS})')")
    conn.execute(f"CREATE VIRTUAL TABLE text_fts_{g} USING fts5(body_f, body_s, tokenize='ascii')")
    conn.executemany(f"INSERT INTO meta_fts_{g} (rowid, {', '.join(META_COLUMNS)}) VALUES (?{',?' * 9})",
                     [tuple(v.replace(STEM_TAG, "") if isinstance(v, str) else v for v in row) for row in meta])
    conn.executemany(f"INSERT INTO text_fts_{g} (rowid, body_f, body_s) VALUES (?, ?, ?)",
                     [(i, f, s.replace(STEM_TAG, "")) for i, f, s in text])
    conn.execute("DELETE FROM meta WHERE key = 'layout'")
    conn.execute("COMMIT")
    conn.close()


def test_an_index_of_the_previous_layout_is_converted(client, corpus, settings):
    """An index written by the previous version (layout 1) is converted by ensure() at start-up:
    every search answers as it did before, stems, full text and fields included."""
    flush(client)
    queries = [{"q": "viviendas"}, {"q": "barrios vivienda"}, {"q": "title:vivienda"}, {"q": "mercado"},
               {"q": '"vivienda popular"'}, {"q": "vivienda -ciudad"}, {"q": "-ciudad"}, {"q": "viv*"}]
    before = [[h["id"] for h in search(client, size=100, **q)["hits"]] for q in queries]
    assert all(before[:6]) and corpus["f"] in before[3]
    path = settings.data_dir / "search.sqlite3"
    _downgrade(path)
    backend = client.app.state.search
    assert not search(client, q="viviendas")["hits"]  # untagged stems: the new queries miss them
    backend.ensure()
    assert [[h["id"] for h in search(client, size=100, **q)["hits"]] for q in queries] == before
    import sqlite3

    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'layout'").fetchone() == ("2",)
