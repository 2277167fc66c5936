"""The results page: from a shareable query string to a search and back to links.

All state lives in the query string (``q``, repeated ``type``/``language``/``centre``/
``collection``/``access``, ``year`` or ``year_from``/``year_to``, ``sort``, ``page``), so any
results page can be bookmarked and shared. Parameters the page does not know (``lang``,
tracking tags) are ignored rather than rejected; values that cannot be read are dropped. The
search itself is :func:`repo.search.service.search`, run as an anonymous reader.

Each facet shows its :data:`FACET_SHOWN` first values and, when it has more, links to its full
list (:func:`facet_list`, ``/search/facets/<dimension>?<same state>``, :data:`FACET_PAGE` values
a page). A query the search language cannot use (nothing to search for, too short a truncation,
too complex) renders the page with the reason instead of results (status 400).
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlencode
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from repo.context import Context
from repo.errors import BadRequest, NotFound, ProblemError
from repo.search import service as search_service
from repo.search.query import NothingToSearch, QueryError, QueryTooComplex
from repo.search.query import parse as parse_query
from repo.search.schemas import MAX_FACET_SIZE, MAX_PAGE_DEPTH, SearchQuery, SearchResult

PAGE_SIZE = 20
LIST_FILTERS = ("type", "language", "centre", "collection", "access")
FACETS = ("type", "language", "year", "centre", "collection", "access")
SORTS = ("relevance", "newest", "oldest", "title")
#: Values of a facet shown beside the results; the rest are a "more" link away.
FACET_SHOWN = 10
#: Values per page of a facet's full list.
FACET_PAGE = 50
_YEAR = re.compile(r"^\d{4}$")
_TAG = re.compile(r"(</?mark>)")


class SearchUnavailable(ProblemError):
    status, title = 503, "Search unavailable"


def safe_snippet(snippet: str) -> Markup:
    """A highlight as markup: only ``<mark>`` survives. Snippets arrive escaped; any other ``<``
    or ``>`` (a backend that forgot to escape) is escaped here, so no tag can reach the page."""
    parts = _TAG.split(snippet)
    return Markup("".join(p if p in ("<mark>", "</mark>") else p.replace("<", "&lt;").replace(">", "&gt;")
                          for p in parts))


def _int(raw: str | None) -> int | None:
    if raw is None or not raw.strip().isascii() or not raw.strip().isdigit() or len(raw.strip()) > 18:
        return None
    return int(raw)


def parse(params: QueryParams) -> dict[str, Any]:
    """The search state of a query string, tolerant of anything a URL can hold."""
    state: dict[str, Any] = {}
    q = "".join(ch if ch.isprintable() else " " for ch in params.get("q", "")).strip()
    if q:
        state["q"] = q
    for name in LIST_FILTERS:
        values = list(dict.fromkeys(v.strip() for v in params.getlist(name)
                                    if v.strip() and len(v) <= 200 and v.isprintable()))
        if values:
            state[name] = values[:50]
    year = params.get("year", "").strip()
    if _YEAR.match(year):
        state["year_from"] = state["year_to"] = int(year)
    for name in ("year_from", "year_to"):
        value = _int(params.get(name))
        if value is not None and value <= 9999:
            state[name] = value
    sort = params.get("sort", "")
    if sort in SORTS:
        state["sort"] = sort
    page = _int(params.get("page"))
    state["page"] = max(page or 1, 1)
    return state


@dataclass
class FacetLink:
    value: str
    label: str
    count: int
    active: bool
    url: str


@dataclass
class Results:
    state: dict[str, Any]
    result: SearchResult | None
    pages: int = 0
    facets: dict[str, list[FacetLink]] = field(default_factory=dict)
    active: list[tuple[str, str, str]] = field(default_factory=list)  # (dimension, label, url to remove)
    more: dict[str, str] = field(default_factory=dict)  # dimension -> its full list
    problem: str | None = None  # nothing | truncation | complex: why the query cannot be searched


@dataclass
class FacetPage:
    """One page of a facet's full list for the current search."""

    dimension: str
    state: dict[str, Any]
    links: list[FacetLink]
    page: int
    pages: int
    total: int  # values in the list

    def url(self, page: int) -> str:
        return facet_url(self.state, self.dimension, page)


def _params(state: dict[str, Any]) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for key in ("q", *LIST_FILTERS, "year_from", "year_to", "sort", "page"):
        value = state.get(key)
        if value is None or value == [] or (key == "page" and value == 1) or (key == "sort" and value == "relevance"):
            continue
        params += [(key, str(v)) for v in value] if isinstance(value, list) else [(key, str(value))]
    return params


def _url(state: dict[str, Any], **changes: Any) -> str:
    """A results URL for ``state`` with ``changes`` (None removes a key); the page resets to 1."""
    merged = {**state, **changes}
    if "page" not in changes:
        merged["page"] = 1
    params = _params(merged)
    return "/search" + (f"?{urlencode(params)}" if params else "")


def facet_url(state: dict[str, Any], dimension: str, page: int = 1) -> str:
    """The full list of ``dimension``'s values for the search ``state`` (its ``page``)."""
    params = _params({**state, "page": 1}) + ([("fpage", str(page))] if page > 1 else [])
    return f"/search/facets/{dimension}" + (f"?{urlencode(params)}" if params else "")


def page_url(state: dict[str, Any], page: int) -> str:
    return _url(state, page=page)


def _toggle(state: dict[str, Any], dimension: str, value: str) -> tuple[bool, str]:
    if dimension == "year":
        active = state.get("year_from") == state.get("year_to") == int(value)
        return active, _url(state, year_from=None if active else int(value), year_to=None if active else int(value))
    current = list(state.get(dimension, []))
    active = value in current
    updated = [v for v in current if v != value] if active else current + [value]
    return active, _url(state, **{dimension: updated})


def _problem(state: dict[str, Any]) -> str | None:
    """Why the query cannot be searched (shown on the page in the reader's language), or None."""
    try:
        parse_query(state.get("q"))
    except NothingToSearch:
        return "nothing"
    except QueryTooComplex:
        return "complex"
    except QueryError:
        return "truncation"
    return None


def _search(ctx: Context, state: dict[str, Any], backend: Any, **extra: Any) -> SearchResult:
    if backend is None:
        raise SearchUnavailable("The search service is not available right now; browse by centre or collection.")
    try:
        query = SearchQuery(size=PAGE_SIZE, **state, **extra)
    except ValidationError as exc:
        raise BadRequest("; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors()))
    try:
        return search_service.search(ctx, query, backend=backend)
    except ProblemError as exc:  # e.g. a query too complex: the reader's to fix
        raise BadRequest(exc.detail) from None


def run(ctx: Context, params: QueryParams, backend: Any) -> Results:
    state = parse(params)
    if state["page"] * PAGE_SIZE > MAX_PAGE_DEPTH:
        raise NotFound(f"Results are listed up to page {MAX_PAGE_DEPTH // PAGE_SIZE}; refine the search.")
    problem = _problem(state)
    if problem is not None:
        return Results(state, None, problem=problem)
    result = _search(ctx, state, backend)
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    if state["page"] > pages and result.total:
        raise NotFound(f"There is no page {state['page']}; the last is {pages}.")
    facets: dict[str, list[FacetLink]] = {}
    labels: dict[tuple[str, str], str] = {}
    more: dict[str, str] = {}
    for dimension in FACETS:
        links = []
        for value in result.facets.get(dimension, []):
            selected, url = _toggle(state, dimension, value.value)
            links.append(FacetLink(value.value, value.label, value.count, selected, url))
            labels[(dimension, value.value)] = value.label
        shown = links[:FACET_SHOWN] + [link for link in links[FACET_SHOWN:] if link.active]
        facets[dimension] = shown
        if len(links) > len(shown):
            more[dimension] = facet_url(state, dimension)
    active: list[tuple[str, str, str]] = []
    for dimension in LIST_FILTERS:
        for value in state.get(dimension, []):
            active.append((dimension, labels.get((dimension, value), value), _toggle(state, dimension, value)[1]))
    if "year_from" in state or "year_to" in state:
        span = f"{state.get('year_from', '…')}–{state.get('year_to', '…')}"
        if state.get("year_from") == state.get("year_to"):
            span = str(state["year_from"])
        active.append(("year", span, _url(state, year_from=None, year_to=None)))
    return Results(state, result, pages, facets, active, more)


def facet_list(ctx: Context, params: QueryParams, backend: Any, dimension: str) -> FacetPage:
    """Every value of facet ``dimension`` for the search in ``params``, a page at a time."""
    if dimension not in FACETS:
        raise NotFound(f"No facet '{dimension[:40]}'; try {', '.join(FACETS)}.")
    state = parse(params)
    state["page"] = 1
    if _problem(state) is not None:
        raise BadRequest("This search has no facets: change the query.")
    result = _search(ctx, state, backend, facet_size=MAX_FACET_SIZE)
    values = result.facets.get(dimension, [])
    pages = max(1, math.ceil(len(values) / FACET_PAGE))
    page = _int(params.get("fpage")) or 1
    if page > pages:
        raise NotFound(f"There is no page {page}; the last is {pages}.")
    links = []
    for value in values[(page - 1) * FACET_PAGE:page * FACET_PAGE]:
        selected, url = _toggle(state, dimension, value.value)
        links.append(FacetLink(value.value, value.label, value.count, selected, url))
    return FacetPage(dimension, state, links, page, pages, len(values))
