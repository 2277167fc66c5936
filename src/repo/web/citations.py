"""Formatted citations: APA (7th edition) and ABNT (NBR 6023:2018).

Each formatter returns safe HTML (``Markup``): every metadata value is escaped, and only the
emphasis the style asks for (italics in APA, bold in ABNT) is markup. Titles keep the
capitalisation the depositor gave (sentence case is the norm for Spanish and Portuguese).
"""

from __future__ import annotations

from datetime import date, datetime

from babel import dates as babel_dates
from markupsafe import Markup, escape

from repo.web.record import Record
from repo.works.schemas import Pages, Person

ABNT_MONTHS = ["jan.", "fev.", "mar.", "abr.", "maio", "jun.", "jul.", "ago.", "set.", "out.", "nov.", "dez."]
#: APA's fixed words in each interface language (APA 7 as its Spanish, Portuguese and French
#: editions say them): the citation follows the page's language, the metadata keep theirs.
APA_WORDS: dict[str, dict[str, str]] = {
    "en": {"n.d.": "n.d.", "In": "In", "Ed.": "Ed.", "Eds.": "Eds.", "pp.": "pp.", "No.": "No.",
           "doctoral_thesis": "Doctoral dissertation", "master_thesis": "Master's thesis",
           "bachelor_thesis": "Bachelor's thesis", "video": "Video", "sound": "Audio recording",
           "lecture": "Lecture", "conference_paper": "Paper presentation", "image": "Photograph"},
    "es": {"n.d.": "s.f.", "In": "En", "Ed.": "Ed.", "Eds.": "Eds.", "pp.": "pp.", "No.": "N.º",
           "doctoral_thesis": "Tesis doctoral", "master_thesis": "Tesis de maestría",
           "bachelor_thesis": "Tesis de licenciatura", "video": "Video", "sound": "Grabación de audio",
           "lecture": "Conferencia", "conference_paper": "Ponencia", "image": "Fotografía"},
    "pt": {"n.d.": "s.d.", "In": "In", "Ed.": "Org.", "Eds.": "Orgs.", "pp.": "pp.", "No.": "N.º",
           "doctoral_thesis": "Tese de doutorado", "master_thesis": "Dissertação de mestrado",
           "bachelor_thesis": "Trabalho de conclusão de curso", "video": "Vídeo", "sound": "Gravação de áudio",
           "lecture": "Palestra", "conference_paper": "Apresentação de trabalho", "image": "Fotografia"},
    "fr": {"n.d.": "s.d.", "In": "Dans", "Ed.": "Éd.", "Eds.": "Éds.", "pp.": "p.", "No.": "no",
           "doctoral_thesis": "Thèse de doctorat", "master_thesis": "Mémoire de master",
           "bachelor_thesis": "Mémoire de licence", "video": "Vidéo", "sound": "Enregistrement audio",
           "lecture": "Conférence", "conference_paper": "Communication", "image": "Photographie"},
}
THESES = ("doctoral_thesis", "master_thesis", "bachelor_thesis")
#: Types whose title APA follows with a description in brackets ([Video], [Photograph]…).
DESCRIBED = ("video", "sound", "lecture", "conference_paper", "image")
#: APA 7 gives these the full date of the recording or presentation: (2019, March 5).
DATED = ("lecture", "video", "sound", "conference_paper")
#: (month and day, month only) in each language, as Babel patterns.
APA_DATE_PATTERNS = {"en": ("MMMM d", "MMMM"), "es": ("d 'de' MMMM", "MMMM"), "pt": ("d 'de' MMMM", "MMMM"),
                     "fr": ("d MMMM", "MMMM")}
#: Lower-case name particles that stay whole among initials: "Maria da Glória" → "M. da G.".
PARTICLES = frozenset({"da", "das", "de", "del", "della", "des", "di", "do", "dos", "du", "e", "la", "le", "van",
                       "von", "y", "zu"})
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
    """APA initials: each given name as its initial (hyphenated names keep the hyphen), particles whole."""
    if not given:
        return ""
    parts = []
    for word in given.replace("-", " - ").split():
        parts.append("-" if word == "-" else word if word in PARTICLES else word[0] + ".")
    return " ".join(parts).replace(" - ", "-")


def _apa_date(record: Record, lang: str) -> str:
    """The year, and for recordings and presentations the month and day the metadata give."""
    stamp = record.metadata.publication_date
    if not stamp:
        return APA_WORDS[lang]["n.d."]
    parts = stamp.split("-")
    if record.work.type not in DATED or len(parts) == 1:
        return parts[0]
    full, month_only = APA_DATE_PATTERNS[lang]
    moment = date(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 1)
    return f"{parts[0]}, {babel_dates.format_date(moment, full if len(parts) > 2 else month_only, locale=lang)}"


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


def _apa_editors(people: list[Person], words: dict[str, str]) -> str:
    names = [f"{_initials(p.given)} {p.family}".strip() if p.family else (p.name or "") for p in people]
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", & " + names[-1]
    return f"{joined} ({words['Ed.'] if len(names) == 1 else words['Eds.']})"


def publisher_of(record: Record) -> str:
    """The publisher, else (for what a centre itself issues) the member centre."""
    if record.metadata.publisher:
        return record.metadata.publisher
    issued_by_centre = ("book", "working_paper", "report", *THESES, "lecture", "video", "sound", "image")
    return record.work.centre.name if record.work.type in issued_by_centre else ""


def conference_name(record: Record) -> str | None:
    """The event a conference paper or lecture was presented at, when the metadata say."""
    conference = getattr(record.metadata, "conference", None)  # the model's conference (issue #11)
    if conference is not None:
        return str(conference.name)
    if record.work.type == "conference_paper" and record.metadata.series:
        return record.metadata.series.title
    return None


def apa(record: Record, lang: str = "en") -> Markup:
    """APA 7 in the page's language ``lang`` (its fixed words; the metadata as deposited)."""
    words = APA_WORDS.get(lang, APA_WORDS["en"])
    m, work = record.metadata, record.work
    authors = _apa_names(record.authors) or _apa_names(record.contributors_with("editor"))
    head = _join([_end(authors) if authors else "", f"({_apa_date(record, lang)})."])
    title = record.title
    link = record.cite_as
    publisher = publisher_of(record)
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
        editors = _apa_editors(b.editors, words)
        host = Markup("{} {}").format(words["In"], editors + ", " if editors else "") + Markup("<i>{}</i>").format(b.title)
        if _pages(b.pages):
            host += Markup(" ({} {})").format(words["pp."], _pages(b.pages))
        return _join([head, _end(title), host + ".", _end(publisher) if publisher else "", link])
    emphasised = Markup("<i>{}</i>").format(title)
    if work.type in THESES:
        emphasised += Markup(" [{}, {}]").format(words[work.type], publisher or work.centre.name)
        return _join([head, emphasised + ".", link])
    if m.series and work.type != "conference_paper":
        number = f" {words['No.']} {m.series.number}" if m.series.number else ""
        emphasised += Markup(" ({}{})").format(m.series.title, number)
    if work.type in DESCRIBED:  # APA 7 §9.4: a description in brackets
        emphasised += Markup(" [{}]").format(words[work.type])
    source = conference_name(record) if work.type in ("conference_paper", "lecture") else None
    where = ", ".join(p for p in (source, m.place if source else None) if p)
    return _join([head, emphasised + ".", _end(where) if where else "", _end(publisher) if publisher and not source else "",
                  link])


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
