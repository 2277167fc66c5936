"""Property tests of the query language: any string parses into a query or a clear 422, and no
parsed query is ever an engine syntax error — on the embedded index and on OpenSearch.

The strings mix the syntax's own characters (quotes, brackets, ``-``, ``*``, ``:``, operators,
field names) with arbitrary Unicode, so the parser and both compilers meet every odd
combination. The backends raise on any engine error (the embedded one no longer swallows FTS5
errors), so a compiled query FTS5 or OpenSearch rejects fails here.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repo.search.query import MAX_TOKEN_LENGTH, MIN_PREFIX, And, Not, Or, QueryError, Term, leaves, parse
from search_support import flush

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

_PIECES = st.sampled_from(['"', "(", ")", "-", "*", ":", " ", "OR", "AND", "NOT", "|", "title:", "author:",
                           "subject:", "abstract:", "fulltext:", "foo:", "educa", "ción", "São", "\\", "'",
                           "^", "~", "{", "}", "[", "]", "NEAR", "\x00", "\ue000", "œ", "ß", "⑴", "ﬁ", "_"])
QUERIES = st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=24).map("".join)
_WORD = re.compile(r"[^\W_]+")


def _check(node: object) -> None:
    if isinstance(node, Term):
        assert 1 <= len(node.words) <= 16
        assert all(_WORD.fullmatch(w) and len(w) <= MAX_TOKEN_LENGTH for w in node.words), node
        assert not node.prefix or (len(node.words) == 1 and len(node.words[0]) >= MIN_PREFIX)
    elif isinstance(node, Not):
        _check(node.child)
    else:
        assert isinstance(node, (And, Or)) and len(node.children) >= 2
        for child in node.children:
            _check(child)


@settings(max_examples=600, deadline=None)
@given(QUERIES)
def test_any_string_parses_or_is_a_query_error(q: str) -> None:
    try:
        node = parse(q)
    except QueryError as exc:
        assert str(exc)
        return
    if node is None:
        assert not q.strip()
        return
    _check(node)
    assert 1 <= len(leaves(node)) <= 32


@pytest.fixture
def corpus(client, make):
    make("Educación popular y movimientos sociales", abstract="Freire, la educación y el pueblo.",
         subjects=["educación"], text="texto abierto sobre educación popular")
    make("Trabalhadores e sindicatos", lang="por", abstract="O mundo do trabalho.")
    make("Œuvres complètes de Fourier", lang="fra", text="l'œuvre et la société")
    flush(client)


@sqlite_only
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=QUERIES)
def test_any_string_is_a_result_or_a_422_on_every_backend(client, corpus, q: str) -> None:
    response = client.get("/api/search", params={"q": q})
    assert response.status_code in (200, 422), (q, response.text)
    if response.status_code == 422:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == ["query.q"], response.text
    else:
        body = response.json()
        assert body["total"] <= 3 and len(body["hits"]) == min(body["total"], 20)
