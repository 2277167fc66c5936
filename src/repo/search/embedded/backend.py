"""The embedded backend: SQLite FTS5 in its own file (``<data_dir>/search.sqlite3``).

Nothing to install. Layout (every table carries the index *generation* as a suffix, so a rebuild
fills fresh tables and swaps them in with one committed write of ``meta.generation``):

* ``docs_N``: one row per work — the visibility fields (status, centre, access right, embargo,
  ``open_from``), the sort keys, the display JSON, and the original metadata texts (``texts``,
  for snippets);
* ``vals_N``: ``(dim, value, doc)`` for multi-valued filters and facets (language, country,
  collection with its ancestors);
* ``meta_fts_N`` and ``text_fts_N``: FTS5 over *analysed tokens* (see below), metadata
  (title, other titles, authors, subjects, abstracts), and metadata with full text (works with
  a text that can ever open); ``title_fts_N``: the titles alone, to rank the title matches of a
  common word; ``body_N``: the original full text, for snippets.

**Stemming.** Python's ``sqlite3`` cannot register an FTS5 tokenizer, so analysis happens in
Python (:mod:`repo.search.analysis`, the same chain the OpenSearch mapping declares) and FTS5
indexes its output with the trivial ``ascii`` tokenizer. Each text field has two columns: the
folded words (``educacion``: accent-, case-insensitive matching and ``educa*`` truncation) and
the stems, tagged with a private-use character and the value's language (``\ue010eseduc``,
``\ue010pttrabalh``), so a value is matched with its own language's stemmer, as OpenSearch's
per-language sub-fields do, and a stem never equals a folded word. A query word becomes its folded
form OR its tagged stem in each analysed language (a language the repository does not hold finds
nothing, at the cost of one index lookup), with no column filter when it is searched in every
field; a phrase is the same, position by position, within one column. ``meta.layout`` records
this layout (2); ``ensure()`` converts an index of layout 1 (untagged stems, text alone) once. Highlights are computed on the original texts of the page's hits
(:func:`repo.search.highlight.fragments`), marking the original words. Indexing analyses every
word once (PyStemmer, memoised), which keeps ``repo reindex`` above 2,000 works/s; queries pay
only a handful of extra index lookups per word.

Full text lives in its own table so that it can be matched, excluded and highlighted only for
documents whose ``open_from <= now`` — the query-time twin of ``visibility.is_open``.

A free-text search works on sets first (see :meth:`EmbeddedBackend._text`): visibility and
filters come from in-memory bitmaps (``bitmaps.py``); the whole query is compiled to one FTS5
expression, answered over the metadata for every allowed document, then over metadata and text
(``text_fts``) for the few with open full text that the first did not match, and only then is
the page ranked (bm25 computed for allowed documents only, top-k in SQLite) or walked in index
order. Scoring is the dominant cost, about 1.3 µs per scored match; every ranking statement also
pays FTS5's pass over each phrase's whole doclist for bm25's IDF. So when a filter leaves few
documents (``SCORED_MATCH_MAX``) and the query is terms and ORs, one walk both matches and scores.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from repo.search.backend import (
    BackendHit,
    BackendQuery,
    BackendResult,
    IndexedState,
    Viewer,
)
from repo.search.documents import SearchDocument
from repo.search.embedded.bitmaps import Bitmaps
from repo.search import highlight
from repo.search.analysis import LANGS, analyse, query_forms
from repo.search.query import And, Node, Not, Or, Term, positive_leaves

log = logging.getLogger("repo.search.embedded")

#: Tokens arrive analysed (folded words, tagged stems) and separated by spaces.
TOKENIZER = "ascii"
#: Between two values of one field, so no phrase spans them (never a query token: private use).
SEPARATOR = "\ue002"
META_COLUMNS = ("title_f", "title_s", "alt_f", "alt_s", "author_f", "subject_f", "subject_s", "abstract_f",
                "abstract_s")
#: bm25 weights of meta_fts columns, in META_COLUMNS order (a word matching both its folded form
#: and its stem counts in both columns: the exact form ranks first).
WEIGHTS = "10.0, 10.0, 6.0, 6.0, 4.0, 4.0, 4.0, 2.0, 2.0"
#: Columns of ``title_fts`` (the titles again, see _ranked) and their bm25 weights.
TITLE_COLUMNS = META_COLUMNS[:4]
TITLE_WEIGHTS = "10.0, 10.0, 6.0, 6.0"
#: Columns of ``text_fts``: the metadata again (see _insert), then the full text.
TEXT_COLUMNS = (*META_COLUMNS, "body_f", "body_s")
#: Stems are tagged with this character and their language (``\ue010es`` + ``educ``): a stem token
#: never equals a folded word, so a word searched in every field needs no column filter (which
#: makes FTS5 read every position list) — it is its folded form OR its tagged stems, anywhere.
STEM_TAG = "\ue010"
#: Version of the index layout (``meta.layout``); an index of an older one is converted by ensure().
LAYOUT = 2
SEPARATOR_JOIN = f" {SEPARATOR} "
#: field prefix -> its columns (in both FTS tables); a field absent from a table matches nothing there.
_FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title_f", "title_s", "alt_f", "alt_s"),
    "author": ("author_f",),
    "subject": ("subject_f", "subject_s"),
    "abstract": ("abstract_f", "abstract_s"),
    "fulltext": ("body_f", "body_s"),
}
#: A full-text match counts this much of a metadata match (bm25 scores are negative).
TEXT_WEIGHT = 0.3
#: Above this many full-text matches, they rank after the metadata matches (by id) instead of by
#: bm25: scoring thousands of long texts would cost more than the whole rest of the search.
TEXT_RANKED_MAX = 2000
#: Above this many matches, only those matching in a title are bm25-ranked (they come first: a
#: title weighs 5 times an abstract anyway); the others follow by id. Scoring 40,000 matches of a
#: common word would cost more than the rest of the search.
META_RANKED_MAX = 5000
#: Up to this many allowed documents (a filter), a query of terms and ORs is matched and scored in
#: one walk of ``meta_fts`` (see _text); at most META_RANKED_MAX, so no more rows are scored than
#: the ranking would score anyway.
SCORED_MATCH_MAX = META_RANKED_MAX
_NO_YEAR_NEWEST = -1
_NO_YEAR_OLDEST = 99_999
#: Rows of the ``changes`` log kept (readers further behind rebuild their bitmaps).
_CHANGES_KEPT = 20_000
#: Up to this many matches, a page in a non-relevance order looks its documents up by id; beyond,
#: it walks the documents table in that order until the page is full (few steps when dense).
_LISTED_MAX = 5000
#: A rebuild commits every this many documents.
_REBUILD_COMMIT = 5000


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _alternatives(term: Term, columns: tuple[str, ...] | None) -> str | None:
    """An FTS5 expression for ``term`` in ``columns`` (None: every column): its folded words (a
    truncation: their prefix), or its tagged stems in each analysed language — always quoted
    tokens, so nothing of the query's syntax reaches FTS5."""
    forms = [query_forms(w) for w in term.words]
    folded = " ".join(f.replace('"', "") for f, _ in forms).strip()
    if not folded:
        return None
    if term.prefix:
        found = f'"{folded}" *'
    else:
        options = [f'"{folded}"']
        if term.field != "author":  # names are not stemmed
            for lang in LANGS:
                options.append('"' + " ".join(STEM_TAG + lang + by_lang[lang].replace('"', "")
                                              for _, by_lang in forms) + '"')
        found = "(" + " OR ".join(options) + ")"
    return f"({found})" if columns is None else f"({{{' '.join(columns)}}} : {found})"


def _meta(term: Term) -> str | None:
    """``term`` as an FTS5 expression over ``meta_fts`` (None: it can never match metadata)."""
    if term.field == "fulltext":
        return None
    return _alternatives(term, None if term.field is None else _FIELDS[term.field])


def _titled(term: Term) -> str | None:
    """``term`` over ``title_fts`` (None: it never matches a title)."""
    if term.field not in (None, "title"):
        return None
    return _alternatives(term, None)


def _body(term: Term) -> str | None:
    """``term`` in the full text of ``text_fts`` (None: it never matches full text)."""
    if term.field not in (None, "fulltext"):
        return None
    return _alternatives(term, _FIELDS["fulltext"])


def _anywhere(term: Term) -> str | None:
    """``term`` over ``text_fts``, metadata and full text: the match of a work whose text is open."""
    return _alternatives(term, None if term.field is None else _FIELDS[term.field])


class _Inexpressible(Exception):
    """A negation with nothing positive beside it (FTS5's NOT is binary)."""


def _expression(node: Node, leaf: Callable[[Term], str | None] = _meta) -> str | None:
    """The whole query as one FTS5 expression, each term compiled by ``leaf`` (None: matches nothing)."""
    if isinstance(node, Term):
        return leaf(node)
    if isinstance(node, Not):
        raise _Inexpressible
    if isinstance(node, Or):
        parts = [e for c in node.children if (e := _expression(c, leaf)) is not None]
        return "(" + " OR ".join(parts) + ")" if parts else None
    positive = [c for c in node.children if not isinstance(c, Not)]
    if not positive:
        raise _Inexpressible
    required = [_expression(c, leaf) for c in positive]
    if None in required:
        return None
    out = "(" + " AND ".join(p for p in required if p is not None) + ")"
    for child in node.children:
        if isinstance(child, Not):
            excluded = _expression(child.child, leaf)
            if excluded is not None:
                out = f"({out} NOT {excluded})"
    return out


def _nodes(node: Node) -> Iterable[Node]:
    yield node
    if isinstance(node, Not):
        yield from _nodes(node.child)
    elif isinstance(node, (And, Or)):
        for child in node.children:
            yield from _nodes(child)


def _alternation(node: Node) -> bool:
    """Whether ``node`` is a term or an OR of terms (so its positive terms are the whole query)."""
    return isinstance(node, Term) or (isinstance(node, Or) and all(map(_alternation, node.children)))


def _any(expressions: Iterable[str | None]) -> str | None:
    found = [e for e in expressions if e is not None]
    return " OR ".join(found) if found else None


def _analysed(text: str, lang: str) -> tuple[str, str]:
    """(folded words, tagged stems) of one value, as token text for FTS5."""
    folded, stems = analyse(text, lang)
    tag = STEM_TAG + lang
    return " ".join(folded), " ".join([tag + s for s in stems])


#: Short values (titles, names, subjects) repeat across works: their analysis is kept.
_values: dict[tuple[str, str], tuple[str, str]] = {}
_VALUES_MAX = 100_000
_VALUE_CACHED_LEN = 300


def _stream(values: Sequence[tuple[str, str]], cached: bool = True) -> tuple[str, str]:
    """(folded words, tagged stems) of a field's values, as token text for FTS5."""
    folded_parts, stem_parts = [], []
    for text, lang in values:
        if cached and len(text) <= _VALUE_CACHED_LEN:
            pair = _values.get((text, lang))
            if pair is None:
                if len(_values) >= _VALUES_MAX:
                    _values.clear()
                pair = _values[(text, lang)] = _analysed(text, lang)
        else:
            pair = _analysed(text, lang)
        folded_parts.append(pair[0])
        stem_parts.append(pair[1])
    if len(folded_parts) == 1:
        return folded_parts[0], stem_parts[0]
    return SEPARATOR_JOIN.join(folded_parts), SEPARATOR_JOIN.join(stem_parts)


def _member(column: str, name: str) -> str:
    """SQL: ``column`` is a member of the :meth:`Bitmaps.digits` blob bound as ``:name`` (O(1))."""
    return f"substr(:{name}, {column} + 1, 1) = x'31'"


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # one writer at a time within this process
        self._registry = threading.Lock()
        self._bitmaps = Bitmaps()  # facet counts (see bitmaps.py)

    # -- connections ---------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA mmap_size=268435456")
            self._local.conn = conn
            with self._registry:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._registry:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM changes WHERE seq < (SELECT max(seq) FROM changes) - ?", (_CHANGES_KEPT,))

    def _generation(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])

    # -- schema --------------------------------------------------------------------------------

    def ensure(self) -> None:
        conn = self._conn()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.execute("CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                             "doc INTEGER NOT NULL)")
                if conn.execute("SELECT 1 FROM meta WHERE key = 'generation'").fetchone() is None:
                    self._create_tables(conn, 1)
                    conn.execute("INSERT INTO meta VALUES ('generation', '1')")
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('layout', ?)", (str(LAYOUT),))
                layout = conn.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()
                if layout is None or int(layout[0]) < LAYOUT:
                    self._convert(conn, self._generation(conn))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _convert(self, conn: sqlite3.Connection, g: int) -> None:
        """Bring an index of layout 1 (untagged stems; full text alone in ``text_fts``) to
        :data:`LAYOUT`, from its own tables, into a fresh generation (inside the caller's transaction)."""
        log.warning("converting the search index %s to layout %d (once, after an upgrade)", self.path, LAYOUT)
        fresh = g + 1
        self._drop_tables(conn, fresh)
        self._create_tables(conn, fresh)
        for table in ("docs", "vals", "body"):
            conn.execute(f"INSERT INTO {table}_{fresh} SELECT * FROM {table}_{g}")
        stems = [i for i, c in enumerate(TEXT_COLUMNS) if c.endswith("_s")]

        def tagged(values: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(" ".join(t if t == SEPARATOR else STEM_TAG + t for t in v.split()) if i in stems else v
                         for i, v in enumerate(values))

        meta = {row[0]: tagged(row[1:]) for row in conn.execute(
            f"SELECT rowid, {', '.join(META_COLUMNS)} FROM meta_fts_{g}")}
        conn.executemany(f"INSERT INTO meta_fts_{fresh} (rowid, {', '.join(META_COLUMNS)}) "
                         f"VALUES (?{',?' * len(META_COLUMNS)})", [(i, *v) for i, v in meta.items()])
        conn.executemany(f"INSERT INTO title_fts_{fresh} (rowid, {', '.join(TITLE_COLUMNS)}) VALUES (?,?,?,?,?)",
                         [(i, *v[:4]) for i, v in meta.items()])
        text = [(row[0], *meta.get(row[0], ("",) * len(META_COLUMNS)), *tagged(("", "", "", "", "", "", "", "", "",
                                                                                  *row[1:]))[-2:])
                for row in conn.execute(f"SELECT rowid, body_f, body_s FROM text_fts_{g}")]
        conn.executemany(f"INSERT INTO text_fts_{fresh} (rowid, {', '.join(TEXT_COLUMNS)}) "
                         f"VALUES (?{',?' * len(TEXT_COLUMNS)})", text)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(fresh),))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('layout', ?)", (str(LAYOUT),))
        self._drop_tables(conn, g)  # readers rebuild their bitmaps on the new generation

    def _create_tables(self, conn: sqlite3.Connection, g: int) -> None:
        conn.execute(f"""
            CREATE TABLE docs_{g} (
                id INTEGER PRIMARY KEY, version INTEGER NOT NULL, fingerprint TEXT NOT NULL, digest TEXT NOT NULL,
                status TEXT NOT NULL, centre_id INTEGER NOT NULL, centre TEXT NOT NULL, type TEXT,
                year INTEGER, ynew INTEGER NOT NULL, yold INTEGER NOT NULL, title_key TEXT NOT NULL,
                access_right TEXT, embargo_from REAL, open_from REAL, display TEXT NOT NULL, texts TEXT NOT NULL)""")
        for name, columns in (("status_ynew", "status, ynew, id"), ("status_yold", "status, yold, id"),
                              ("status_title", "status, title_key, id"), ("centre", "centre_id, status"),
                              ("year", "year"), ("type", "type")):
            conn.execute(f"CREATE INDEX ix_docs_{g}_{name} ON docs_{g} ({columns})")
        conn.execute(f"CREATE TABLE vals_{g} (dim TEXT NOT NULL, value TEXT NOT NULL, doc INTEGER NOT NULL, "
                     f"PRIMARY KEY (dim, value, doc)) WITHOUT ROWID")
        conn.execute(f"CREATE INDEX ix_vals_{g}_doc ON vals_{g} (doc, dim, value)")  # covering: facets
        conn.execute(f"CREATE VIRTUAL TABLE meta_fts_{g} USING fts5("
                     f"{', '.join(META_COLUMNS)}, tokenize='{TOKENIZER}')")
        conn.execute(f"CREATE VIRTUAL TABLE text_fts_{g} USING fts5({', '.join(TEXT_COLUMNS)}, tokenize='{TOKENIZER}')")
        conn.execute(f"CREATE VIRTUAL TABLE title_fts_{g} USING fts5({', '.join(TITLE_COLUMNS)}, tokenize='{TOKENIZER}')")
        conn.execute(f"CREATE TABLE body_{g} (id INTEGER PRIMARY KEY, lang TEXT NOT NULL, body TEXT NOT NULL)")
        # ``rank`` is bm25 with column weights: cheaper than calling bm25() per row
        conn.execute(f"INSERT INTO meta_fts_{g} (meta_fts_{g}, rank) VALUES ('rank', 'bm25({WEIGHTS})')")
        conn.execute(f"INSERT INTO title_fts_{g} (title_fts_{g}, rank) VALUES ('rank', 'bm25({TITLE_WEIGHTS})')")

    def _drop_tables(self, conn: sqlite3.Connection, g: int) -> None:
        for table in (f"docs_{g}", f"vals_{g}", f"meta_fts_{g}", f"title_fts_{g}", f"text_fts_{g}", f"body_{g}"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    # -- writing -------------------------------------------------------------------------------

    def _insert(self, conn: sqlite3.Connection, g: int, documents: Sequence[SearchDocument]) -> None:
        """Insert ``documents`` (not in the index yet): one ``executemany`` per table."""
        docs, vals, meta, text, bodies = [], [], [], [], []
        for d in documents:
            docs.append((
                d.id, d.version, d.fingerprint, d.digest, d.status, d.centre_id, d.centre, d.type, d.year,
                d.year if d.year is not None else _NO_YEAR_NEWEST, d.year if d.year is not None else _NO_YEAR_OLDEST,
                d.title_key, d.access_right,
                _epoch(datetime.combine(d.embargo_end, datetime.min.time(), tzinfo=UTC)) if d.embargo_end else None,
                _epoch(d.open_from), json.dumps(d.display, ensure_ascii=False),
                json.dumps({"title": d.titles[:1], "abstract": d.abstracts}, ensure_ascii=False)))
            vals += [("language", v, d.id) for v in set(d.languages)]
            vals += [("country", v, d.id) for v in set(d.countries)]
            vals += [("collection", v, d.id) for v in set(d.collections)]
            columns = (*_stream(d.titles[:1]), *_stream(d.titles[1:]), _stream([(a, "und") for a in d.authors])[0],
                       *_stream(d.subjects), *_stream(d.abstracts))
            meta.append((d.id, *columns))
            if d.fulltext and d.open_from is not None:
                # the metadata again beside the text: a work whose text is open is matched by one
                # expression over both (see _text)
                text.append((d.id, *columns, *_stream([(d.fulltext, d.fulltext_lang)], cached=False)))
                bodies.append((d.id, d.fulltext_lang, d.fulltext))
        conn.executemany(f"INSERT INTO docs_{g} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", docs)
        conn.executemany(f"INSERT INTO vals_{g} VALUES (?,?,?)", vals)
        conn.executemany(f"INSERT INTO meta_fts_{g} (rowid, {', '.join(META_COLUMNS)}) "
                         f"VALUES (?{',?' * len(META_COLUMNS)})", meta)
        conn.executemany(f"INSERT INTO title_fts_{g} (rowid, {', '.join(TITLE_COLUMNS)}) VALUES (?,?,?,?,?)",
                         [row[:5] for row in meta])
        conn.executemany(f"INSERT INTO text_fts_{g} (rowid, {', '.join(TEXT_COLUMNS)}) "
                         f"VALUES (?{',?' * len(TEXT_COLUMNS)})", text)
        conn.executemany(f"INSERT INTO body_{g} VALUES (?, ?, ?)", bodies)

    def _remove(self, conn: sqlite3.Connection, g: int, work_id: int) -> None:
        conn.execute("INSERT INTO changes (doc) VALUES (?)", (work_id,))
        conn.execute(f"DELETE FROM docs_{g} WHERE id = ?", (work_id,))
        conn.execute(f"DELETE FROM vals_{g} WHERE doc = ?", (work_id,))
        conn.execute(f"DELETE FROM meta_fts_{g} WHERE rowid = ?", (work_id,))
        conn.execute(f"DELETE FROM title_fts_{g} WHERE rowid = ?", (work_id,))
        conn.execute(f"DELETE FROM text_fts_{g} WHERE rowid = ?", (work_id,))
        conn.execute(f"DELETE FROM body_{g} WHERE id = ?", (work_id,))

    def index(self, documents: Sequence[SearchDocument]) -> dict[int, str]:
        failed: dict[int, str] = {}
        conn = self._conn()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                g = self._generation(conn)
                conn.execute("SAVEPOINT batch")
                try:  # the whole batch at once; if a document fails, each alone
                    for d in documents:
                        self._remove(conn, g, d.id)  # also records the change for the facet bitmaps
                    self._insert(conn, g, documents)
                    conn.execute("RELEASE batch")
                except (sqlite3.Error, ValueError, TypeError):
                    conn.execute("ROLLBACK TO batch")
                    conn.execute("RELEASE batch")
                    for d in documents:
                        conn.execute("SAVEPOINT doc")
                        try:
                            self._remove(conn, g, d.id)
                            self._insert(conn, g, [d])
                            conn.execute("RELEASE doc")
                        except (sqlite3.Error, ValueError, TypeError) as exc:
                            conn.execute("ROLLBACK TO doc")
                            conn.execute("RELEASE doc")
                            failed[d.id] = f"{type(exc).__name__}: {exc}"
                self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return failed

    def delete(self, work_ids: Iterable[int]) -> None:
        conn = self._conn()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                g = self._generation(conn)
                for work_id in work_ids:
                    self._remove(conn, g, work_id)
                self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def rebuild(self, documents: Iterable[Sequence[SearchDocument]]) -> int:
        conn = self._conn()
        with self._lock:
            current = self._generation(conn)
        fresh = current + 1
        # Fill fresh tables outside the writer lock (batch commits) so live indexing goes on.
        conn.execute("BEGIN IMMEDIATE")
        self._drop_tables(conn, fresh)  # leftovers of an interrupted rebuild
        self._create_tables(conn, fresh)
        conn.execute("COMMIT")
        count = 0
        try:
            pending: list[SearchDocument] = []
            for batch in itertools.chain(documents, [[]]):  # an empty batch at the end: write the rest
                pending += batch
                if len(pending) < _REBUILD_COMMIT and batch:
                    continue
                # few large transactions: FTS5 writes a segment per transaction, and merges them later
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._insert(conn, fresh, pending)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                count += len(pending)
                pending = []
        except BaseException:
            conn.execute("BEGIN IMMEDIATE")
            self._drop_tables(conn, fresh)
            conn.execute("COMMIT")
            raise
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(fresh),))
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('layout', ?)", (str(LAYOUT),))
                self._drop_tables(conn, current)
                self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return count

    # -- reading -------------------------------------------------------------------------------

    def count(self) -> int:
        conn = self._conn()
        g = self._generation(conn)
        return int(conn.execute(f"SELECT count(*) FROM docs_{g}").fetchone()[0])

    def states(self) -> dict[int, IndexedState]:
        conn = self._conn()
        g = self._generation(conn)
        return {row[0]: IndexedState(row[1], row[2], row[3])
                for row in conn.execute(f"SELECT id, version, fingerprint, digest FROM docs_{g}")}

    def search(self, query: BackendQuery) -> BackendResult:
        conn = self._conn()
        conn.execute("BEGIN")  # one snapshot for count, page, facets and snippets
        try:
            g = self._generation(conn)
            with self._bitmaps.lock:
                self._bitmaps.refresh(conn, g)
                return self._search(conn, g, query)
        finally:
            conn.execute("COMMIT")

    def _search(self, conn: sqlite3.Connection, g: int, query: BackendQuery) -> BackendResult:
        positive = positive_leaves(query.query)
        sort = query.sort if positive or query.sort != "relevance" else "newest"
        if query.query is None:
            return self._browse(conn, g, query, sort)
        return self._text(conn, g, query, query.query, positive, sort)

    def _browse(self, conn: sqlite3.Connection, g: int, query: BackendQuery, sort: str) -> BackendResult:
        """No query text: the matches are the visible, filtered bitmap; total and facets come from
        it with no pass over the rows, and the page from :meth:`_walk`."""
        matches = _browse_mask(self._bitmaps, query)
        hits = self._walk(conn, g, sort, matches, query)
        facets = self._bitmaps.counts(matches, query.now, query.facet_size) if query.facets else {}
        return BackendResult(matches.bit_count(), hits, facets)

    def _walk(self, conn: sqlite3.Connection, g: int, sort: str, matches: int, query: BackendQuery) -> list[BackendHit]:
        """The page of ``matches`` (visibility and filters are in the bitmap) in a non-relevance order.

        Few matches are looked up by id: a walk in sort order would pass every row by for a rare
        filter value. Many are walked along the sort index, testing membership in SQL.
        """
        params: dict[str, Any] = {"limit": query.limit, "offset": query.offset}
        if matches.bit_count() <= _LISTED_MAX:  # few: look them up by id (a walk may pass them all by)
            where = [f"d.id IN ({','.join(map(str, self._bitmaps.members(matches)))})"]
            return self._page(conn, g, sort, where, params, query.after, None)
        params["m"] = self._bitmaps.digits_of(matches)
        return self._page(conn, g, sort, [_member("d.id", "m")], params, query.after,
                          self._statuses(query.viewer, matches))

    def _text(self, conn: sqlite3.Connection, g: int, query: BackendQuery, tree: Node, positive: list[Term],
              sort: str) -> BackendResult:
        """Query text: bitmaps decide what matches, then only the page is ranked or sorted.

        1. The allowed set (visibility and filters) comes from the bitmaps. The whole query is
           one FTS5 expression, which FTS5 answers among the allowed documents without listing
           each word's (many) matches: over the metadata (``meta_fts``) for documents without
           open full text, then over metadata and text (``text_fts``, where a work with text
           has both) for the few with open full text that the first did not match. Total and
           facets follow from the final bitmap.
        2. Relevance ranks only that final set (:meth:`_ranked`); the other sorts walk the
           documents table in order (:meth:`_page`). Neither sorts every match in Python.
        """
        bitmaps = self._bitmaps
        opened = bitmaps.derived(query.now)[1]  # works whose full text anyone may read now
        allowed = _browse_mask(bitmaps, query)
        readable = allowed & opened
        # Without a negation a metadata match is a match whatever the full text says: the
        # metadata query serves every document; with one, only those without open full text.
        negated = any(isinstance(n, Not) for n in _nodes(tree))
        by_metadata = allowed & ~opened if negated else allowed
        matched = 0
        scores: list[tuple[float, int]] | None = None
        texts: int | None = None  # open texts matching a positive term, when known (see _ranked)
        try:
            expression = _expression(tree) if by_metadata else None
            if (expression is not None and sort == "relevance" and _alternation(tree)
                    and by_metadata.bit_count() <= min(SCORED_MATCH_MAX, META_RANKED_MAX)):
                # Few allowed (a filter) and the query's terms are what ranks: match and score in
                # one walk (the ranking would walk the same rows again, after FTS5's pass over
                # every phrase for bm25's IDF). No more rows are scored than _ranked would score.
                scores = [(r, i) for i, r in conn.execute(
                    f"SELECT rowid, rank FROM meta_fts_{g} WHERE meta_fts_{g} MATCH :e AND {_member('rowid', 'm')}",
                    {"e": expression, "m": bitmaps.digits_of(by_metadata)})]
                matched = bitmaps.from_ids([i for _, i in scores])
            elif expression is not None:
                matched = self._matching(conn, f"meta_fts_{g}", expression, by_metadata)
            rest = readable & ~matched
            expression = _expression(tree, _anywhere) if rest else None
            if expression is not None:
                by_text = self._matching(conn, f"text_fts_{g}", expression, rest)
                matched |= by_text
                if not negated and by_text.bit_count() > TEXT_RANKED_MAX:
                    # Without a negation, a document matched here and not by its metadata
                    # matches some positive term in its full text: more than TEXT_RANKED_MAX open
                    # texts match, which is all the ranking needs to know (no count of them).
                    texts = by_text.bit_count()
        except _Inexpressible:  # a negation alone: evaluate it as sets
            matched = self._eval(conn, g, tree, allowed, readable)
        allowed = matched
        total = allowed.bit_count()
        facets = bitmaps.counts(allowed, query.now, query.facet_size) if query.facets else {}
        if not allowed:
            return BackendResult(0, [], facets)
        if sort != "relevance":
            hits = self._walk(conn, g, sort, allowed, query)
        else:
            ranked = self._ranked(conn, g, query, positive, allowed, opened, texts, scores)
            displays = dict(conn.execute(
                f"SELECT id, display FROM docs_{g} WHERE id IN ({','.join(str(i) for _, i in ranked) or 'NULL'})"))
            hits = [BackendHit(id=i, display=json.loads(displays[i]), sort_key=[rank, i], score=-rank)
                    for rank, i in ranked]
        if hits and positive:  # exclusions alone highlight nothing
            self._highlight(conn, g, hits, positive, query.now.timestamp())
        return BackendResult(total, hits, facets)

    def _eval(self, conn: sqlite3.Connection, g: int, node: Node, within: int, texts: int) -> int:
        """The members of ``within`` that match ``node``, a term matching by metadata or, for the
        members of ``texts`` (documents whose full text is open now), by full text. Closed full
        text (embargoed, restricted) neither matches nor is excluded by a negation."""
        if not within:
            return 0
        if isinstance(node, Term):
            found = 0
            expression = _meta(node)
            if expression is not None:
                found = self._matching(conn, f"meta_fts_{g}", expression, within)
            expression = _body(node)
            rest = within & texts & ~found
            if expression is not None and rest:
                found |= self._matching(conn, f"text_fts_{g}", expression, rest)
            return found
        if isinstance(node, Not):
            return within & ~self._eval(conn, g, node.child, within, texts)
        if isinstance(node, Or):
            out = 0
            for child in node.children:
                out |= self._eval(conn, g, child, within & ~out, texts)
            return out
        for child in sorted(node.children, key=lambda c: isinstance(c, Not)):  # narrow first, then exclude
            within = self._eval(conn, g, child, within, texts)
        return within

    def _statuses(self, viewer: Viewer, within: int) -> list[str]:
        """The statuses worth a walk: those the viewer may see with members in ``within``."""
        if not viewer.everything and not viewer.centre_ids:
            return ["published"]
        return [s for s in self._bitmaps.values("status") if within & self._bitmaps.get("status", s)]

    def _matching(self, conn: sqlite3.Connection, table: str, expression: str, within: int) -> int:
        """Bitmap of the rows of FTS5 ``table`` matching ``expression`` that are members of ``within``.

        The membership test runs in SQL, so ids of documents filtered out anyway never reach
        Python; the rest arrive as one ``group_concat`` string (a row per id costs twice as much).
        """
        if table.startswith("meta_fts") and self._bitmaps.most(within):
            # a set of most documents (no filter, say): testing each matching row costs more
            # (~75 ns a row) than listing the few others and dropping them here (~170 ns a row)
            found = conn.execute(f"SELECT group_concat(rowid) FROM {table} WHERE {table} MATCH :e",
                                 {"e": expression}).fetchone()[0]
        else:
            found = conn.execute(f"SELECT group_concat(rowid) FROM {table} WHERE {table} MATCH :e AND "
                                 f"{_member('rowid', 'm')}",
                                 {"e": expression, "m": self._bitmaps.digits_of(within)}).fetchone()[0]
        return self._bitmaps.from_list(found) & within

    def _ranked(self, conn: sqlite3.Connection, g: int, query: BackendQuery, positive: list[Term],
                allowed: int, opened: int, texts: int | None,
                scores: list[tuple[float, int]] | None = None) -> list[tuple[float, int]]:
        """The page of ``allowed`` (all matching) by relevance: ``(rank, id)`` ascending, lower is better.

        A document's rank is the smaller of its metadata bm25 over all positive terms and, for
        its full text open now, ``TEXT_WEIGHT`` × the full text's bm25 — or 0.0 (after every
        metadata match, by id) when more than ``TEXT_RANKED_MAX`` open texts match at all
        (``texts``: how many match some positive term, whatever the filters, or any number past
        the threshold when more are known to match; None: count them).
        Beyond ``META_RANKED_MAX`` matches, only those matching in a title are scored, by the bm25
        of ``title_fts`` (the titles alone: a row there costs a third less to score than in
        ``meta_fts``); the others rank 0.0 too.

        FTS5 evaluates ``rank`` lazily, per returned row, and scoring is what costs (about 1 µs a
        row): the membership test in SQL limits it to allowed documents, and SQLite keeps only the
        best ``offset + limit`` (``ORDER BY … LIMIT``) instead of Python sorting every match.
        ``rank + 0.0`` (the same double) is an expression, so FTS5 does not take the ORDER BY on
        itself (it would score every match first), and it is computed once per row. The cursor
        bound sits in a ``CASE`` so that it is only tested (scoring) after the membership test.
        ``scores``: ``(rank, id)`` of every metadata match in ``allowed`` (at most
        ``META_RANKED_MAX``), when the match already scored them (see :meth:`_text`).
        """
        wanted = query.offset + query.limit
        bound = (float(query.after[0]), int(query.after[1])) if query.after is not None else None
        expression = _any(map(_meta, positive))
        table = f"meta_fts_{g}"
        tiered = expression is not None and allowed.bit_count() > META_RANKED_MAX
        if tiered:  # score title matches only, by their titles' bm25 (in a table of titles: cheaper)
            expression, table = _any(map(_titled, positive)), f"title_fts_{g}"
        scored: int | None
        if scores is not None:  # every metadata match is scored already
            ranked = sorted(entry for entry in scores if bound is None or entry > bound)[:wanted]
            scored = self._bitmaps.from_ids([i for _, i in scores])
        else:
            params: dict[str, Any] = {"e": expression, "m": self._bitmaps.digits_of(allowed), "n": wanted}
            condition = _member("rowid", "m")
            if bound is not None:
                params.update(a0=bound[0], a1=bound[1])
                condition = f"CASE WHEN {condition} THEN rank > :a0 OR (rank = :a0 AND rowid > :a1) ELSE 0 END"
            ranked = [(r, i) for i, r in conn.execute(
                f"SELECT rowid, rank + 0.0 AS r FROM {table} WHERE {table} MATCH :e AND {condition} "
                f"ORDER BY r, rowid LIMIT :n", params)] if expression is not None else []
            # Without a cursor, fewer rows than asked for are every match of ``expression``: the
            # documents it matches are known without another walk.
            scored = self._bitmaps.from_ids([i for _, i in ranked]) if bound is None and len(ranked) < wanted else None
        text_expression = _any(map(_body, positive))
        text: dict[int, float] = {}
        readable = allowed & opened
        if text_expression is not None and readable:
            # the threshold counts every open text matching, as the ranking of a document must not
            # depend on the filters of the search that shows it
            if texts is None and opened.bit_count() <= TEXT_RANKED_MAX:
                texts = opened.bit_count()  # however many match, no more than the open texts
            elif texts is None:  # counting stops past the threshold
                texts = conn.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM text_fts_{g} WHERE text_fts_{g} MATCH :e AND "
                    f"{_member('rowid', 'm')} LIMIT {TEXT_RANKED_MAX + 1})",
                    {"e": text_expression, "m": self._bitmaps.digits_of(opened)}).fetchone()[0]
            if texts <= TEXT_RANKED_MAX:
                text = {i: r * TEXT_WEIGHT for i, r in conn.execute(
                    f"SELECT rowid, rank FROM text_fts_{g} WHERE text_fts_{g} MATCH :e AND {_member('rowid', 'm')}",
                    {"e": text_expression, "m": self._bitmaps.digits_of(readable)})}
                ranks = {i: r for r, i in ranked}
                # A text-matching document outside the metadata top may still win by its text, by
                # the better of its two ranks. Without a cursor, its metadata rank cannot matter:
                # it is no better than the top's last (or it matches no metadata at all), so its
                # text rank decides whether it enters the top. With one, a metadata rank before
                # the cursor means the document was shown already: score those documents' metadata.
                others = [i for i in text if i not in ranks] if bound is not None else []
                if others and scores is not None:
                    known = {i: r for r, i in scores}
                    ranks.update((i, known[i]) for i in others if i in known)
                elif others and expression is not None:
                    ranks.update(conn.execute(
                        f"SELECT rowid, rank FROM {table} WHERE {table} MATCH :e AND {_member('rowid', 'm')}",
                        {"e": expression, "m": Bitmaps.digits(self._bitmaps.from_ids(others))}))
                for i, weighted in text.items():
                    current = ranks.get(i)
                    if current is None or weighted < current:
                        ranks[i] = weighted
                ranked = sorted((r, i) for i, r in ranks.items() if bound is None or (r, i) > bound)
            elif not tiered and len(ranked) < wanted:
                # past the metadata matches: the documents matching by full text alone, by id
                if scored is None:
                    scored = self._matching(conn, f"meta_fts_{g}", expression, allowed) if expression is not None else 0
                unscored = allowed & ~scored
                ranked += [(0.0, i) for i in self._bitmaps.members(unscored)
                           if bound is None or (0.0, i) > bound][:wanted - len(ranked)]
        if tiered and len(ranked) < wanted:
            # past the scored ones: every other match, by id
            if scored is None:
                scored = self._matching(conn, table, expression, allowed) if expression is not None else 0
            unscored = allowed & ~scored & (~self._bitmaps.from_ids(text) if text else -1)
            after = bound[1] if bound is not None and bound[0] == 0.0 else -1
            ranked += [(0.0, i) for i in self._bitmaps.members(unscored, after, wanted - len(ranked))]
        return ranked[query.offset:wanted]

    def _page(self, conn: sqlite3.Connection, g: int, sort: str, where: list[str], params: dict[str, Any],
              after: list[Any] | None, statuses: Iterable[str] | None) -> list[BackendHit]:
        """One page (``params`` holds limit and offset) of the documents satisfying ``where``, in ``sort`` order.

        One walk per status of ``statuses``: with ``status = ?`` the ``(status, key, id)`` indexes
        serve the order, and each walk stops after ``offset + limit`` rows. A single walk under an
        ``OR`` of visibility rules would sort every visible row (display JSON included) instead.
        The walks are merged here, and only the page's display JSON is read. ``statuses`` None:
        one query without a status condition (``where`` names the few ids itself).
        """
        order, keyset, key_columns = _order(sort)
        conditions = ["d.status = :status" if statuses is not None else "1", *where]
        if after is not None:
            for i, value in enumerate(after):
                params[f"a{i}"] = value
            conditions.append(keyset)
        sql = (f"SELECT d.id, {key_columns} FROM docs_{g} d WHERE {' AND '.join(conditions)} "
               f"ORDER BY {order} LIMIT :wanted")
        wanted = params["offset"] + params["limit"]
        rows: list[tuple[Any, ...]] = []
        for status in statuses if statuses is not None else [None]:
            rows += conn.execute(sql, {**params, "status": status, "wanted": wanted}).fetchall()
        rows.sort(key=lambda row: (row[1], row[2]), reverse=sort == "newest")  # the twin of ORDER BY
        rows = rows[params["offset"]:wanted]
        displays = dict(conn.execute(
            f"SELECT id, display FROM docs_{g} WHERE id IN ({','.join(str(row[0]) for row in rows) or 'NULL'})"))
        return [BackendHit(id=row[0], display=json.loads(displays[row[0]]), sort_key=list(row[1:])) for row in rows]

    def _highlight(self, conn: sqlite3.Connection, g: int, hits: list[BackendHit], positive: list[Term],
                   now: float) -> None:
        """Snippets of the page's hits, marked on the original texts (see ``highlight.fragments``)."""
        ids = ",".join(str(h.id) for h in hits)
        texts = {row[0]: json.loads(row[1]) for row in conn.execute(
            f"SELECT id, texts FROM docs_{g} WHERE id IN ({ids})")}
        readable = [h.id for h in hits if (h.display.get("open_from") is not None
                                            and datetime.fromisoformat(h.display["open_from"]).timestamp() <= now)]
        bodies = {row[0]: (row[1], row[2]) for row in conn.execute(
            f"SELECT id, lang, body FROM body_{g} WHERE id IN ({','.join(map(str, readable))})")} if readable else {}
        title_terms = [t for t in positive if t.field in (None, "title")]
        abstract_terms = [t for t in positive if t.field in (None, "abstract")]
        body_terms = [t for t in positive if t.field in (None, "fulltext")]
        for hit in hits:
            own = texts.get(hit.id, {})
            candidates: dict[str, list[str]] = {}
            titles = own.get("title") or []
            if titles and title_terms:
                title = highlight.whole(titles[0][0], titles[0][1], title_terms)
                if title is not None:
                    candidates["title"] = [title]
            abstracts = own.get("abstract") or []
            if abstract_terms:
                candidates["abstract"] = [f for text, lang in abstracts
                                          for f in highlight.fragments(text, lang, abstract_terms, limit=1)]
            if hit.id in bodies and body_terms:
                lang, body = bodies[hit.id]
                candidates["fulltext"] = highlight.fragments(body, lang, body_terms)
            hit.highlights = highlight.distinct(candidates, [t for t, _ in titles + abstracts])


def _order(sort: str) -> tuple[str, str, str]:
    """(ORDER BY, keyset condition after the previous page's last key, key columns) over ``d``."""
    if sort == "oldest":
        return "d.yold, d.id", "(d.yold, d.id) > (:a0, :a1)", "d.yold, d.id"
    if sort == "title":
        return "d.title_key, d.id", "(d.title_key, d.id) > (:a0, :a1)", "d.title_key, d.id"
    return "d.ynew DESC, d.id DESC", "(d.ynew, d.id) < (:a0, :a1)", "d.ynew, d.id"


def _browse_mask(bitmaps: Bitmaps, query: BackendQuery) -> int:
    """The documents the viewer may see that pass the filters (every search starts from these):
    the bitmap twin of ``visibility.readable_by``."""
    mask = bitmaps.get("all", "")
    viewer, f = query.viewer, query.filters
    if not viewer.everything:
        mask &= bitmaps.get("status", "published") | bitmaps.any_of("centre_id", map(str, viewer.centre_ids))
    for dim, values in (("type", f.types), ("centre", f.centres), ("language", f.languages),
                        ("country", f.countries), ("collection", f.collections)):
        if values:
            mask &= bitmaps.any_of(dim, values)
    if f.year_from is not None or f.year_to is not None:
        low, high = f.year_from if f.year_from is not None else -1, f.year_to if f.year_to is not None else 99_999
        mask &= bitmaps.any_of("year", [y for y in bitmaps.values("year") if low <= int(y) <= high])
    lifted, opened = bitmaps.derived(query.now)
    if f.access:
        embargoed = bitmaps.get("access_right", "embargoed")
        allowed = 0
        for value in f.access:
            if value == "open":
                allowed |= bitmaps.get("access_right", "open") | (embargoed & lifted)
            elif value == "embargoed":
                allowed |= embargoed & ~lifted
            else:
                allowed |= bitmaps.get("access_right", value)
        mask &= allowed
    if f.has_fulltext is True:
        mask &= opened
    elif f.has_fulltext is False:
        mask &= ~opened
    return mask
