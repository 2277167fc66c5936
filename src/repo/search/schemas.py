"""The search API's public shapes: the query a reader sends and the result page it gets back.

These models are the contract the reading room (``repo.web``) and ``GET /api/search`` program
against; the backends never see them directly (the service turns a :class:`SearchQuery` into a
backend request and a backend response into a :class:`SearchResult`).

Filters are flat query parameters. The list-valued ones may be repeated
(``?type=book&type=report``): values of one dimension are alternatives (OR), dimensions combine
with AND. Unknown parameters are rejected (422), so a typo never silently widens a search.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: Most values a list filter accepts (a longer list is a 422, not a slow query).
MAX_FILTER_VALUES = 50
#: Longest accepted ``q`` (characters); longer is a 422.
MAX_QUERY_LENGTH = 1000
#: Most values a facet may list (``facet_size``): the reading room's "more" pages read them all.
MAX_FACET_SIZE = 1000
#: page × size beyond this must use the cursor (deep pages cost what page 1 costs).
MAX_PAGE_DEPTH = 10_000

FilterValues = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=MAX_FILTER_VALUES)]


class Sort(StrEnum):
    relevance = "relevance"  # best match first (newest first when there is no free text)
    newest = "newest"  # publication year, latest first; works without a year last
    oldest = "oldest"  # publication year, earliest first; works without a year last
    title = "title"  # type: ignore[assignment]  # main title, accent- and case-insensitive A→Z (shadows str.title)


class SearchQuery(BaseModel):
    """What a reader asks for. Every field is optional; the empty query lists everything visible.

    ``q`` syntax (``repo.search.query``): words (all required), ``"a phrase"``, ``-excluded``
    (word, phrase or group), ``a OR b``, ``(groups)``, ``educa*`` (truncation, 3 letters or more),
    ``title:``, ``author:``, ``subject:``, ``abstract:``, ``fulltext:``. Matching ignores case and
    accents and stems Spanish, Portuguese, English and French. Nothing of it is ever engine syntax.
    """

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(None, max_length=MAX_QUERY_LENGTH, description=(
        'Free text: words (all required), "a phrase", -excluded, a OR b, (groups), prefix* (3+ letters), '
        "title:, author:, subject:, abstract:, fulltext:"))
    type: FilterValues = Field(default_factory=list, description="Work type keys (COAR-based), e.g. book")
    language: FilterValues = Field(default_factory=list, description="ISO 639-3 codes, e.g. spa")
    year_from: int | None = Field(None, ge=0, le=9999, description="Publication year, inclusive")
    year_to: int | None = Field(None, ge=0, le=9999, description="Publication year, inclusive")
    centre: FilterValues = Field(default_factory=list, description="Member centre slugs")
    collection: FilterValues = Field(
        default_factory=list, description="Collection slugs (a collection includes its sub-collections)"
    )
    country: FilterValues = Field(default_factory=list, description="ISO 3166-1 alpha-2 codes (coverage)")
    access: FilterValues = Field(
        default_factory=list, description="Access right as disseminated now: open, embargoed, restricted, metadata_only"
    )
    has_fulltext: bool | None = Field(None, description="Only works whose full text is searchable (or not)")
    sort: Sort = Sort.relevance
    size: int = Field(20, ge=1, le=100, description="Hits per page")
    page: int = Field(1, ge=1, description="1-based page number (ignored when a cursor is given)")
    cursor: str | None = Field(
        None, max_length=4000, description="Opaque cursor from a previous result's next_cursor (deep pages)"
    )
    facet_size: int = Field(50, ge=1, le=MAX_FACET_SIZE, description="Most values returned per facet")

    @field_validator("year_to")
    @classmethod
    def _year_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        start = info.data.get("year_from")
        if value is not None and start is not None and start > value:
            raise ValueError("year_to must not be before year_from")
        return value

    @field_validator("page")
    @classmethod
    def _depth(cls, value: int, info: ValidationInfo) -> int:
        size = info.data.get("size") or 1
        if value * size > MAX_PAGE_DEPTH:
            raise ValueError(f"page × size must not exceed {MAX_PAGE_DEPTH}; follow next_cursor for deeper pages")
        return value


class FacetValue(BaseModel):
    value: str = Field(description="The filter value to send back (e.g. ?type=<value>)")
    count: int = Field(description="Hits of the current search that have this value")
    label: str = Field(description="Human-readable name (English)")


#: A facet: its values by descending count (the dimension name is the key in ``SearchResult.facets``).
Facet = list[FacetValue]


class SearchHit(BaseModel):
    """One work in a result list: enough to render a result line without another query.

    ``highlights`` maps ``title``, ``abstract`` and ``fulltext`` to snippets in which matched words
    are wrapped in ``<mark>…</mark>``; everything else in a snippet is HTML-escaped, so a snippet can
    be inserted into a page as markup as it is. Full-text snippets appear only where the reader may
    see the full text at this moment.
    """

    id: int
    title: str | None = Field(description="Main title (plain text, not escaped)")
    title_lang: str | None = None
    creators: list[str] = Field(description="Display names of the creators, in order (at most 20)")
    year: int | None
    type: str | None = Field(description="Work type key")
    type_label: str | None = None
    languages: list[str] = Field(default_factory=list, description="ISO 639-3 codes")
    centre: str = Field(description="Member centre slug")
    centre_name: str
    collections: list[str] = Field(default_factory=list, description="Collection slugs the work is filed in")
    access: str | None = Field(description="Access right as disseminated now (an ended embargo reads open)")
    status: str = Field(description="published, or draft/withdrawn for editors of the work's centre")
    has_fulltext: bool = Field(description="Whether the work has extracted full text readable now")
    abstract: str | None = Field(None, description="Start of the first abstract (plain text, ≤ 300 chars)")
    url: str = Field(description="Landing page in the reading room")
    highlights: dict[str, list[str]] = Field(default_factory=dict)
    score: float | None = Field(None, description="Relevance (backend-specific scale; only for sort=relevance)")


class SearchResult(BaseModel):
    total: int = Field(description="Number of visible works that match")
    hits: list[SearchHit]
    facets: dict[str, list[FacetValue]] = Field(
        description="type, language, year, centre, collection, country, access, has_fulltext — counts over "
        "the matching works (values by descending count, year by descending year; at most facet_size each)"
    )
    page: int = Field(description="Page number (counted along the cursor chain for cursor pages)")
    size: int
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")
