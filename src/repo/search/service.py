"""Searching works: from a :class:`SearchQuery` to a :class:`SearchResult`, for one reader.

Entry point for the search API and the reading room::

    from repo.search import service
    result = service.search(ctx, query, backend=request.app.state.search)

``backend`` is explicit (the application's backend lives in ``app.state.search``, built in the
lifespan; :func:`repo.search.backend.get_backend` is the FastAPI dependency that returns it).
``ctx.principal`` decides visibility (anonymous: published works only; editors: also their
centres' drafts and tombstones; administrators: everything), ``ctx.now`` (the app's clock)
decides whether embargoed full text is open yet, and ``ctx.session`` looks up facet labels.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

from repo.centres.models import Collection, MemberCentre
from repo.context import Context
from repo.errors import FieldError, Unprocessable
from repo.search import highlight
from repo.search.backend import BackendHit, BackendQuery, Filters, SearchBackend, Viewer
from repo.search.documents import access_at, fulltext_open
from repo.search.query import NothingToSearch, QueryError, parse
from repo.search.schemas import FacetValue, SearchHit, SearchQuery, SearchResult, Sort
from repo.signing import InvalidToken, Signer
from repo.works.vocabularies import AccessRight, WorkType, country_name, language_name

CURSOR_TTL_SECONDS = 24 * 3600


def viewer(ctx: Context) -> Viewer:
    """The twin of ``visibility.readable_by`` for this context's principal."""
    principal = ctx.principal
    return Viewer(everything=principal.is_admin, centre_ids=frozenset(principal.centre_ids))


def search(ctx: Context, query: SearchQuery, *, backend: SearchBackend) -> SearchResult:
    """Run ``query`` for ``ctx.principal`` at ``ctx.now``.

    Raises ``Unprocessable`` (422, field ``query.q`` or ``query.cursor``) for a query beyond the
    limits, a query with nothing to search for (only operators or punctuation), a truncation
    shorter than 3 letters, or a cursor this API did not issue for the same search. Never raises
    engine errors for odd user syntax: the query is parsed into a safe AST first.
    """
    try:
        tree = parse(query.q)
    except NothingToSearch as exc:
        raise Unprocessable("Nothing to search for.", errors=[FieldError("query.q", str(exc))]) from None
    except QueryError as exc:
        raise Unprocessable("The query cannot be searched.", errors=[FieldError("query.q", str(exc))]) from None
    signer = Signer(ctx.settings.secret, "search-cursor")
    key = _query_key(query)
    after: list[Any] | None = None
    page = query.page
    if query.cursor:
        after, page = _read_cursor(signer, query.cursor, key, ctx)
    sort = query.sort.value
    request = BackendQuery(
        query=tree,
        filters=Filters(
            types=tuple(query.type), languages=tuple(query.language), centres=tuple(query.centre),
            collections=tuple(query.collection), countries=tuple(query.country), access=tuple(query.access),
            year_from=query.year_from, year_to=query.year_to, has_fulltext=query.has_fulltext,
        ),
        viewer=viewer(ctx),
        now=ctx.now,
        sort=sort,
        offset=0 if after is not None else (page - 1) * query.size,
        limit=query.size,
        after=after,
        facet_size=query.facet_size,
    )
    found = backend.search(request)
    hits = [_hit(ctx, h, sort) for h in found.hits]
    seen = (page - 1) * query.size + len(hits)
    next_cursor = None
    if found.hits and seen < found.total:
        next_cursor = signer.dumps({"k": key, "a": found.hits[-1].sort_key, "p": page + 1})
    return SearchResult(
        total=found.total,
        hits=hits,
        facets=_facets(ctx, found.facets),
        page=page,
        size=query.size,
        next_cursor=next_cursor,
    )


def _query_key(query: SearchQuery) -> str:
    """Digest of what a cursor is only valid for: the same search, sort and page size."""
    data = query.model_dump(mode="json", exclude={"cursor", "page"})
    return hashlib.blake2b(json.dumps(data, sort_keys=True).encode(), digest_size=8).hexdigest()


def _read_cursor(signer: Signer, cursor: str, key: str, ctx: Context) -> tuple[list[Any], int]:
    try:
        payload = signer.loads(cursor, max_age=CURSOR_TTL_SECONDS, now=ctx.now)
        if payload["k"] != key:
            raise InvalidToken("cursor of another search")
        after, page = payload["a"], int(payload["p"])
        if not isinstance(after, list):
            raise InvalidToken("malformed")
    except (InvalidToken, KeyError, TypeError, ValueError):
        raise Unprocessable(
            "Invalid cursor.",
            errors=[FieldError("query.cursor", "not a cursor this API issued for this search (or expired)")],
        ) from None
    return after, page


def _hit(ctx: Context, hit: BackendHit, sort: str) -> SearchHit:
    d = hit.display
    type_ = d.get("type")
    return SearchHit(
        id=hit.id,
        title=d.get("title"),
        title_lang=d.get("title_lang"),
        creators=d.get("creators", []),
        year=d.get("year"),
        type=type_,
        type_label=WorkType(type_).info.label if isinstance(type_, str) and type_ in WorkType.__members__ else None,
        languages=d.get("languages", []),
        centre=d["centre"],
        centre_name=d["centre_name"],
        collections=d.get("collections", []),
        access=access_at(d, ctx.now),
        status=d["status"],
        has_fulltext=fulltext_open(d, ctx.now),
        abstract=d.get("abstract"),
        url=f"{ctx.settings.base_url}/works/{hit.id}",
        highlights={field: [highlight.render(s) for s in snippets]
                    for field, snippets in hit.highlights.items() if snippets},
        score=hit.score if sort == Sort.relevance else None,
    )


_FULLTEXT_LABELS = {"true": "with full text", "false": "without full text"}
#: Labels of the fixed vocabularies (type, language, country, access, full text), kept once made.
_labels: dict[tuple[str, str], str] = {}
_CENTRE_NAMES = sa.select(MemberCentre.__table__.c.slug, MemberCentre.__table__.c.name).where(
    MemberCentre.__table__.c.slug.in_(sa.bindparam("slugs", expanding=True)))
_COLLECTION_NAMES = sa.select(Collection.__table__.c.slug, Collection.__table__.c.name).where(
    Collection.__table__.c.slug.in_(sa.bindparam("slugs", expanding=True)))


def _label(dimension: str, value: str) -> str:
    """The label of a value of a fixed vocabulary (centres and collections are named in SQL)."""
    found = _labels.get((dimension, value))
    if found is None:
        if dimension == "type":
            found = WorkType(value).info.label if value in WorkType.__members__ else value
        elif dimension == "language":
            found = language_name(value)
        elif dimension == "country":
            found = country_name(value)
        elif dimension == "access":
            found = AccessRight(value).info.label if value in AccessRight.__members__ else value
        elif dimension == "has_fulltext":
            found = _FULLTEXT_LABELS.get(value, value)
        else:
            found = value
        if len(_labels) < 10_000:
            _labels[(dimension, value)] = found
    return found


def _facets(ctx: Context, facets: dict[str, list[tuple[str, int]]]) -> dict[str, list[FacetValue]]:
    """The backend's counts with labels. Names of centres and collections are read by two Core
    statements on the session's connection (the ORM's execution path cost more than the rest of
    this function)."""
    names: dict[str, dict[str, str]] = {}
    for dimension, statement in (("centre", _CENTRE_NAMES), ("collection", _COLLECTION_NAMES)):
        slugs = [v for v, _ in facets.get(dimension, [])]
        if slugs:
            names[dimension] = dict(ctx.session.connection().execute(statement, {"slugs": slugs}).all())
    out: dict[str, list[FacetValue]] = {}
    for dimension, values in facets.items():
        named = names.get(dimension)
        if named is not None:
            out[dimension] = [FacetValue(value=v, count=c, label=named.get(v, v)) for v, c in values]
        elif dimension == "year":
            out[dimension] = [FacetValue(value=v, count=c, label=v) for v, c in values]
        else:
            out[dimension] = [FacetValue(value=v, count=c, label=_label(dimension, v)) for v, c in values]
    return out
