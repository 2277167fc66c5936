"""Snippets: marking matched words in original text, choosing fragments, rendering them as HTML.

Backends wrap matches in U+E000…U+E001 (the documents strip both from indexed text; they are
printable, so no highlighter trims them at a fragment's edge as it may trim whitespace).
:func:`render` HTML-escapes everything and only then turns the markers into ``<mark>`` and
``</mark>``, so a title like ``<script>`` comes out inert.

The embedded index holds analysed tokens, not text, so :func:`fragments` marks the *original*
words here, with the analysis the index uses (:mod:`repo.search.analysis`): a word is marked when
its folded form or its stem (in the text's language) is one a positive term of the query asked
for, a phrase when all its words follow each other, a truncation when the folded word starts with
it. Long texts are not analysed word by word: a regular expression built from the first letters
of what the query can match (accent- and case-insensitive) finds the candidate words first.

:func:`distinct` keeps one best fragment per field and drops a passage already shown (a full
text that starts with the abstract would otherwise repeat it), for both backends.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from repo.search.analysis import LANGS, WORD, fold, fold_word, query_forms, stems
from repo.search.query import Term

START, END = "\ue000", "\ue001"
#: Characters around the matches in a fragment of a long field.
FRAGMENT = 200
#: Words in a row that make two passages "the same passage".
_SHINGLE = 8


_MARKERS = re.compile(f"([{START}{END}])")


def render(snippet: str) -> str:
    """Escape ``snippet`` and turn the markers into ``<mark>``/``</mark>`` (unbalanced ones dropped)."""
    out: list[str] = []
    open_ = False
    for part in _MARKERS.split(snippet):
        if part == START:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif part == END:
            if open_:
                out.append("</mark>")
                open_ = False
        elif part:
            out.append(html.escape(part, quote=False))
    if open_:
        out.append("</mark>")
    return "".join(out).replace("<mark></mark>", "")


def marked(snippet: str) -> bool:
    return START in snippet


def plain(snippet: str) -> str:
    return snippet.replace(START, "").replace(END, "")


# -- marking original words ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def _variants() -> dict[str, str]:
    """Folded letter → a regex class of every Latin letter that folds to it (both cases)."""
    classes: dict[str, set[str]] = {}
    for code in list(range(0x41, 0x5B)) + list(range(0x61, 0x7B)) + list(range(0xC0, 0x250)) + \
            list(range(0x1E00, 0x1F00)):
        char = chr(code)
        folded = fold(char)
        if len(folded) == 1 and folded.isascii() and folded.isalpha():
            classes.setdefault(folded, set()).add(char)
    return {k: "[" + "".join(sorted(v)) + "]" for k, v in classes.items()}


#: Letters of a word's folded start that find its candidates in a text (a stem keeps the word's
#: first letters: the stemmers change endings).
_PROBE = 4


@lru_cache(maxsize=1)
def _latin1_variants() -> dict[str, str]:
    """:func:`_variants` within Latin-1 (a tenth of the letters: ten times cheaper to compile)."""
    return {k: "[" + "".join(c for c in v[1:-1] if ord(c) < 0x100) + "]" for k, v in _variants().items()}


def _probe(prefix: str, variants: dict[str, str] | None = None) -> str:
    variants = _variants() if variants is None else variants
    return "".join(variants.get(c, re.escape(c)) for c in prefix)


def _candidates(long: Sequence[str], short: Sequence[str], variants: dict[str, str]) -> re.Pattern[str] | None:
    parts = [_probe(p, variants) + r"[^\W_]*" for p in long] + [_probe(p, variants) + r"(?![^\W_])" for p in short]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(parts) + ")") if parts else None


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class _Matcher:
    """What the positive terms of a query match in a text of one language."""

    def __init__(self, terms: Sequence[Term], lang: str) -> None:
        self.lang = lang
        self.terms: list[tuple[Term, list[tuple[str, str | None]]]] = []
        probes: set[str] = set()
        for term in terms:
            forms = []
            for word in term.words:
                folded, by_lang = query_forms(word)
                forms.append((folded, by_lang.get(lang) if lang in LANGS else None))
                for form in (folded, by_lang.get(lang) if lang in LANGS else None):
                    if form:
                        probes.add(form[:_PROBE])
            self.terms.append((term, forms))
        probes.discard("")
        self._stems: dict[str, str] = {}
        short = [p for p in probes if len(p) < 3]
        long = sorted(p for p in probes if len(p) >= 3)  # stems and truncations: any ending
        self._probes = (long, short)
        # Word starts worth a look: a probe with any letter that folds to its letters. Most texts
        # are Latin-1, and their regex is compiled from Latin-1 letters only (compiling every
        # variant of each letter cost ~1 ms a query); the full one only when a text needs it.
        self.candidates_latin1 = _candidates(long, short, _latin1_variants())
        self._candidates: re.Pattern[str] | None = None

    @property
    def candidates(self) -> re.Pattern[str] | None:
        """The candidates regex for any text."""
        if self._candidates is None:
            self._candidates = _candidates(*self._probes, _variants())
        return self._candidates

    def _stem(self, lowered: str) -> str | None:
        if self.lang not in LANGS:
            return None
        found = self._stems.get(lowered)
        if found is None:
            if len(self._stems) > 50_000:
                self._stems.clear()
            found = self._stems[lowered] = stems([lowered], self.lang)[0]
        return found

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every matched word or phrase in ``text``, in order, not overlapping."""
        if self.candidates_latin1 is None:
            return []
        candidates = self.candidates_latin1 if _latin1(text) else self.candidates
        if candidates is None:
            return []
        found: list[tuple[int, int]] = []
        for candidate in candidates.finditer(text):
            if found and candidate.start() < found[-1][1]:
                continue
            span = self._match_at(text, candidate.start())
            if span is not None:
                found.append(span)
        return found

    def _match_at(self, text: str, position: int) -> tuple[int, int] | None:
        best: tuple[int, int] | None = None
        words: list[tuple[int, int, str, str | None]] = []  # analysed words from ``position`` on
        for term, forms in self.terms:
            while len(words) < len(forms):
                match = WORD.search(text, words[-1][1] if words else position)
                if match is None:
                    break
                lowered = match.group().lower()
                words.append((match.start(), match.end(), fold_word(lowered), None))
            if len(words) < len(forms) or words[0][0] != position:
                continue
            if term.prefix:
                ok = words[0][2].startswith(forms[0][0])
            else:
                ok = all(w[2] == f for w, (f, _) in zip(words, forms)) or (
                    self.lang in LANGS and all(self._stem(text[w[0]:w[1]].lower()) == s
                                               for w, (_, s) in zip(words, forms)))
            if ok:
                end = words[len(forms) - 1][1]
                if best is None or end > best[1]:
                    best = (position, end)
        return best


def _mark(text: str, spans: Iterable[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    end = len(text) if end is None else end
    out, cursor = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out += [text[cursor:s], START, text[s:e], END]
        cursor = e
    out.append(text[cursor:end])
    return "".join(out)


@lru_cache(maxsize=256)
def _matcher(terms: tuple[Term, ...], lang: str) -> _Matcher:
    """The matcher of a query's terms in one language (a page of hits shares a few)."""
    return _Matcher(terms, lang)


def whole(text: str, lang: str, terms: Sequence[Term]) -> str | None:
    """``text`` with its matched words marked (short fields: titles); None without a match."""
    text = unicodedata.normalize("NFC", text)
    spans = _matcher(tuple(terms), lang).spans(text)
    return _mark(text, spans) if spans else None


def fragments(text: str, lang: str, terms: Sequence[Term], limit: int = 3) -> list[str]:
    """Up to ``limit`` fragments of ``text`` around its matches, best first (most distinct
    matched words, then earliest), not overlapping, matches marked."""
    text = unicodedata.normalize("NFC", text)
    spans = _matcher(tuple(terms), lang).spans(text)
    if not spans:
        return []
    scored: list[tuple[int, int, int, int]] = []  # (-distinct words, start, end of window, index)
    for i, (s, _) in enumerate(spans):
        window_end = s + FRAGMENT
        inside = [text[a:b].lower() for a, b in spans[i:] if b <= window_end]
        scored.append((-len({fold_word(w) for w in inside}), s, window_end, i))
    scored.sort()
    chosen: list[tuple[int, int]] = []
    for _, s, _, _ in scored:
        begin = max(0, s - FRAGMENT // 4)
        finish = min(len(text), begin + FRAGMENT)
        if any(begin < b and finish > a for a, b in chosen):
            continue
        chosen.append((begin, finish))
        if len(chosen) == limit:
            break
    return [_cut(text, spans, begin, finish) for begin, finish in chosen]


def _cut(text: str, spans: list[tuple[int, int]], begin: int, finish: int) -> str:
    """The fragment ``[begin, finish)`` widened to whole words, with ellipses where cut."""
    if begin > 0:
        space = text.rfind(" ", 0, begin + 1)
        begin = space + 1 if space >= 0 and begin - space < 20 else begin
    if finish < len(text):
        space = text.find(" ", finish)
        finish = space if space >= 0 and space - finish < 20 else finish
    body = _mark(text, spans, begin, finish).strip()
    return ("…" if begin > 0 else "") + body + ("…" if finish < len(text) else "")


# -- one passage once ---------------------------------------------------------------------------

def _shingles(text: str) -> set[tuple[str, ...]]:
    tokens = [fold_word(w.lower()) for w in WORD.findall(plain(text))]
    if len(tokens) < _SHINGLE:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i:i + _SHINGLE]) for i in range(len(tokens) - _SHINGLE + 1)}


def distinct(candidates: dict[str, list[str]], shown: Iterable[str] = ()) -> dict[str, list[str]]:
    """One fragment per field: the best ``title`` and ``abstract`` candidates, and the best
    ``fulltext`` candidate that repeats no passage (:data:`_SHINGLE` words in a row, case and
    accents aside) of ``shown`` — what the result line shows anyway: the title and the
    abstracts — or of the abstract fragment."""
    out: dict[str, list[str]] = {}
    seen: set[tuple[str, ...]] = set()
    compare = bool(candidates.get("fulltext"))  # passages matter only to drop a full-text one
    if compare:
        for text in shown:
            seen |= _shingles(text)
    for field in ("title", "abstract", "fulltext"):
        for fragment in candidates.get(field, []):
            if not marked(fragment):
                continue
            if compare:
                own = _shingles(fragment)
                if field == "fulltext" and own & seen:
                    continue  # a passage shown already
                seen |= own
            out[field] = [fragment]
            break
    return out
