"""Hostile and odd input to ``GET /api/search``: a 422 problem+json or a sane result, never a 500
and never an engine syntax error — on every backend."""

from __future__ import annotations

import pytest

from helpers import assert_problem
from search_support import flush, ids, search

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ODD_QUERIES = [
    '"unbalanced quote', 'unbalanced" quote"', '"', '""', "-", "--", "- -", "AND", "OR", "NOT", "a AND", "OR b",
    "*", "*" * 500, "educ*", "**educación**", "(", ")", "((a)", "{title}: x", "title:", "author:", "subject:",
    "title:-", "-title:", "NEAR(a b)", "a NEAR b", "^", "a:b:c", "title:title:x", "x\x00y", "\x01\x02\x1f",
    "\u202etxet", "🙂", "日本語", "'; DROP TABLE works; --", "\\", "\\\"", "%", "_", "a" * 999, "-" * 999,
    "title:\"educación", "\ue000educación\ue001", "<mark>x</mark>", "1950-2020",
]


@pytest.fixture
def work(client, make):
    work_id = make("Educación popular en América Latina", abstract="Sobre la educación.")
    flush(client)
    return work_id


#: Queries with no word at all: a 422 saying there is nothing to search for (never "everything").
NOTHING = {'"', '""', "-", "--", "- -", "*", "*" * 500, "(", ")", "title:-", "^", "\x01\x02\x1f", "🙂", "\\",
           '\\"', "%", "_", "-" * 999}


@pytest.mark.parametrize("q", ODD_QUERIES)
def test_odd_queries_give_a_sane_result(client, work, q):
    response = client.get("/api/search", params={"q": q})
    if q in NOTHING:
        assert_problem(response, 422, "query.q")
        assert "nothing to search for" in response.text
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["hits"]) <= 1
    assert set(body["facets"]) == {"type", "language", "year", "centre", "collection", "country", "access",
                                   "has_fulltext"}


def test_operators(client, work):
    assert ids(search(client, q="educación AND popular")) == {work}
    assert ids(search(client, q="educ* popular")) == {work}  # truncation
    assert ids(search(client, q="educacion* popular")) == {work}  # the whole word is its own prefix
    assert ids(search(client, q="educ*ación")) == set()  # a star inside a word separates
    assert ids(search(client, q='"educación popular')) == {work}  # the open quote ends at the end
    assert ids(search(client, q="(educación) | popular")) == {work}
    assert ids(search(client, q="nada OR popular")) == {work}
    assert ids(search(client, q="nada OR nunca")) == set()
    assert ids(search(client, q="foo:educación")) == set()  # unknown field: plain words
    # lone or dangling operators are the words themselves: matched literally, never everything
    for q in ("AND", "OR", "NOT", "AND OR", "or", "a OR"):
        assert search(client, q=q)["total"] == 0, q
    assert_problem(client.get("/api/search", params={"q": "ed*"}), 422, "query.q")  # too short a truncation
    # "⑴" folds to "(1)": three characters, one digit — still too short a truncation
    assert_problem(client.get("/api/search", params={"q": "⑴*"}), 422, "query.q")


@pytest.mark.parametrize("params, field", [
    ({"q": "x" * 10_240}, "query.q"),
    ({"q": " ".join(f"w{i}" for i in range(40))}, "query.q"),
    ({"q": '"' + " ".join(f"w{i}" for i in range(20)) + '"'}, "query.q"),
    ({"bogus": "1"}, "query.bogus"),
    ({"filter": "type:book"}, "query.filter"),
    ({"sort": "date"}, "query.sort"),
    ({"sort": "relevance desc"}, "query.sort"),
    ({"size": "101"}, "query.size"),
    ({"size": "0"}, "query.size"),
    ({"page": "0"}, "query.page"),
    ({"page": "-1"}, "query.page"),
    ({"page": "abc"}, "query.page"),
    ({"page": "1000", "size": "100"}, "query.page"),
    ({"year_from": "abc"}, "query.year_from"),
    ({"year_from": "2020", "year_to": "2010"}, "query.year_to"),
    ({"has_fulltext": "maybe"}, "query.has_fulltext"),
    ({"cursor": "not-a-cursor"}, "query.cursor"),
    ({"type": ["x"] * 51}, "query.type"),
])
def test_bad_parameters_are_problems(client, work, params, field):
    assert_problem(client.get("/api/search", params=params), 422, field)


def test_page_past_the_end_is_empty(client, work):
    result = search(client, page=99, size=100)
    assert result["hits"] == [] and result["total"] == 1 and result["next_cursor"] is None


def test_search_is_documented_in_openapi(client):
    spec = client.get("/api/openapi.json").json()
    operation = spec["paths"]["/api/search"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"q", "type", "language", "year_from", "year_to", "centre", "collection", "country", "access",
            "has_fulltext", "sort", "page", "size", "cursor"} <= names
    assert "422" in operation["responses"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("SearchResult")
