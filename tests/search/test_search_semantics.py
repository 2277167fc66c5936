"""One semantics suite, run on every backend (embedded FTS5, osmem-server, real OpenSearch if set).

Assertions keep to what OpenSearch documents (matching, filters, counts, ordering); where the
backends legitimately differ (stemming exists only on OpenSearch) the test says so explicitly.
The database does not matter here, so this suite runs on SQLite only (the indexer tests cover both).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from search_support import flush, ids, search

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def corpus(client, auth, make, clock) -> dict[str, int]:
    today = clock.now().date()
    works = {
        "educacion": make("Educación popular en América Latina", year=2021, countries=["AR"],
                          abstract="Un estudio de la educación popular y sus maestros.", subjects=["pedagogía"],
                          creators=[{"family": "Freire", "given": "Paulo"}],
                          alt_titles=[("Popular education in Latin America", "eng")]),
        "trabalhador": make("O trabalhador de São Paulo", lang="por", type="book", year=2015, centre="centre-b",
                            countries=["BR"], subjects=["trabalho"],
                            creators=[{"family": "Souza", "given": "João"}]),
        "politica": make("Política de vivienda social", type="report", year=2019,
                         creators=[{"family": "Pérez", "given": "Ana"}], subjects=["vivienda"]),
        "workers": make("Workers and unions in the southern cone", lang="eng", type="book", year=2005,
                        centre="centre-b", creators=[{"name": "Instituto Sindical"}]),
        "memoire": make("Mémoire et territoire", lang="fra", year=2010, access="restricted",
                        text="archivo clandestino reservado"),
        "abierto": make("Cooperativas del sur", year=2018, text="texto abierto sobre cooperativas agrarias"),
        "embargado": make("Salud comunitaria", year=2022, access="embargoed", embargo_end=today + timedelta(days=30),
                          text="palabraembargada en el cuerpo del libro"),
        "borrador": make("Borrador confidencial de vivienda", status="draft", year=2023),
        "retirado": make("Retirado por duplicado vivienda", status="withdrawn", centre="centre-b", year=2001),
        "markup": make("Notas <script>alert(1)</script> sobre vivienda & ciudad", year=2012),
    }
    flush(client)
    return works


def test_accent_and_case_insensitive(client, corpus):
    for q in ("educacion", "EDUCACIÓN", "Educación", "educación popular"):
        assert corpus["educacion"] in ids(search(client, q=q)), q
    for q in ("Sao Paulo", "são paulo", '"sao paulo"', "SÃO PAULO"):
        assert ids(search(client, q=q)) == {corpus["trabalhador"]}, q
    assert ids(search(client, q="memoire")) == {corpus["memoire"]}
    assert ids(search(client, q="politica")) == {corpus["politica"]}


def test_stemming(client, corpus):
    """Every backend stems each value in its own language (Snowball; Porter for English)."""
    cases = [("educaciones", "educacion"), ("políticas", "politica"), ("trabalhadores", "trabalhador"),
             ("worker", "workers"), ("politicas", "politica")]
    for q, key in cases:
        assert corpus[key] in ids(search(client, q=q)), q
    # a stem is matched in the value's own language only: the English stem of "workers" is not
    # looked for in Spanish values
    hit = next(h for h in search(client, q="educaciones")["hits"] if h["id"] == corpus["educacion"])
    assert "<mark>Educación</mark>" in hit["highlights"]["title"][0]  # the original word is marked


def test_phrases_exclusion_and_fields(client, corpus):
    assert corpus["educacion"] in ids(search(client, q='"educación popular"'))
    assert corpus["educacion"] not in ids(search(client, q='"popular educación américa"'))  # order matters
    assert corpus["educacion"] in ids(search(client, q="popular"))
    assert corpus["educacion"] not in ids(search(client, q="popular -freire"))
    assert corpus["educacion"] not in ids(search(client, q='popular -"américa latina"'))
    everything = search(client)["total"]
    assert search(client, q="-vivienda")["total"] == everything - 2  # política + markup (draft/withdrawn unseen)
    assert ids(search(client, q="title:vivienda")) == {corpus["politica"], corpus["markup"]}
    assert ids(search(client, q="author:perez")) == {corpus["politica"]}
    assert ids(search(client, q="author:vivienda")) == set()
    assert ids(search(client, q='author:"instituto sindical"')) == {corpus["workers"]}
    assert ids(search(client, q="subject:trabalho")) == {corpus["trabalhador"]}
    assert ids(search(client, q="subject:vivienda")) == {corpus["politica"]}
    assert ids(search(client, q="title:pedagogia")) == set()  # a subject, not a title word


def test_filters_agree_with_facet_counts(client, corpus):
    """Every facet value's count is exactly what filtering on that value returns."""
    result = search(client, size=100)
    assert result["total"] == 8  # published works only
    param = {"type": "type", "language": "language", "centre": "centre", "country": "country",
             "access": "access", "has_fulltext": "has_fulltext", "collection": "collection"}
    checked = 0
    for dimension, values in result["facets"].items():
        for value in values:
            if dimension == "year":
                filtered = search(client, year_from=value["value"], year_to=value["value"])
            else:
                filtered = search(client, **{param[dimension]: value["value"]})
            assert filtered["total"] == value["count"], (dimension, value)
            assert value["label"]
            checked += 1
    assert checked >= 20
    facets = {d: {v["value"]: v["count"] for v in values} for d, values in result["facets"].items()}
    assert facets["centre"] == {"centre-a": 6, "centre-b": 2}
    assert facets["access"] == {"open": 6, "restricted": 1, "embargoed": 1}
    assert facets["has_fulltext"] == {"true": 1, "false": 7}  # only the open work's text is readable
    assert facets["language"] == {"spa": 5, "por": 1, "eng": 1, "fra": 1}


def test_filters_combine(client, corpus):
    assert ids(search(client, type="book")) == {corpus["trabalhador"], corpus["workers"]}
    assert ids(search(client, type=["book", "report"])) == {corpus["trabalhador"], corpus["workers"], corpus["politica"]}
    assert ids(search(client, type="book", language="por")) == {corpus["trabalhador"]}
    assert ids(search(client, year_from=2015, year_to=2019)) == {corpus["trabalhador"], corpus["politica"],
                                                                 corpus["abierto"]}
    assert ids(search(client, q="vivienda", year_from=2013)) == {corpus["politica"]}
    assert ids(search(client, country="BR")) == {corpus["trabalhador"]}
    assert ids(search(client, centre="centre-b")) == {corpus["trabalhador"], corpus["workers"]}
    assert ids(search(client, access="restricted")) == {corpus["memoire"]}
    assert ids(search(client, has_fulltext=True)) == {corpus["abierto"]}
    assert ids(search(client, centre="no-such-centre")) == set()


def test_collections_include_subcollections(client, auth, make):
    for slug, parent in (("libros", None), ("ensayos", "libros")):
        body = {"slug": slug, "name": slug.title(), **({"parent": parent} if parent else {})}
        response = client.post("/api/collections", json=body, headers=auth.admin)
        assert response.status_code == 201, response.text
    essay = make("Ensayo sobre la ciudad", collections=["ensayos"])
    book = make("Libro sobre la ciudad", collections=["libros"])
    make("Suelto sobre la ciudad")
    flush(client)
    assert ids(search(client, collection="libros")) == {essay, book}
    assert ids(search(client, collection="ensayos")) == {essay}
    facet = {v["value"]: (v["count"], v["label"]) for v in search(client, q="ciudad")["facets"]["collection"]}
    assert facet == {"libros": (2, "Libros"), "ensayos": (1, "Ensayos")}


def test_sorting_paging_and_cursor(client, corpus):
    newest = search(client, sort="newest", size=100)["hits"]
    years = [h["year"] for h in newest]
    assert years == sorted(years, reverse=True) and len(years) == 8
    oldest = [h["year"] for h in search(client, sort="oldest", size=100)["hits"]]
    assert oldest == sorted(oldest)
    titles = [h["title"] for h in search(client, sort="title", size=100)["hits"]]
    from repo.search.query import fold

    assert [fold(t) for t in titles] == sorted(fold(t) for t in titles)
    # page/size and cursor walk the same list without gaps or repeats
    pages = [search(client, sort="newest", size=3, page=p)["hits"] for p in (1, 2, 3)]
    assert [h["id"] for page in pages for h in page] == [h["id"] for h in newest]
    walked, cursor, numbers = [], None, []
    while True:
        result = search(client, sort="newest", size=3, **({"cursor": cursor} if cursor else {}))
        walked += [h["id"] for h in result["hits"]]
        numbers.append(result["page"])
        cursor = result["next_cursor"]
        if cursor is None:
            break
    assert walked == [h["id"] for h in newest] and numbers == [1, 2, 3]
    relevance = search(client, q="vivienda", size=1)
    assert relevance["total"] == 2 and relevance["next_cursor"]
    second = search(client, q="vivienda", size=1, cursor=relevance["next_cursor"])
    assert {relevance["hits"][0]["id"], second["hits"][0]["id"]} == {corpus["politica"], corpus["markup"]}
    assert second["next_cursor"] is None
    past = search(client, page=50, size=100 // 2)
    assert past["hits"] == [] and past["total"] == 8 and past["next_cursor"] is None


def test_relevance_cursor_walks_every_hit_once(client, make):
    """Many distinct scores (and some ties), walked one hit a page: the cursor's walk is the
    one-page list. On osmem-server a cursor on the score alone repeated or skipped hits whenever
    the score it reported (rounded to float32) lay above or below the one it compares with."""
    filler = ["casa", "barrio", "ciudad", "norte", "sur", "plaza", "calle", "puerto", "mercado", "parque"]
    for n in range(14):
        make(" ".join(["vivienda"] * (1 + n % 3) + filler[:n % 7]), year=2000 + n,
             abstract="vivienda " * (n % 4) + "informe" if n % 2 else None)
    flush(client)
    listed = [h["id"] for h in search(client, q="vivienda", size=100)["hits"]]
    assert len(listed) == 14
    for size in (1, 3):
        walked, cursor = [], None
        while True:
            result = search(client, q="vivienda", size=size, **({"cursor": cursor} if cursor else {}))
            walked += [h["id"] for h in result["hits"]]
            cursor = result["next_cursor"]
            if cursor is None or len(walked) > 14:
                break
        assert walked == listed, size
        paged = [h["id"] for p in range(1, 16 // size + 2) for h in search(client, q="vivienda", size=size, page=p)["hits"]]
        assert paged == listed, size


def test_cursor_is_signed_and_bound_to_its_search(client, corpus):
    from helpers import assert_problem

    cursor = search(client, size=2)["next_cursor"]
    assert cursor
    assert_problem(client.get("/api/search", params={"size": 2, "cursor": cursor[:-3] + "abc"}), 422, "query.cursor")
    assert_problem(client.get("/api/search", params={"size": 2, "cursor": "garbage"}), 422, "query.cursor")
    assert_problem(client.get("/api/search", params={"size": 5, "cursor": cursor}), 422, "query.cursor")
    assert_problem(client.get("/api/search", params={"size": 2, "q": "x", "cursor": cursor}), 422, "query.cursor")


def test_highlights_are_marked_and_escaped(client, corpus):
    result = search(client, q="vivienda")
    hit = next(h for h in result["hits"] if h["id"] == corpus["markup"])
    snippets = [s for values in hit["highlights"].values() for s in values]
    assert snippets and any("<mark>vivienda</mark>" in s.lower() for s in snippets), hit["highlights"]
    for snippet in snippets:
        assert "<script>" not in snippet
        assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    title = hit["highlights"].get("title", [])
    assert all("&lt;script&gt;" in s for s in title)
    assert hit["title"] == "Notas <script>alert(1)</script> sobre vivienda & ciudad"  # plain field, unescaped
    abstract = next(h for h in search(client, q="maestros")["hits"] if h["id"] == corpus["educacion"])
    assert any("<mark>maestros</mark>" in s for s in abstract["highlights"].get("abstract", []))


def test_full_text_open_only(client, corpus, clock):
    """Open full text is matched and snippeted; restricted and embargoed full text is not — until the embargo ends."""
    opened = search(client, q="agrarias")
    assert ids(opened) == {corpus["abierto"]}
    hit = opened["hits"][0]
    assert hit["has_fulltext"] is True
    assert any("<mark>agrarias</mark>" in s for s in hit["highlights"]["fulltext"])
    for q in ("clandestino", "reservado", "palabraembargada"):
        assert search(client, q=q)["total"] == 0, q
    # exclusion must not reveal hidden full text either
    assert corpus["memoire"] in ids(search(client, q="territoire -clandestino"))
    # a metadata match of a restricted work shows no full-text snippet and no hidden word
    hit = search(client, q="territoire")["hits"][0]
    assert "fulltext" not in hit["highlights"] and "clandestino" not in str(hit)
    # the embargo ends: the indexer's pass lifts it, and the full text becomes searchable
    embargo_end = corpus["embargado"]
    clock.advance(days=31)
    flush(client)
    lifted = search(client, q="palabraembargada")
    assert ids(lifted) == {embargo_end}
    assert lifted["hits"][0]["access"] == "open" and lifted["hits"][0]["has_fulltext"] is True
    assert any("<mark>palabraembargada</mark>" in s for s in lifted["hits"][0]["highlights"]["fulltext"]), lifted["hits"][0]
    assert {v["value"]: v["count"] for v in search(client)["facets"]["access"]} == {"open": 7, "restricted": 1}


def test_drafts_and_withdrawn_never_leak_to_anonymous(client, corpus, auth):
    for q in ("borrador", "confidencial", "retirado", "duplicado"):
        result = search(client, q=q)
        assert result["total"] == 0 and result["hits"] == [], q
        assert all(v["count"] == 0 for values in result["facets"].values() for v in values), q
    everything = search(client, size=100)
    assert corpus["borrador"] not in ids(everything) and corpus["retirado"] not in ids(everything)
    assert sum(v["count"] for v in everything["facets"]["centre"]) == everything["total"] == 8
    assert "Borrador" not in str(everything) and "Retirado" not in str(everything)


def test_editors_see_their_centres_drafts(client, corpus, auth):
    assert ids(search(client, auth.editor_a, q="borrador")) == {corpus["borrador"]}
    hit = search(client, auth.editor_a, q="borrador")["hits"][0]
    assert hit["status"] == "draft"
    assert search(client, auth.editor_b, q="borrador")["total"] == 0
    assert ids(search(client, auth.editor_b, q="retirado")) == {corpus["retirado"]}
    assert search(client, auth.editor_a, q="retirado")["total"] == 0
    assert ids(search(client, auth.admin, q="vivienda")) == {corpus["politica"], corpus["markup"], corpus["borrador"],
                                                              corpus["retirado"]}
    # editors still never match restricted full text
    assert search(client, auth.editor_a, q="clandestino")["total"] == 0


def test_changes_reach_the_index(client, corpus, auth):
    work = corpus["politica"]
    response = client.patch(f"/api/works/{work}", headers=auth.editor_a,
                            json={"metadata": {"titles": [{"value": "Política de transporte urbano", "lang": "spa"}]}})
    assert response.status_code == 200, response.text
    flush(client)
    assert ids(search(client, q="transporte")) == {work}
    assert work not in ids(search(client, q="title:vivienda"))
    before = {v["value"]: v["count"] for v in search(client)["facets"]["type"]}
    response = client.post(f"/api/works/{work}/withdraw", json={"reason": "error"}, headers=auth.editor_a)
    assert response.status_code == 200
    flush(client)
    assert search(client, q="transporte")["total"] == 0
    after = {v["value"]: v["count"] for v in search(client)["facets"]["type"]}
    assert before["report"] == 1 and after == {k: v for k, v in before.items() if k != "report"}
    draft = corpus["borrador"]
    assert client.delete(f"/api/works/{draft}", headers=auth.editor_a).status_code == 204
    flush(client)
    assert search(client, auth.admin, q="borrador")["total"] == 0


def test_many_full_text_matches_still_match(client, corpus, backend_kind, monkeypatch):
    """Past the embedded backend's threshold full-text matches are not bm25-scored, but still found."""
    if backend_kind == "embedded":
        monkeypatch.setattr("repo.search.embedded.backend.TEXT_RANKED_MAX", 0)
    assert ids(search(client, q="agrarias")) == {corpus["abierto"]}
    assert ids(search(client, q="cooperativas")) == {corpus["abierto"]}  # title and full text
    assert search(client, q="clandestino")["total"] == 0


def test_query_language(client, corpus):
    """OR, groups, truncation, negated groups and the abstract:/fulltext: fields mean the same on every backend."""
    assert ids(search(client, q="vivienda OR cooperativas")) == {corpus["politica"], corpus["markup"], corpus["abierto"]}
    assert ids(search(client, q="(vivienda social) OR trabalhador")) == {corpus["politica"], corpus["trabalhador"]}
    assert ids(search(client, q="vivienda -(social OR ciudad)")) == set()
    assert ids(search(client, q="vivienda NOT social")) == {corpus["markup"]}
    assert ids(search(client, q="trabalh*")) == {corpus["trabalhador"]}
    assert ids(search(client, q="TRABALH*")) == {corpus["trabalhador"]}
    assert ids(search(client, q="coop* -title:coop*")) == set()  # title and full text, excluded by title
    assert ids(search(client, q="abstract:maestros")) == {corpus["educacion"]}
    assert ids(search(client, q="abstract:educación")) == {corpus["educacion"]}
    assert ids(search(client, q="title:maestros")) == set()
    assert ids(search(client, q="fulltext:agrarias")) == {corpus["abierto"]}
    assert ids(search(client, q="fulltext:cooperativas -title:sur")) == set()
    assert ids(search(client, q="fulltext:clandestino")) == set()  # restricted full text is never searched
    assert ids(search(client, q="fulltext:palabraembargada")) == set()
    assert ids(search(client, q="title:(vivienda OR trabalhador)")) == {corpus["politica"], corpus["markup"],
                                                                       corpus["trabalhador"]}
    # stop words and lower-case operators are words, matched literally
    assert ids(search(client, q="de")) >= {corpus["politica"], corpus["trabalhador"]}
    assert corpus["workers"] in ids(search(client, q="and"))
    hit = next(h for h in search(client, q="trabalh*")["hits"])
    assert "<mark>trabalhador</mark>" in hit["highlights"]["title"][0]  # the whole word is marked
