"""How the OpenSearch backend pages a cursor (no server needed: the request it would send).

Relevance cursors page by position within OpenSearch's result window and by ``search_after``
only beyond it (see ``_position``); the walk itself is tested on osmem-server in
``test_search_semantics.py::test_relevance_cursor_walks_every_hit_once``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from repo.search.backend import BackendQuery, Filters, Viewer
from repo.search.opensearch.backend import RESULT_WINDOW, _position


def _query(sort: str, after: list[object] | None, offset: int = 0, limit: int = 20) -> BackendQuery:
    return BackendQuery(query=None, filters=Filters(), viewer=Viewer(everything=False, centre_ids=frozenset()),
                        now=datetime(2026, 1, 1, tzinfo=UTC), sort=sort, offset=offset, limit=limit, after=after)


def test_relevance_cursor_pages_by_position_within_the_window() -> None:
    assert _position("relevance", _query("relevance", None, offset=40)) == (40, None)
    assert _position("relevance", _query("relevance", [3.5, 17, 39])) == (40, None)
    # the last page inside the window still uses from; the next one search_after on [score, id]
    assert _position("relevance", _query("relevance", [3.5, 17, RESULT_WINDOW - 21])) == (RESULT_WINDOW - 20, None)
    assert _position("relevance", _query("relevance", [3.5, 17, RESULT_WINDOW - 20])) == (RESULT_WINDOW - 19, [3.5, 17])


def test_other_sorts_and_old_cursors_use_search_after() -> None:
    assert _position("newest", _query("newest", [2020, 5])) == (None, [2020, 5])
    assert _position("relevance", _query("relevance", [3.5, 17])) == (None, [3.5, 17])


def test_each_highlighted_field_gets_only_its_own_clauses() -> None:
    """The highlighter gets, per sub-field, the query's clauses on that sub-field (what it would
    keep of a whole-query highlight_query); fields no term can match are not asked for."""
    from repo.search.opensearch.backend import _highlighted
    from repo.search.query import Term

    fields = _highlighted([Term(("vivienda",)), Term(("educa",), field="title", prefix=True)])
    assert fields and "title.es" in fields and "abstract.pt" in fields and "fulltext.fr.folded" in fields
    for name, spec in fields.items():
        clauses = spec["highlight_query"]["bool"]["should"]
        assert clauses and all(next(iter(c.values())).keys() == {name} for c in clauses), name
    assert len(fields["title.es.folded"]["highlight_query"]["bool"]["should"]) == 2  # vivienda, educa*
    assert len(fields["abstract.es.folded"]["highlight_query"]["bool"]["should"]) == 1  # vivienda only
    assert fields["title.es"]["number_of_fragments"] == 0 and fields["fulltext.es"]["number_of_fragments"] == 3
    assert _highlighted([Term(("Pérez",), field="author")]) == {}  # names are not highlighted
