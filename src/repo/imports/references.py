"""BibTeX and RIS, as reference managers (Zotero, JabRef, Mendeley, EndNote) export them, mapped to
deposit records (:class:`~repo.ingest.mapping.common.Draft`).

Parsing is the libraries' — bibtexparser 2 (``@string`` macros, LaTeX accents decoded, names split
into parts, the line where each entry starts, entries it cannot read kept as failed blocks) and
rispy — and the value rules are the harvest mapping's (:mod:`repo.ingest.mapping.common`: dates,
languages, identifiers, page ranges, plain text). Only the field tables are here. A value with no
place in the deposit record (``urldate``, ``copyright``, ``AN``…) is kept in the work's
``source.unmapped`` with why, never silently dropped.

Both return, per record, ``(key, draft, files)`` — the record's own id (the citation key, RIS
``ID``), the draft, and the paths of attached files (BibTeX ``file``, RIS ``L1``) — or a string
saying why the record cannot be read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from repo.ingest.mapping import common
from repo.ingest.mapping.common import Draft
from repo.works.vocabularies import WorkType

Parsed = tuple[str | None, Draft, list[str]] | str

# -- BibTeX ---------------------------------------------------------------------------------------------

BIBTEX_TYPES: dict[str, WorkType] = {
    "article": WorkType.journal_article, "book": WorkType.book, "booklet": WorkType.book, "mvbook": WorkType.book,
    "inbook": WorkType.book_part, "incollection": WorkType.book_part, "bookinbook": WorkType.book_part,
    "inproceedings": WorkType.conference_paper, "conference": WorkType.conference_paper,
    "phdthesis": WorkType.doctoral_thesis, "mastersthesis": WorkType.master_thesis, "thesis": WorkType.doctoral_thesis,
    "techreport": WorkType.report, "report": WorkType.report, "unpublished": WorkType.working_paper,
    "audio": WorkType.sound, "video": WorkType.video, "movie": WorkType.video, "artwork": WorkType.image,
    "image": WorkType.image, "misc": WorkType.other, "online": WorkType.other, "www": WorkType.other,
    "manual": WorkType.other, "proceedings": WorkType.book, "review": WorkType.review,
}
_IN_BOOK = (WorkType.book_part, WorkType.conference_paper)
# Fields read elsewhere, or that say nothing about the work (a reference manager's own bookkeeping).
_BIBTEX_IGNORED = {"month", "day", "year", "date", "journaltitle", "langid", "urldate", "timestamp", "owner",
                   "file", "abstract", "keywords", "subtitle", "type"}


def bibtex_entries(text: str) -> Iterator[tuple[int, Parsed]]:
    """``(line, parsed)`` for every entry and every block that fails, in the file's order (lines
    count from 1)."""
    import bibtexparser
    from bibtexparser import middlewares as m
    from bibtexparser.model import Entry, ParsingFailedBlock

    # names are split before LaTeX is decoded, so that a name in braces ({Colectivo Sur}) is seen as
    # one name (an organisation); their parts are decoded in _names
    library = bibtexparser.parse_string(text, append_middleware=[
        m.SeparateCoAuthors(), m.SplitNameParts(), m.LatexDecodingMiddleware()])
    for block in library.blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, ParsingFailedBlock):
            reason = getattr(block.error, "abort_reason", None) or str(block.error) or "unreadable"
            yield line, f"the entry cannot be read as BibTeX: {reason}"[:1000]
        elif isinstance(block, Entry):
            yield line, _bibtex_entry(block)


def _value(entry: Any, key: str) -> str | None:
    field = entry.fields_dict.get(key)
    if field is None or isinstance(field.value, list):
        return None
    text, _ = common.plain(str(field.value))
    return text or None


def _latex(words: list[str]) -> str:
    from pylatexenc.latex2text import LatexNodes2Text  # bibtexparser's own decoder

    return LatexNodes2Text().latex_to_text(" ".join(words)).strip() if words else ""


def _names(value: Any) -> list[dict[str, str]]:
    people: list[dict[str, str]] = []
    for parts in value if isinstance(value, list) else []:
        if not parts.first and not parts.von and len(parts.last) == 1 and parts.last[0].startswith("{") \
                and parts.last[0].endswith("}"):
            if name := _latex(parts.last):
                people.append({"name": name})  # {Colectivo Sur}: a name with no parts
            continue
        family = _latex(parts.von + parts.last)
        given = _latex(parts.first)
        if family:
            person = {"family": family}
            if given:
                person["given"] = given
            if parts.jr:
                person["family"] += ", " + _latex(parts.jr)
            people.append(person)
    return people


def _bibtex_entry(entry: Any) -> Parsed:
    draft = Draft()
    kind = entry.entry_type.lower()
    found = BIBTEX_TYPES.get(kind)
    if found is None:
        draft.unmapped("type", kind, "not a BibTeX type this repository knows: the work is 'other'")
        found = WorkType.other
    if kind == "thesis" and (_value(entry, "type") or "").lower().startswith(("master", "ma ", "msc")):
        found = WorkType.master_thesis
    draft.type = found
    lang = common.language(_value(entry, "langid") or _value(entry, "language") or "") or None
    if lang:
        draft.metadata["languages"] = [lang]
    title = _value(entry, "title")
    if title:
        draft.append("titles", {"value": title, **({"lang": lang} if lang else {})})
    if subtitle := _value(entry, "subtitle"):
        draft.append("titles", {"value": subtitle, "type": "subtitle"})
    if abstract := _value(entry, "abstract"):
        draft.append("abstracts", {"value": abstract, **({"lang": lang} if lang else {})})
    for person in _names(entry.fields_dict["author"].value if "author" in entry.fields_dict else None):
        draft.append("creators", person)
    editors = _names(entry.fields_dict["editor"].value if "editor" in entry.fields_dict else None)
    _date(draft, _value(entry, "date") or _value(entry, "year"), _value(entry, "month"), _value(entry, "day"))
    pages = common.pages((_value(entry, "pages") or "").replace("–", "-").replace("—", "-"))
    journal = _value(entry, "journal") or _value(entry, "journaltitle")
    if journal:
        draft.metadata["journal"] = {k: v for k, v in {
            "title": journal, "volume": _value(entry, "volume"), "issue": _value(entry, "number") or _value(entry, "issue"),
            "issn": _value(entry, "issn"), "pages": pages}.items() if v}
    elif (booktitle := _value(entry, "booktitle")) and found in _IN_BOOK:
        draft.metadata["book"] = {k: v for k, v in {
            "title": booktitle, "editors": [{**e, "role": "editor"} for e in editors], "pages": pages}.items() if v}
        editors = []
    elif pages and found in (WorkType.book, WorkType.report) and (pages.get("end") is None) and pages.get("start", "").isdigit():
        draft.metadata["extent"] = {"pages": int(pages["start"])}
    for editor in editors:
        draft.append("contributors", {**editor, "role": "editor"})
    publisher = _value(entry, "publisher") or _value(entry, "school") or _value(entry, "institution") \
        or _value(entry, "organization")
    if publisher:
        draft.metadata["publisher"] = publisher
    if place := _value(entry, "address") or _value(entry, "location"):
        draft.metadata["place"] = place
    if series := _value(entry, "series"):
        draft.metadata["series"] = {"title": series}
        if not journal and (number := _value(entry, "number")):
            draft.metadata["series"]["number"] = number
    for isbn in re.split(r"[,;\s]+(?=\d|X)", _value(entry, "isbn") or ""):
        if isbn.strip():
            draft.append("isbn", isbn.strip())
    for key in ("doi", "url", "note", "keywords", "issn"):
        _identifiers_and_notes(draft, key, _value(entry, key), journal is not None)
    if (version := _value(entry, "pubstate")) and version.lower() == "prepublished":
        draft.type = WorkType.preprint
    for key, field in entry.fields_dict.items():
        if key.lower() in _BIBTEX_KNOWN or key.lower() in _BIBTEX_IGNORED:
            continue
        draft.unmapped(key.lower(), str(field.value)[:1000], "a BibTeX field with no place in the deposit record")
    files = _bibtex_files(_value(entry, "file"))
    return entry.key, draft, files


_BIBTEX_KNOWN = {"title", "author", "editor", "journal", "volume", "number", "issue", "pages", "booktitle", "publisher",
                 "school", "institution", "organization", "address", "location", "series", "isbn", "doi", "url",
                 "note", "issn", "language", "pubstate"}


def _identifiers_and_notes(draft: Draft, key: str, value: str | None, in_journal: bool) -> None:
    if not value:
        return
    if key == "doi":
        draft.metadata["doi"] = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", value, flags=re.I)
    elif key == "url":
        draft.append("urls", value)
    elif key == "note":
        draft.metadata["notes"] = value
    elif key == "keywords":
        for word in re.split(r"[;,]", value):
            if word.strip():
                draft.append("subjects", {"value": word.strip()})
    elif key == "issn" and not in_journal:
        draft.unmapped("issn", value, "an ISSN of a work outside a journal")


def _bibtex_files(value: str | None) -> list[str]:
    """Zotero's ``Description:path:type;…`` and JabRef's ``:path:PDF`` (``\\:`` a literal colon)."""
    found = []
    for item in re.split(r"(?<!\\);", value or ""):
        parts = re.split(r"(?<!\\):", item)
        path = parts[1] if len(parts) >= 3 else parts[0]
        path = path.replace("\\:", ":").replace("\\;", ";").strip()
        if path:
            found.append(path)
    return found


# -- RIS ------------------------------------------------------------------------------------------------

RIS_TYPES: dict[str, WorkType] = {
    "JOUR": WorkType.journal_article, "EJOUR": WorkType.journal_article, "MGZN": WorkType.journal_article,
    "NEWS": WorkType.journal_article, "BOOK": WorkType.book, "EBOOK": WorkType.book, "EDBOOK": WorkType.book,
    "CHAP": WorkType.book_part, "ECHAP": WorkType.book_part, "CONF": WorkType.conference_paper,
    "CPAPER": WorkType.conference_paper, "THES": WorkType.doctoral_thesis, "RPRT": WorkType.report,
    "UNPB": WorkType.working_paper, "MANSCPT": WorkType.working_paper, "SOUND": WorkType.sound,
    "VIDEO": WorkType.video, "MPCT": WorkType.video, "ART": WorkType.image, "GEN": WorkType.other,
    "ELEC": WorkType.other, "WEB": WorkType.other, "SLIDE": WorkType.lecture,
}
_END = re.compile(r"^ER {2}-")
_RIS_READ = {"type_of_reference", "title", "primary_title", "authors", "first_authors", "secondary_authors",
             "year", "publication_year", "date", "secondary_title", "tertiary_title", "journal_name",
             "alternate_title1", "alternate_title2", "alternate_title3", "volume", "number", "start_page",
             "end_page", "issn", "doi", "urls", "keywords", "language", "abstract", "notes_abstract", "publisher",
             "place_published", "notes", "file_attachments1", "id", "type_of_work", "end_of_reference",
             "access_date", "name_of_database", "database_provider"}


def ris_ends_record(line: str) -> bool:
    return bool(_END.match(line))


def ris_record(text: str) -> Parsed:
    import rispy

    try:
        found = rispy.loads(text, list_tags=[*rispy.LIST_TYPE_TAGS, "L1", "A2", "SN"])
    except Exception as exc:  # rispy raises plain IOError/ValueError/KeyError on what it cannot read
        return f"the record cannot be read as RIS: {exc}"[:1000]
    if len(found) != 1:
        return "the record cannot be read as RIS: no TY  - line starts it"
    return _ris_entry(found[0])


def _one(entry: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value:
            text, _ = common.plain(str(value))
            if text:
                return text
    return None


def _ris_entry(entry: dict[str, Any]) -> Parsed:
    draft = Draft()
    kind = str(entry.get("type_of_reference", "")).upper()
    found = RIS_TYPES.get(kind)
    if found is None:
        draft.unmapped("TY", kind, "not a RIS type this repository knows: the work is 'other'")
        found = WorkType.other
    if found == WorkType.doctoral_thesis and (_one(entry, "type_of_work") or "").lower().startswith(("master", "ma", "msc")):
        found = WorkType.master_thesis
    draft.type = found
    lang = common.language(_one(entry, "language") or "") or None
    if lang:
        draft.metadata["languages"] = [lang]
    if title := _one(entry, "title", "primary_title"):
        draft.append("titles", {"value": title, **({"lang": lang} if lang else {})})
    if abstract := _one(entry, "abstract", "notes_abstract"):
        draft.append("abstracts", {"value": abstract, **({"lang": lang} if lang else {})})
    for name in entry.get("authors") or entry.get("first_authors") or []:
        if person := common.person(name):
            draft.append("creators", person)
    editors = [{**p, "role": "editor"} for n in entry.get("secondary_authors") or [] if (p := common.person(n))]
    date = _one(entry, "date", "year", "publication_year") or ""
    parts = [p for p in date.split("/") if p.strip()]
    _date(draft, parts[0] if parts else None, parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None)
    pages = {k: v for k, v in (("start", _one(entry, "start_page")), ("end", _one(entry, "end_page"))) if v} or None
    host = _one(entry, "secondary_title")
    identifiers = [_isbn_or_issn(v) for v in entry.get("issn") or []]  # SN: an ISBN or an ISSN
    issn = next((v for s, v in (i for i in identifiers if i) if s == "issn"), None)
    if found == WorkType.journal_article:
        journal = host or _one(entry, "journal_name", "alternate_title1", "alternate_title2", "alternate_title3")
        if journal:
            draft.metadata["journal"] = {k: v for k, v in {
                "title": journal, "volume": _one(entry, "volume"), "issue": _one(entry, "number"), "issn": issn,
                "pages": pages}.items() if v}
    elif found in _IN_BOOK and host:
        draft.metadata["book"] = {k: v for k, v in {"title": host, "editors": editors, "pages": pages}.items() if v}
        editors = []
    elif host:
        draft.metadata["series"] = {"title": host}
    if series := _one(entry, "tertiary_title"):
        draft.metadata["series"] = {"title": series}
    for editor in editors:
        draft.append("contributors", editor)
    for scheme, value in (i for i in identifiers if i):
        if scheme == "isbn":
            draft.append("isbn", value)
    if publisher := _one(entry, "publisher"):
        draft.metadata["publisher"] = publisher
    if place := _one(entry, "place_published"):
        draft.metadata["place"] = place
    if doi := _one(entry, "doi"):
        draft.metadata["doi"] = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", doi, flags=re.I)
    for url in entry.get("urls") or []:
        draft.append("urls", url)
    for word in entry.get("keywords") or []:
        if word.strip():
            draft.append("subjects", {"value": word.strip()})
    if notes := entry.get("notes"):
        draft.metadata["notes"] = "\n".join(common.plain(n)[0] for n in notes)
    for key, value in entry.items():
        if key not in _RIS_READ:
            draft.unmapped(key, str(value)[:1000], "a RIS tag with no place in the deposit record")
    files = [re.sub(r"^(?:file|internal-pdf)://", "", f).strip() for f in entry.get("file_attachments1") or []]
    return _one(entry, "id"), draft, [f for f in files if f]


def _isbn_or_issn(value: str) -> tuple[str, str] | None:
    for scheme in ("issn", "isbn"):
        if found := common.canonical(scheme, value.strip()):
            return scheme, found
    return None


# -- shared ---------------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), 1)}


def _date(draft: Draft, year: str | None, month: str | None, day: str | None) -> None:
    """The publication date from a year (or a full date), a month (number or name) and a day."""
    if not year:
        return
    text = year.strip()
    if re.fullmatch(r"\d{4}", text) and month:
        number = int(month) if month.strip().isdigit() else _MONTHS.get(month.strip().lower()[:3])
        if number:
            text += f"-{number:02d}"
            if day and day.strip().isdigit():
                text += f"-{int(day):02d}"
    date = common.partial_date(text)
    if date is None:
        draft.unmapped("date", year, "not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    else:
        draft.metadata["publication_date"] = date
