"""The free-text query language, parsed into a small safe AST.

Syntax: words (all required), ``"a phrase"``, ``-word`` / ``-"a phrase"`` (exclusion), and
``title:``, ``author:``, ``subject:`` before a word or phrase. Only letters and digits become
search tokens: quotes that never close end at the end of the query, operators (``AND``, ``|``,
``*``, ``(``…) and punctuation are separators, unknown ``field:`` prefixes are plain words. The
backends translate the AST themselves (quoted FTS5 strings, OpenSearch ``match_phrase``), so no
user text ever reaches an engine's own query syntax.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FIELDS = ("title", "author", "subject")
MAX_CLAUSES = 32
MAX_TOKENS_PER_CLAUSE = 16
MAX_TOKEN_LENGTH = 64

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
_WORD = re.compile(r"[^\W_]+")
_PIECE = re.compile(r'(-?)(?:([A-Za-z]+):)?("[^"]*"?|[^\s"]+)')


class QueryTooComplex(ValueError):
    """More clauses or longer phrases than a search accepts (a 422 for the client)."""


@dataclass(frozen=True)
class Clause:
    """One requirement: the ``tokens`` appear adjacent and in order (a one-word phrase is a word).

    ``field`` restricts it to one field (``title``, ``author``, ``subject``); ``None`` means any
    searchable field, full text included where the reader may see it. ``negated`` excludes works
    that match it.
    """

    tokens: tuple[str, ...]
    field: str | None = None
    negated: bool = False


def words(text: str) -> list[str]:
    """The search tokens of ``text`` (letters and digits, original case)."""
    return _WORD.findall(unicodedata.normalize("NFC", text))


def parse(q: str | None) -> tuple[Clause, ...]:
    """Parse ``q``; raises :class:`QueryTooComplex` beyond the limits, never for odd syntax."""
    if not q:
        return ()
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", q))
    clauses: list[Clause] = []
    for negation, field, body in _PIECE.findall(text):
        field = field.lower() if field else ""
        if field and field not in FIELDS:
            body = f"{field} {body}"  # "foo:bar" is two plain words
            field = ""
        tokens = [t[:MAX_TOKEN_LENGTH] for t in words(body)]
        if not tokens:
            continue  # lone operators, stars, punctuation
        if len(tokens) > MAX_TOKENS_PER_CLAUSE:
            raise QueryTooComplex(f"a phrase may have at most {MAX_TOKENS_PER_CLAUSE} words")
        if not body.startswith('"') and body.upper() in ("AND", "OR", "NOT", "NEAR") and not field and not negation:
            continue  # boolean keywords of other engines: every word is required anyway
        clause = Clause(tuple(tokens), field or None, bool(negation))
        if clause not in clauses:
            clauses.append(clause)
    if len(clauses) > MAX_CLAUSES:
        raise QueryTooComplex(f"a query may have at most {MAX_CLAUSES} words or phrases")
    return tuple(clauses)


def fold(text: str) -> str:
    """Case- and accent-insensitive form (what both backends match on): ``São`` → ``sao``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
