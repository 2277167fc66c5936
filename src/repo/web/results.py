"""The results page: from a shareable query string to a search and back to links.

All state lives in the query string (``q``, repeated ``type``/``language``/``centre``/
``collection``/``access``, ``year`` or ``year_from``/``year_to``, ``sort``, ``page``), so any
results page can be bookmarked and shared. Parameters the page does not know (``lang``,
tracking tags) are ignored rather than rejected; values that cannot be read are dropped. The
search itself is :func:`repo.search.service.search`, run as an anonymous reader.
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
from repo.search.schemas import MAX_PAGE_DEPTH, SearchQuery, SearchResult

PAGE_SIZE = 20
LIST_FILTERS = ("type", "language", "centre", "collection", "access")
FACETS = ("type", "language", "year", "centre", "collection", "access")
SORTS = ("relevance", "newest", "oldest", "title")
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


def _url(state: dict[str, Any], **changes: Any) -> str:
    """A results URL for ``state`` with ``changes`` (None removes a key); the page resets to 1."""
    merged = {**state, **changes}
    if "page" not in changes:
        merged["page"] = 1
    params: list[tuple[str, str]] = []
    for key in ("q", *LIST_FILTERS, "year_from", "year_to", "sort", "page"):
        value = merged.get(key)
        if value is None or value == [] or (key == "page" and value == 1) or (key == "sort" and value == "relevance"):
            continue
        params += [(key, str(v)) for v in value] if isinstance(value, list) else [(key, str(value))]
    return "/search" + (f"?{urlencode(params)}" if params else "")


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


def run(ctx: Context, params: QueryParams, backend: Any) -> Results:
    state = parse(params)
    if backend is None:
        raise SearchUnavailable("The search service is not available right now; browse by centre or collection.")
    if state["page"] * PAGE_SIZE > MAX_PAGE_DEPTH:
        raise NotFound(f"Results are listed up to page {MAX_PAGE_DEPTH // PAGE_SIZE}; refine the search.")
    try:
        query = SearchQuery(size=PAGE_SIZE, **state)
    except ValidationError as exc:
        raise BadRequest("; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors()))
    try:
        result = search_service.search(ctx, query, backend=backend)
    except ProblemError as exc:  # e.g. a query too complex: the reader's to fix
        raise BadRequest(exc.detail) from None
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    if state["page"] > pages and result.total:
        raise NotFound(f"There is no page {state['page']}; the last is {pages}.")
    facets: dict[str, list[FacetLink]] = {}
    labels: dict[tuple[str, str], str] = {}
    for dimension in FACETS:
        links = []
        for value in result.facets.get(dimension, []):
            selected, url = _toggle(state, dimension, value.value)
            links.append(FacetLink(value.value, value.label, value.count, selected, url))
            labels[(dimension, value.value)] = value.label
        facets[dimension] = links
    active: list[tuple[str, str, str]] = []
    for dimension in LIST_FILTERS:
        for value in state.get(dimension, []):
            active.append((dimension, labels.get((dimension, value), value), _toggle(state, dimension, value)[1]))
    if "year_from" in state or "year_to" in state:
        span = f"{state.get('year_from', '…')}–{state.get('year_to', '…')}"
        if state.get("year_from") == state.get("year_to"):
            span = str(state["year_from"])
        active.append(("year", span, _url(state, year_from=None, year_to=None)))
    return Results(state, result, pages, facets, active)
