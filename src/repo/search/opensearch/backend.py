"""The OpenSearch backend (``REPO_SEARCH_URL=http://…``), through opensearch-py.

The index mapping is versioned in ``schemas/opensearch-works-v<N>.json``. Text fields are objects
with one sub-field per analysed language (``title.es``, ``title.pt``, ``title.en``, ``title.fr``,
``title.und``): each value goes to the sub-field of its own language (the title's ``lang``, else
the work's first language), whose analyser stems in that language and folds case and accents —
the chain of :mod:`repo.search.analysis`, which the embedded backend runs in Python — with a
``.folded`` sub-field for exact (accent-insensitive) words and truncations. Queries search every
sub-field, so each is analysed the way its language is indexed.

The parsed query (:mod:`repo.search.query`) is compiled into ``bool`` queries of
``match_phrase`` (words and phrases) and ``prefix`` (truncations, on the folded sub-fields) —
never ``query_string``: nothing the reader typed is OpenSearch syntax.

Searches go through the alias ``settings.search_index``; :meth:`rebuild` fills a fresh index
``<alias>-v<N>-<timestamp>`` and swaps the alias in one atomic ``_aliases`` call.

Like the embedded backend, nothing here depends on the clock at index time: full-text openness
(``open_from``) and effective access (``embargo_from``) are compared with ``now`` at query time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import NotFoundError, RequestError

from repo.search.backend import (
    BackendHit,
    BackendQuery,
    BackendResult,
    Filters,
    IndexedState,
    Viewer,
)
from repo.search import highlight
from repo.search.analysis import fold
from repo.search.documents import SearchDocument, fulltext_open
from repo.search.highlight import START
from repo.search.query import Node, Not, Or, Term, positive_leaves

log = logging.getLogger("repo.search")

MAPPING_VERSION = 2
LANGS = ("es", "pt", "en", "fr", "und")
_NO_YEAR_NEWEST = -1
_NO_YEAR_OLDEST = 99_999


def _sub(name: str) -> list[str]:
    """The searchable sub-fields of a language object: stemmed and folded for each analysed language."""
    return [f"{name}.{l}" for l in LANGS] + [f"{name}.{l}.folded" for l in LANGS if l != "und"]


def _folded(name: str) -> list[str]:
    """The folded (unstemmed) sub-fields of a language object: exact words and truncations."""
    return [f"{name}.{l}.folded" for l in LANGS if l != "und"] + [f"{name}.und"]


#: Fields (with boosts) a term searches, by ``field:`` prefix: (stemmed and folded, folded only).
_FIELDS: dict[str, tuple[list[tuple[str, float]], list[tuple[str, float]]]] = {
    "title": ([(f, 10.0) for f in _sub("title")] + [(f, 6.0) for f in _sub("title_alt")],
              [(f, 10.0) for f in _folded("title")] + [(f, 6.0) for f in _folded("title_alt")]),
    "author": ([("author", 4.0)], [("author", 4.0)]),
    "subject": ([(f, 4.0) for f in _sub("subject")], [(f, 4.0) for f in _folded("subject")]),
    "abstract": ([(f, 2.0) for f in _sub("abstract")], [(f, 2.0) for f in _folded("abstract")]),
    "fulltext": ([(f, 0.6) for f in _sub("fulltext")], [(f, 0.6) for f in _folded("fulltext")]),
}
_METADATA = ("title", "author", "subject", "abstract")


def mapping_path(version: int = MAPPING_VERSION) -> Path:
    here = Path(__file__).resolve().parents[2]
    name = f"opensearch-works-v{version}.json"
    packaged = here / "_schemas" / name
    return packaged if packaged.exists() else here.parents[1] / "schemas" / name


def load_mapping(version: int = MAPPING_VERSION) -> dict[str, Any]:
    return json.loads(mapping_path(version).read_text())  # type: ignore[no-any-return]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _by_lang(values: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for text, lang in values:
        out.setdefault(lang, []).append(text)
    return out


def source(d: SearchDocument) -> dict[str, Any]:
    """The OpenSearch ``_source`` of a document."""
    return {
        "work_id": d.id,
        "version": d.version,
        "fingerprint": d.fingerprint,
        "digest": d.digest,
        "status": d.status,
        "centre_id": d.centre_id,
        "centre": d.centre,
        "type": d.type,
        "year": d.year,
        "ynew": d.year if d.year is not None else _NO_YEAR_NEWEST,
        "yold": d.year if d.year is not None else _NO_YEAR_OLDEST,
        "title_key": d.title_key,
        "access_right": d.access_right,
        "embargo_from": d.embargo_end.isoformat() if d.embargo_end else None,
        "open_from": _iso(d.open_from),
        "languages": d.languages,
        "countries": d.countries,
        "collections": d.collections,
        "title": _by_lang(d.titles[:1]),
        "title_alt": _by_lang(d.titles[1:]),
        "abstract": _by_lang(d.abstracts),
        "subject": _by_lang(d.subjects),
        "author": d.authors,
        "fulltext": {d.fulltext_lang: d.fulltext} if d.fulltext and d.open_from is not None else {},
        "display": d.display,
    }


def _matches(term: Term, name: str) -> list[dict[str, Any]]:
    """``term`` in field ``name``: a phrase on every sub-field, or a prefix on the folded ones."""
    stemmed, folded = _FIELDS[name]
    if term.prefix:
        value = fold(term.words[0])
        return [{"prefix": {f: {"value": value, "boost": b}}} for f, b in folded]
    text = " ".join(term.words)
    return [{"match_phrase": {f: {"query": text, "boost": b}}} for f, b in stemmed]


def _leaf(term: Term, now: str) -> dict[str, Any]:
    """A term: in any of its fields; in full text only where it is open at ``now``."""
    names = [term.field] if term.field else list(_METADATA) + ["fulltext"]
    should: list[dict[str, Any]] = []
    for name in names:
        if name == "fulltext":
            should.append({"bool": {"filter": [{"range": {"open_from": {"lte": now}}}],
                                    "should": _matches(term, name), "minimum_should_match": 1}})
        else:
            should += _matches(term, name)
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _highlighted(positive: list[Term]) -> dict[str, dict[str, Any]]:
    """The highlighted sub-fields, each with a ``highlight_query`` of the terms' clauses on that
    sub-field alone: what the highlighter keeps of a whole-query one anyway (it marks a field's
    own terms, ``require_field_match``), but osmem-server evaluated the whole query — 46 clauses
    a term — for each of 27 sub-fields of every hit (a quarter of its CPU time per search)."""
    clauses: dict[str, list[dict[str, Any]]] = {}
    for term in positive:
        for name in [term.field] if term.field else [*_METADATA, "fulltext"]:
            for clause in _matches(term, name):
                spec, = clause.values()
                clauses.setdefault(next(iter(spec)), []).append(clause)
    fields: dict[str, dict[str, Any]] = {}
    for names, options in ((_sub("title"), {"number_of_fragments": 0}),
                           (_sub("abstract"), {"fragment_size": highlight.FRAGMENT, "number_of_fragments": 1}),
                           (_sub("fulltext"), {"fragment_size": highlight.FRAGMENT, "number_of_fragments": 3})):
        for name in names:
            if name in clauses:
                fields[name] = {**options, "highlight_query": {"bool": {"should": clauses[name],
                                                                        "minimum_should_match": 1}}}
    return fields


def _compile(node: Node, now: str) -> dict[str, Any]:
    """The parsed query as an OpenSearch query (a negation never reveals closed full text:
    the text part of each term is gated by ``open_from`` just as when it matches)."""
    if isinstance(node, Term):
        return _leaf(node, now)
    if isinstance(node, Not):
        return {"bool": {"must_not": [_compile(node.child, now)]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_compile(c, now) for c in node.children], "minimum_should_match": 1}}
    must = [_compile(c, now) for c in node.children if not isinstance(c, Not)]
    must_not = [_compile(c.child, now) for c in node.children if isinstance(c, Not)]
    return {"bool": {k: v for k, v in (("must", must), ("must_not", must_not)) if v}}


def _visibility(viewer: Viewer) -> list[dict[str, Any]]:
    """The twin of ``visibility.readable_by``: published, or one of the viewer's centres."""
    if viewer.everything:
        return []
    should: list[dict[str, Any]] = [{"term": {"status": "published"}}]
    if viewer.centre_ids:
        should.append({"terms": {"centre_id": sorted(viewer.centre_ids)}})
    return [{"bool": {"should": should, "minimum_should_match": 1}}]


def _lifted(now: str) -> dict[str, Any]:
    return {"bool": {"filter": [{"term": {"access_right": "embargoed"}}, {"range": {"embargo_from": {"lte": now}}}]}}


def _access(value: str, now: str) -> dict[str, Any]:
    if value == "open":
        return {"bool": {"should": [{"term": {"access_right": "open"}}, _lifted(now)], "minimum_should_match": 1}}
    if value == "embargoed":
        return {"bool": {"filter": [{"term": {"access_right": "embargoed"}}],
                         "must_not": [{"range": {"embargo_from": {"lte": now}}}]}}
    return {"term": {"access_right": value}}


def _filters(f: Filters, now: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for field, values in (("type", f.types), ("centre", f.centres), ("languages", f.languages),
                          ("countries", f.countries), ("collections", f.collections)):
        if values:
            out.append({"terms": {field: list(values)}})
    if f.access:
        out.append({"bool": {"should": [_access(v, now) for v in f.access], "minimum_should_match": 1}})
    if f.year_from is not None or f.year_to is not None:
        bounds = {k: v for k, v in (("gte", f.year_from), ("lte", f.year_to)) if v is not None}
        out.append({"range": {"year": bounds}})
    if f.has_fulltext is True:
        out.append({"range": {"open_from": {"lte": now}}})
    elif f.has_fulltext is False:
        out.append({"bool": {"must_not": [{"range": {"open_from": {"lte": now}}}]}})
    return out


_SORTS: dict[str, list[dict[str, Any]]] = {
    "relevance": [{"_score": {"order": "desc"}}, {"work_id": {"order": "asc"}}],
    "newest": [{"ynew": {"order": "desc"}}, {"work_id": {"order": "desc"}}],
    "oldest": [{"yold": {"order": "asc"}}, {"work_id": {"order": "asc"}}],
    "title": [{"title_key": {"order": "asc"}}, {"work_id": {"order": "asc"}}],
}


#: OpenSearch's ``index.max_result_window``: pages up to this depth can use ``from``.
RESULT_WINDOW = 10_000


def _position(sort: str, query: BackendQuery) -> tuple[int | None, list[Any] | None]:
    """(offset of the page's first hit, or None if unknown; ``search_after`` values, or None: use ``from``).

    A relevance cursor pages by position within :data:`RESULT_WINDOW` (its sort key carries the
    hit's position after ``[_score, work_id]``), and by ``search_after`` only beyond. A score
    does not survive the round trip through a cursor everywhere: osmem-server compares
    ``search_after`` with its float64 scores but reports them rounded to float32, so a cursor
    whose rounded score lay above the true one returned its last hit again (and one below skipped
    ties). OpenSearch itself keeps float32 scores, where the round trip is exact.
    """
    after = query.after
    if after is None:
        return query.offset, None
    if sort != "relevance":
        return None, after
    if len(after) != 3:  # a cursor of a version without positions
        return None, after
    position = int(after[2]) + 1
    if position + query.limit <= RESULT_WINDOW:
        return position, None
    return position, after[:2]


class OpenSearchBackend:
    name = "opensearch"

    def __init__(self, url: str, alias: str, **client_options: Any) -> None:
        self.alias = alias
        # pool_maxsize: a web process searches from many threads at once; urllib3's default pool of
        # one connection opened and dropped a connection per concurrent search (bench/load.py).
        options = {"timeout": 60, "max_retries": 2, "retry_on_timeout": True, "pool_maxsize": 32, **client_options}
        self.client = OpenSearch(hosts=[url], **options)

    # -- index management ----------------------------------------------------------------------

    def _new_index(self) -> str:
        name = f"{self.alias}-v{MAPPING_VERSION}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        self.client.indices.create(index=name, body=load_mapping())
        return name

    def _current(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    def ensure(self) -> None:
        current = self._current()
        if not current:
            name = self._new_index()
            self.client.indices.update_aliases(body={"actions": [{"add": {"index": name, "alias": self.alias}}]})
        elif not any(f"-v{MAPPING_VERSION}-" in name for name in current):
            log.warning("search index %s has an older mapping than v%d: run `repo reindex`", current, MAPPING_VERSION)

    def close(self) -> None:
        self.client.close()

    # -- writing -------------------------------------------------------------------------------

    def _bulk(self, actions: list[dict[str, Any]], refresh: bool = True) -> dict[int, str]:
        if not actions:
            return {}
        _, errors = helpers.bulk(self.client, actions, raise_on_error=False, raise_on_exception=False,
                                 refresh=refresh, max_retries=2)
        failed: dict[int, str] = {}
        for item in errors:
            (op, result), = item.items()
            if op == "delete" and result.get("status") == 404:
                continue
            failed[int(result.get("_id", 0))] = json.dumps(result.get("error", result))[:1000]
        return failed

    def index(self, documents: Sequence[SearchDocument]) -> dict[int, str]:
        return self._bulk([{"_op_type": "index", "_index": self.alias, "_id": str(d.id), "_source": source(d)}
                           for d in documents])

    def delete(self, work_ids: Iterable[int]) -> None:
        failed = self._bulk([{"_op_type": "delete", "_index": self.alias, "_id": str(i)} for i in work_ids])
        if failed:
            raise RuntimeError(f"could not delete {sorted(failed)}: {next(iter(failed.values()))}")

    def rebuild(self, documents: Iterable[Sequence[SearchDocument]]) -> int:
        old = self._current()
        fresh = self._new_index()
        count = 0
        try:
            for batch in documents:
                failed = self._bulk([{"_op_type": "index", "_index": fresh, "_id": str(d.id), "_source": source(d)}
                                     for d in batch], refresh=False)
                if failed:
                    raise RuntimeError(f"{len(failed)} documents failed, e.g. {next(iter(failed.items()))}")
                count += len(batch)
            self.client.indices.refresh(index=fresh)
        except BaseException:
            self.client.indices.delete(index=fresh, ignore_unavailable=True)
            raise
        actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        actions.append({"add": {"index": fresh, "alias": self.alias}})
        self.client.indices.update_aliases(body={"actions": actions})  # atomic swap
        for name in old:
            self.client.indices.delete(index=name, ignore_unavailable=True)
        return count

    # -- reading -------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.client.count(index=self.alias)["count"])

    def states(self) -> dict[int, IndexedState]:
        out: dict[int, IndexedState] = {}
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"size": 5000, "sort": [{"work_id": {"order": "asc"}}],
                                    "_source": ["work_id", "version", "fingerprint", "digest"],
                                    "query": {"match_all": {}}}
            if after is not None:
                body["search_after"] = after
            hits = self.client.search(index=self.alias, body=body)["hits"]["hits"]
            if not hits:
                return out
            for hit in hits:
                s = hit["_source"]
                out[int(s["work_id"])] = IndexedState(int(s["version"]), s["fingerprint"], s["digest"])
            after = hits[-1]["sort"]

    def search(self, query: BackendQuery) -> BackendResult:
        now = _iso(query.now)
        assert now is not None
        positive = positive_leaves(query.query)
        sort = query.sort if positive or query.sort != "relevance" else "newest"
        boolean: dict[str, Any] = {"filter": _visibility(query.viewer) + _filters(query.filters, now)}
        if query.query is not None:
            boolean["must"] = [_compile(query.query, now)]
        body: dict[str, Any] = {
            "query": {"bool": boolean},
            "sort": _SORTS[sort],
            "size": query.limit,
            "track_total_hits": True,
            "_source": ["display", "work_id", "title", "abstract"],
        }
        position, after = _position(sort, query)
        if after is not None:
            body["search_after"] = after
        else:
            body["from"] = position
        if positive:
            # The highlighter gets the bare terms (no visibility filters, which are not about
            # terms); closed full text is dropped from the snippets below, per hit.
            fields = _highlighted(positive)
            if fields:  # (an author: query highlights nothing)
                body["highlight"] = {"pre_tags": [START], "post_tags": [highlight.END], "fields": fields}
        if query.facets:
            terms = {"size": query.facet_size}
            body["aggs"] = {
                "type": {"terms": {"field": "type", **terms}},
                "language": {"terms": {"field": "languages", **terms}},
                "year": {"terms": {"field": "year", "order": {"_key": "desc"}, **terms}},
                "centre": {"terms": {"field": "centre", **terms}},
                "collection": {"terms": {"field": "collections", **terms}},
                "country": {"terms": {"field": "countries", **terms}},
                "access": {"terms": {"field": "access_right", **terms}},
                "lifted": {"filter": _lifted(now)},
                "fulltext": {"filter": {"range": {"open_from": {"lte": now}}}},
            }
        try:
            response = self.client.search(index=self.alias, body=body)
        except RequestError as exc:  # defensive: the AST never produces query syntax
            raise RuntimeError(f"search rejected by OpenSearch: {exc.error}") from None
        total = int(response["hits"]["total"]["value"])
        hits: list[BackendHit] = []
        for hit in response["hits"]["hits"]:
            source = hit["_source"]
            display = source["display"]
            readable = fulltext_open(display, query.now)
            candidates: dict[str, list[str]] = {}
            for field, snippets in (hit.get("highlight") or {}).items():
                name = field.split(".", 1)[0]
                if name == "fulltext" and not readable:
                    continue  # never show closed full text, whatever the highlighter found
                marks = sum(s.count(START) for s in snippets)
                # several sub-fields (stemmed, folded) may highlight one field: keep the richest
                if marks and marks > sum(s.count(START) for s in candidates.get(name, [])):
                    candidates[name] = list(snippets)
            shown = [t for values in (source.get("title") or {}, source.get("abstract") or {})
                     for texts in values.values() for t in texts]
            key = list(hit["sort"]) + ([position + len(hits)] if sort == "relevance" and position is not None else [])
            hits.append(BackendHit(id=int(source["work_id"]), display=display, sort_key=key,
                                   score=hit.get("_score") if sort == "relevance" else None,
                                   highlights=highlight.distinct(candidates, shown)))
        facets = _facets(response.get("aggregations") or {}, total) if query.facets else {}
        return BackendResult(total, hits, facets)


def _facets(aggs: dict[str, Any], total: int) -> dict[str, list[tuple[str, int]]]:
    def buckets(name: str) -> list[tuple[str, int]]:
        return [(str(b["key"]), int(b["doc_count"])) for b in aggs.get(name, {}).get("buckets", [])]

    out = {name: buckets(name) for name in ("type", "language", "year", "centre", "collection", "country")}
    # Effective access: an embargo that ended counts as open (query-time, like the filter).
    access = dict(buckets("access"))
    lifted = int(aggs.get("lifted", {}).get("doc_count", 0))
    if lifted:
        access["embargoed"] = access.get("embargoed", 0) - lifted
        access["open"] = access.get("open", 0) + lifted
    out["access"] = sorted(((k, v) for k, v in access.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    with_text = int(aggs.get("fulltext", {}).get("doc_count", 0))
    out["has_fulltext"] = sorted(((k, v) for k, v in (("true", with_text), ("false", total - with_text)) if v > 0),
                                 key=lambda kv: (-kv[1], kv[0]))
    return out
