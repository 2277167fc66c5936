"""The search backend port: what every backend (embedded FTS5, OpenSearch) implements.

The service speaks to backends only in the neutral types below: a parsed query (never raw user
syntax), normalised filters, the reader's visibility (:class:`Viewer`) and the instant ``now``
against which full-text openness is decided. Both backends implement one semantics, checked by
one test-suite (``tests/search/test_search_semantics.py``) and one relevance set
(``tests/search/relevance/``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from fastapi import Request

from repo.search.documents import SearchDocument
from repo.search.query import Node

#: Facet dimensions every backend returns, in display order.
FACETS = ("type", "language", "year", "centre", "collection", "country", "access", "has_fulltext")
#: Most values returned per facet.
FACET_SIZE = 50


@dataclass(frozen=True)
class Viewer:
    """Whose search this is, as the twin of ``repo.works.visibility.readable_by``.

    ``everything``: administrators read every work. Otherwise published works, plus every work of
    ``centre_ids`` (editors see their centres' drafts and tombstones).
    """

    everything: bool = False
    centre_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Filters:
    types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    centres: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()  # slugs; a document lists its collections and their ancestors
    countries: tuple[str, ...] = ()
    access: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    has_fulltext: bool | None = None


@dataclass(frozen=True)
class BackendQuery:
    """A search as the backend receives it.

    ``after`` is the sort key of the last hit of the previous page (keyset paging, from a cursor);
    when given, ``offset`` is 0. Sort keys are opaque lists of JSON scalars the backend produced.
    """

    query: Node | None  # the parsed free text (None: browse)
    filters: Filters
    viewer: Viewer
    now: datetime
    sort: str  # relevance | newest | oldest | title
    offset: int
    limit: int
    after: list[Any] | None = None
    facets: bool = True
    facet_size: int = FACET_SIZE  # most values per facet dimension


@dataclass
class BackendHit:
    id: int
    display: dict[str, Any]  # SearchDocument.display: what a result line shows
    sort_key: list[Any]
    score: float | None = None
    # field -> snippets with highlight.START/END around matches (see repo.search.highlight)
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class BackendResult:
    total: int
    hits: list[BackendHit]
    facets: dict[str, list[tuple[str, int]]]


@dataclass(frozen=True)
class IndexedState:
    """What ``index check`` compares with SQL (see ``SearchDocument.fingerprint``/``digest``)."""

    version: int
    fingerprint: str  # who may see what
    digest: str  # the whole document


class SearchBackend(Protocol):
    """A search index of works. Implementations must be safe to call from several threads."""

    name: str

    def ensure(self) -> None:
        """Create the index if it does not exist (idempotent; called in the lifespan)."""

    def index(self, documents: Sequence[SearchDocument]) -> dict[int, str]:
        """Add or replace documents; returns ``{work id: error}`` for those that failed."""

    def delete(self, work_ids: Iterable[int]) -> None:
        """Remove documents (absent ones are ignored)."""

    def search(self, query: BackendQuery) -> BackendResult: ...

    def states(self) -> dict[int, IndexedState]:
        """Every indexed document's state (for ``repo index check``)."""

    def count(self) -> int: ...

    def rebuild(self, documents: Iterable[Sequence[SearchDocument]]) -> int:
        """Build a fresh index from batches, then swap it in atomically; returns documents indexed.

        Searches keep hitting the old index until the swap.
        """

    def close(self) -> None: ...


def open_backend(settings: Any) -> SearchBackend:
    """The backend ``settings.search_url`` selects: None → embedded, ``http(s)://`` → OpenSearch."""
    if settings.search_url:
        from repo.search.opensearch.backend import OpenSearchBackend

        return OpenSearchBackend(settings.search_url, settings.search_index)
    from repo.search.embedded.backend import EmbeddedBackend

    return EmbeddedBackend(settings.data_dir / "search.sqlite3")


def get_backend(request: Request) -> SearchBackend:
    """FastAPI dependency: the application's backend (built in the lifespan)."""
    backend: SearchBackend = request.app.state.search
    return backend
