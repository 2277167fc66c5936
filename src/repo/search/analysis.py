"""Text analysis: words, case and accent folding, Snowball stemming in es/pt/en/fr.

One definition serves both backends. The embedded index stores what :func:`analyse` returns, and
the OpenSearch mapping (``schemas/opensearch-works-v2.json``) declares the same chain with its own
filters, so a query matches the same works on both:

* words: runs of letters and digits (apostrophes, hyphens and punctuation separate words);
* folded form: lowercase, then accents and ligatures removed (``São`` → ``sao``, ``œuvre`` →
  ``oeuvre``) — OpenSearch's ``lowercase`` + ``asciifolding``;
* stem: the Snowball stemmer of the value's language applied to the lowercase word, then folded
  (``Educaciones`` → ``educ``, ``trabalhadores`` → ``trabalh``) — OpenSearch's ``lowercase``,
  ``stemmer`` (``spanish``, ``portuguese``, ``french``: Snowball; ``english``: Porter) and
  ``asciifolding``. Stemming the accented word and folding afterwards keeps the stemmer's
  suffix rules (``educación`` and ``educaciones`` share ``educ``); the folded form still lets
  ``educacion`` find ``educación``.

No stop words are removed: a query of only stop words (``the``, ``de la``) matches them literally.
Stemmers come from PyStemmer (the Snowball project's C implementations); one set per thread,
since a ``Stemmer`` object is not thread-safe.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer  # type: ignore[import-not-found]  # PyStemmer ships no type information

#: Analysed languages: analyser code → Snowball algorithm (English: Porter, as OpenSearch's
#: ``stemmer`` filter with ``language: english``).
ALGORITHMS = {"es": "spanish", "pt": "portuguese", "en": "porter", "fr": "french"}
LANGS = tuple(ALGORITHMS)
WORD = re.compile(r"[^\W_]+")
#: Letters NFKD does not decompose, folded as OpenSearch's asciifolding does.
_LIGATURES = str.maketrans({"ø": "o", "đ": "d", "ł": "l", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "ı": "i",
                            "ŀ": "l", "ħ": "h", "ŧ": "t", "ĸ": "q", "ŋ": "n"})
_CACHE_MAX = 200_000
_folded: dict[str, str] = {}
_local = threading.local()


def fold(text: str) -> str:
    """Case- and accent-insensitive form: ``São`` → ``sao``, ``Œuvre`` → ``oeuvre``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold_word(word: str) -> str:
    """:func:`fold` of one word, memoised (indexing folds millions of mostly repeated words)."""
    found = _folded.get(word)
    if found is None:
        if len(_folded) > _CACHE_MAX:
            _folded.clear()
        found = _folded[word] = fold(word)
    return found


def words(text: str) -> list[str]:
    """The words of ``text`` (letters and digits, original case)."""
    return WORD.findall(unicodedata.normalize("NFC", text))


def _stemmers() -> dict[str, Stemmer.Stemmer]:
    found: dict[str, Stemmer.Stemmer] | None = getattr(_local, "stemmers", None)
    if found is None:
        found = _local.stemmers = {lang: Stemmer.Stemmer(name) for lang, name in ALGORITHMS.items()}
    return found


def stems(lowered: list[str], lang: str) -> list[str]:
    """The folded stems of lowercase words in ``lang`` (one of :data:`LANGS`)."""
    return [fold_word(s) for s in _stemmers()[lang].stemWords(lowered)]


_pairs: dict[str, dict[str, tuple[str, str]]] = {}


def analyse(text: str, lang: str) -> tuple[list[str], list[str]]:
    """(folded words, stems) of ``text`` in analyser ``lang``; no stems for other languages.

    Memoised per word and language (a corpus repeats its words): one dictionary lookup per word.
    """
    found = words(text)
    cache = _pairs.get(lang)
    if cache is None or len(cache) > _CACHE_MAX:
        cache = _pairs[lang] = {}
    known = list(map(cache.get, found))
    if None in known:
        missing = list({w for w, pair in zip(found, known) if pair is None})
        lowered = [w.lower() for w in missing]
        stemmed = stems(lowered, lang) if lang in ALGORITHMS else lowered
        for word, low, stem in zip(missing, lowered, stemmed):
            cache[word] = (fold_word(low), stem)
    pairs = list(map(cache.__getitem__, found))
    folded = [p[0] for p in pairs]
    return folded, [p[1] for p in pairs] if lang in ALGORITHMS else []


def query_forms(word: str) -> tuple[str, dict[str, str]]:
    """A query word's folded form and its stem in every analysed language."""
    lowered = word.lower()
    return fold_word(lowered), {lang: stems([lowered], lang)[0] for lang in LANGS}
