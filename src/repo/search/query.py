"""The free-text query language, parsed into a small safe AST that each backend compiles.

Syntax (the same on both backends, documented in the README and on the search page):

* ``educación popular`` — every word must match (``AND`` between them may be written, it changes
  nothing);
* ``"educación popular"`` — the exact phrase (words adjacent, in order);
* ``-freire``, ``-"américa latina"``, ``-(a OR b)``, ``NOT freire`` — leave out works that match;
* ``vivienda OR hábitat``, ``(vivienda social) OR "hábitat popular"`` — either side (``|`` too);
  ``OR`` binds tighter than the implicit AND: ``a b OR c`` is ``a AND (b OR c)``;
* ``educa*`` — truncation: words starting with ``educa`` (at least 3 letters before the ``*``);
* ``title:``, ``author:``, ``subject:``, ``abstract:``, ``fulltext:`` before a word, a phrase,
  a truncation or a group — only in that field.

Operators are upper-case (``or`` is a plain word) and are read as operators only where one can
stand: a lone or dangling ``OR``/``AND``/``NOT`` (``q=AND OR``) is the plain word, so a query of
only such words matches them literally. Punctuation, stray brackets and unknown ``foo:`` prefixes
separate words; a word with inner punctuation (``1990-2020``) is a phrase. A query with no word
left (``*``, ``-``, ``""``) is :class:`NothingToSearch` — never "everything". Only letters and
digits ever become search tokens, so no user text reaches an engine's own query syntax: the
embedded backend quotes every token for FTS5, OpenSearch receives ``match_phrase``/``prefix``
objects.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Union

from repo.search.analysis import fold, words

__all__ = ["And", "Node", "Not", "Or", "Term", "fold", "leaves", "parse", "positive_leaves", "words",
           "NothingToSearch", "QueryError", "QueryTooComplex"]

FIELDS = ("title", "author", "subject", "abstract", "fulltext")
MAX_CLAUSES = 32
MAX_TOKENS_PER_CLAUSE = 16
MAX_TOKEN_LENGTH = 64
MAX_DEPTH = 8
MIN_PREFIX = 3

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff\ue000-\uf8ff]")
_FIELD = re.compile(r"([A-Za-z]+):(.*)", re.S)
_PREFIX = re.compile(r"([^\W_]+)\*+")
_OPERATORS = {"OR": "or", "|": "or", "||": "or", "AND": "and", "&&": "and", "NOT": "not"}


class QueryError(ValueError):
    """A query the service answers with a 422 naming ``query.q`` (the message says why)."""


class QueryTooComplex(QueryError):
    """More words, longer phrases or deeper brackets than a search accepts."""


class NothingToSearch(QueryError):
    """The query holds no word at all (only operators, stars or punctuation)."""


@dataclass(frozen=True)
class Term:
    """Words adjacent and in order (one word is a one-word phrase); ``prefix``: one word, truncated.

    ``field`` restricts it to one field; ``None`` means any searchable field, full text included
    where the reader may see it.
    """

    words: tuple[str, ...]
    field: str | None = None
    prefix: bool = False


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Union[Term, And, Or, Not]


@dataclass
class _Token:
    kind: str  # word | phrase | open | close | minus | field | op
    text: str = ""


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            tokens.append(_Token("open"))
            i += 1
        elif c == ")":
            tokens.append(_Token("close"))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            tokens.append(_Token("phrase", text[i + 1:end]))
            i = end + 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace() and (i == 0 or text[i - 1].isspace()
                                                                        or text[i - 1] == "("):
            tokens.append(_Token("minus"))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            raw = text[i:j]
            i = j
            field = _FIELD.fullmatch(raw)
            if field and field.group(1).lower() in FIELDS:
                name, rest = field.group(1).lower(), field.group(2)
                if rest:
                    tokens += [_Token("field", name), _Token("word", rest)]
                elif i < n and text[i] in '("':
                    tokens.append(_Token("field", name))
                else:
                    tokens.append(_Token("word", field.group(1)))  # "title:" alone: the word
            elif raw in _OPERATORS:
                tokens.append(_Token("op", raw))
            else:
                tokens.append(_Token("word", raw))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> _Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def operand_follows(self, ahead: int = 1) -> bool:
        """Whether the token ``ahead`` can begin an operand (so an operator before it is one)."""
        token = self.peek(ahead)
        return token is not None and token.kind != "close" and not (
            token.kind == "op" and _OPERATORS[token.text] in ("or", "and"))

    def conjunction(self, depth: int) -> Node | None:
        if depth > MAX_DEPTH:
            raise QueryTooComplex(f"brackets may be nested at most {MAX_DEPTH} deep")
        items: list[Node] = []
        while (token := self.peek()) is not None:
            if token.kind == "close":
                if depth:
                    break
                self.i += 1  # a stray ")": a separator
                continue
            if token.kind == "op" and _OPERATORS[token.text] == "and" and items and self.operand_follows():
                self.i += 1  # explicit AND: what juxtaposition means anyway
                continue
            node = self.disjunction(depth)
            if node is not None:
                items.append(node)
        return _combine(And, items)

    def disjunction(self, depth: int) -> Node | None:
        items = [self.unary(depth)]
        while (token := self.peek()) is not None and token.kind == "op" and _OPERATORS[token.text] == "or" \
                and self.operand_follows():
            self.i += 1
            items.append(self.unary(depth))
        return _combine(Or, [n for n in items if n is not None])

    def unary(self, depth: int, field: str | None = None) -> Node | None:
        token = self.peek()
        if token is not None and (token.kind == "minus" or (token.kind == "op" and token.text == "NOT")) \
                and self.operand_follows():
            self.i += 1
            child = self.unary(depth, field)
            return Not(child) if child is not None else None
        return self.primary(depth, field)

    def primary(self, depth: int, field: str | None) -> Node | None:
        token = self.peek()
        assert token is not None
        self.i += 1
        if token.kind == "field":
            if self.peek() is None:
                return _term([token.text], field)
            return self.unary(depth, token.text)  # the innermost field wins
        if token.kind == "open":
            inner = self.conjunction(depth + 1)
            if self.peek() is not None and self.peek().kind == "close":  # type: ignore[union-attr]
                self.i += 1
            return _with_field(inner, field) if inner is not None else None
        if token.kind == "phrase":
            return _term(words(token.text), field)
        if token.kind in ("op", "minus"):  # an operator where none can stand: the word itself
            return _term(words(token.text), field)
        prefix = _PREFIX.fullmatch(token.text)
        if prefix:
            stem = prefix.group(1)[:MAX_TOKEN_LENGTH]
            # letters and digits, as typed and once folded ("⑴" folds to "(1)": one digit)
            if len(stem) < MIN_PREFIX or len("".join(words(fold(stem)))) < MIN_PREFIX:
                raise QueryError(f"a truncation needs at least {MIN_PREFIX} letters before the * ({token.text!r})")
            return Term((stem,), field, prefix=True)
        return _term(words(token.text), field)


def _term(found: list[str], field: str | None) -> Term | None:
    if not found:
        return None
    if len(found) > MAX_TOKENS_PER_CLAUSE:
        raise QueryTooComplex(f"a phrase may have at most {MAX_TOKENS_PER_CLAUSE} words")
    return Term(tuple(w[:MAX_TOKEN_LENGTH] for w in found), field)


def _with_field(node: Node, field: str | None) -> Node:
    """``node`` with ``field`` on every term that has none (``title:(a OR b)``)."""
    if field is None:
        return node
    if isinstance(node, Term):
        return node if node.field else Term(node.words, field, node.prefix)
    if isinstance(node, Not):
        return Not(_with_field(node.child, field))
    return type(node)(tuple(_with_field(c, field) for c in node.children))


def _combine(kind: type[And] | type[Or], items: list[Node]) -> Node | None:
    flat: list[Node] = []
    for item in items:
        for child in item.children if isinstance(item, kind) else (item,):
            if child not in flat:
                flat.append(child)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def leaves(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return leaves(node.child)
    return [leaf for child in node.children for leaf in leaves(child)]


def positive_leaves(node: Node | None) -> list[Term]:
    """The terms a match is *for* (not under a negation): what ranks and what is highlighted."""
    if node is None or isinstance(node, Not):
        return []
    if isinstance(node, Term):
        return [node]
    out: list[Term] = []
    for child in node.children:
        out += [leaf for leaf in positive_leaves(child) if leaf not in out]
    return out


def parse(q: str | None) -> Node | None:
    """Parse ``q``: None for a blank query (browse everything); raises :class:`QueryError`
    (too complex, nothing to search for, too short a truncation), never anything else."""
    if not q or not q.strip():
        return None
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", q))
    node = _Parser(_lex(text)).conjunction(0)
    if node is None:
        raise NothingToSearch("nothing to search for: the query has no word, only operators or punctuation")
    if len(leaves(node)) > MAX_CLAUSES:
        raise QueryTooComplex(f"a query may have at most {MAX_CLAUSES} words or phrases")
    return node
