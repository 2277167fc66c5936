"""Formatted citations: APA (7th edition) and ABNT (NBR 6023:2018).

Each formatter returns safe HTML (``Markup``): every metadata value is escaped, and only the
emphasis the style asks for (italics in APA, bold in ABNT) is markup. Titles keep the
capitalisation the depositor gave (sentence case is the norm for Spanish and Portuguese).
"""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

from repo.web.record import Record
from repo.works.schemas import Pages, Person

ABNT_MONTHS = ["jan.", "fev.", "mar.", "abr.", "maio", "jun.", "jul.", "ago.", "set.", "out.", "nov.", "dez."]
THESIS_APA = {
    "doctoral_thesis": "Doctoral dissertation",
    "master_thesis": "Master's thesis",
    "bachelor_thesis": "Bachelor's thesis",
}
THESIS_ABNT = {
    "doctoral_thesis": "Tese (Doutorado)",
    "master_thesis": "Dissertação (Mestrado)",
    "bachelor_thesis": "Trabalho de Conclusão de Curso (Graduação)",
}


def _join(parts: list[Markup | str], sep: str = " ") -> Markup:
    return Markup(sep).join(escape(p) for p in parts if p)


def _end(text: str) -> str:
    """A sentence ends with one full stop (or the ``?``/``!`` it already has)."""
    return text if text.endswith((".", "?", "!")) else text + "."


def _pages(pages: Pages | None, sep: str = "–") -> str:
    if pages is None or not pages.start:
        return ""
    return f"{pages.start}{sep}{pages.end}" if pages.end else pages.start


def _initials(given: str | None) -> str:
    if not given:
        return ""
    parts = []
    for word in given.replace("-", " - ").split():
        parts.append("-" if word == "-" else word[0] + ".")
    return " ".join(parts).replace(" - ", "-")


# -- APA 7 --------------------------------------------------------------------------------------------


def _apa_name(person: Person) -> str:
    if person.family:
        initials = _initials(person.given)
        return f"{person.family}, {initials}" if initials else person.family
    return person.name or ""


def _apa_names(people: list[Person]) -> str:
    names = [_apa_name(p) for p in people]
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    if len(names) > 20:  # APA 7: the first 19, an ellipsis, the last
        return ", ".join(names[:19]) + ", . . . " + names[-1]
    return ", ".join(names[:-1]) + ", & " + names[-1]


def _apa_editors(people: list[Person]) -> str:
    names = [f"{_initials(p.given)} {p.family}".strip() if p.family else (p.name or "") for p in people]
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", & " + names[-1]
    return f"{joined} ({'Ed.' if len(names) == 1 else 'Eds.'})"


def apa(record: Record) -> Markup:
    m, work = record.metadata, record.work
    authors = _apa_names(record.authors) or _apa_names(record.contributors_with("editor"))
    year = f"({record.year or 'n.d.'})."
    head = _join([_end(authors) if authors else "", year])
    title = record.title
    link = record.cite_as
    publisher = m.publisher or ""
    if work.type == "journal_article" and m.journal:
        j = m.journal
        host = Markup("<i>{}</i>").format(j.title)
        if j.volume:
            host += Markup(", <i>{}</i>").format(j.volume)
        if j.issue:
            host += Markup("({})").format(j.issue)
        if _pages(j.pages):
            host += Markup(", {}").format(_pages(j.pages))
        return _join([head, _end(title), host + ".", link])
    if work.type == "book_part" and m.book:
        b = m.book
        editors = _apa_editors(b.editors)
        host = Markup("In {}").format(editors + ", " if editors else "") + Markup("<i>{}</i>").format(b.title)
        if _pages(b.pages):
            host += Markup(" (pp. {})").format(_pages(b.pages))
        return _join([head, _end(title), host + ".", _end(publisher) if publisher else "", link])
    emphasised = Markup("<i>{}</i>").format(title)
    if work.type in THESIS_APA:
        emphasised += Markup(" [{}, {}]").format(THESIS_APA[work.type], publisher or work.centre.name)
        return _join([head, emphasised + ".", link])
    if m.series:
        number = f" No. {m.series.number}" if m.series.number else ""
        emphasised += Markup(" ({}{})").format(m.series.title, number)
    return _join([head, emphasised + ".", _end(publisher) if publisher else "", link])


# -- ABNT NBR 6023:2018 ---------------------------------------------------------------------------------


def _abnt_name(person: Person) -> str:
    if person.family:
        return f"{person.family.upper()}, {person.given}" if person.given else person.family.upper()
    return (person.name or "").upper()


def _abnt_names(people: list[Person]) -> str:
    # NBR 6023:2018 8.1.1.2: with four or more authors, all may be given or the first followed by et al.
    names = [_abnt_name(p) for p in people]
    if len(names) > 3:
        return names[0] + " et al"
    return "; ".join(names)


def _abnt_accessed(record: Record) -> str:
    now = record.now or datetime.now()
    return f"Acesso em: {now.day} {ABNT_MONTHS[now.month - 1]} {now.year}"


def abnt(record: Record) -> Markup:
    m, work = record.metadata, record.work
    authors = _abnt_names(record.authors)
    year = str(record.year) if record.year else "[s.d.]"
    place = m.place or "[S. l.]"
    publisher = m.publisher or "[s. n.]"
    online = f"Disponível em: {record.cite_as}. {_abnt_accessed(record)}."
    head = _end(authors) if authors else ""
    if work.type == "journal_article" and m.journal:
        j = m.journal
        details = [f"v. {j.volume}" if j.volume else "", f"n. {j.issue}" if j.issue else "",
                   f"p. {_pages(j.pages, '-')}" if _pages(j.pages) else "", year]
        host = Markup("<b>{}</b>, {}.").format(j.title, ", ".join(d for d in details if d))
        return _join([head, _end(record.title), host, online])
    if work.type == "book_part" and m.book:
        b = m.book
        editors = _abnt_names(b.editors)
        host = Markup("In: {}<b>{}</b>.").format(f"{editors} (org.). " if editors else "", b.title)
        pages = f" p. {_pages(b.pages, '-')}." if _pages(b.pages) else ""
        return _join([head, _end(record.title), host, f"{place}: {publisher}, {year}.{pages}", online])
    title = Markup("<b>{}</b>.").format(record.title.rstrip("."))
    if work.type in THESIS_ABNT:
        institution = publisher if m.publisher else work.centre.name
        return _join([head, title, f"{year}.", f"{THESIS_ABNT[work.type]} – {institution}, {place}, {year}.", online])
    series = f"({m.series.title}{', ' + m.series.number if m.series.number else ''})." if m.series else ""
    return _join([head, title, f"{place}: {publisher}, {year}.", series, online])
