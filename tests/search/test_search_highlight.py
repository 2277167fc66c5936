"""Marking the original words: the candidates regex of a Latin-1 text is compiled from Latin-1
letters only (cheaper); it must find exactly what the regex of every variant finds there, and
other texts still get every variant."""

from __future__ import annotations

from repo.search import highlight
from repo.search.analysis import LANGS
from repo.search.query import Term, parse, positive_leaves


def _terms(q: str) -> tuple[Term, ...]:
    return tuple(positive_leaves(parse(q)))


def test_latin1_regex_finds_what_every_variant_finds() -> None:
    letters = [chr(c) for c in range(0x20, 0x100) if chr(c).isprintable()]
    text = " ".join("".join(letters[i:i + 5]) for i in range(len(letters))) + \
        " Educação ÉDUCATION educación niño AÑOS Ångström çà oeuvre Übung straße políticas"
    assert highlight._latin1(text)
    checked = 0
    for q in ("educacao", "éducation", "EDUCACIÓN", "nino", "años", "angstrom", "ca", "oeuvre", "ubung",
              "strasse", "politica", "pol*", '"niño años"', "a OR e"):
        for lang in (*LANGS, "und"):
            matcher = highlight._Matcher(_terms(q), lang)
            assert matcher.candidates_latin1 is not None and matcher.candidates is not None
            latin1 = [(m.start(), m.end()) for m in matcher.candidates_latin1.finditer(text)]
            assert latin1 == [(m.start(), m.end()) for m in matcher.candidates.finditer(text)], (q, lang)
            checked += bool(latin1)
    assert checked > 40


def test_other_texts_get_every_variant() -> None:
    text = "Brașov și Educação"  # ș is not Latin-1
    assert not highlight._latin1(text)
    marked = highlight.whole(text, "pt", _terms("brasov educacao"))
    assert marked == f"{highlight.START}Brașov{highlight.END} și {highlight.START}Educação{highlight.END}"
    assert highlight.whole("Brasov e Educação", "pt", _terms("brașov")) == \
        f"{highlight.START}Brasov{highlight.END} e Educação"
