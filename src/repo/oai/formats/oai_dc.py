"""``oai_dc``: unqualified Dublin Core following the DRIVER 2.0 / OpenAIRE Literature 3 profile
that LA Referencia, BASE and OpenAIRE read (OAI-PMH.md §2.2–2.3).

* ``dc:title`` and ``dc:description`` carry ``xml:lang`` (BCP 47: ISO 639-1 when one exists);
* the first ``dc:type`` is the ``info:eu-repo/semantics/*`` type, then exactly one version term:
  the depositor's version, else the repository's default (LA Referencia's rule; see
  :func:`repo.works.vocabularies.driver_version`);
* ``dc:rights``: the ``info:eu-repo/semantics/*Access`` term of the access right *as it is now*
  (an ended embargo reads as open), then the licence URI;
* ``dc:date``: the publication date, and ``info:eu-repo/date/embargoEnd/YYYY-MM-DD`` while an
  embargo lasts;
* ``dc:identifier``: the landing page first, then DOI/handle/URL resolvers, then links to files
  only when they are open now;
* ``dc:relation``: ``info:eu-repo/semantics/altIdentifier/{doi,isbn,issn,eissn,handle}/…``,
  ``info:eu-repo/grantAgreement/…`` for funded work, the series;
* ``dc:language``: ISO 639-3; ``dc:source``: the journal (or host book) citation.

Stored metadata is read defensively (a document written outside the API may have odd shapes)
and every string passes :func:`repo.oai.envelope.text`, so no stored value breaks the XML.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from lxml import etree

from repo.oai.envelope import _XML_ILLEGAL, XML_NS, XSI_NS
from repo.oai.formats.base import MetadataFormat
from repo.oai.formats.common import bcp47 as xml_lang
from repo.oai.formats.common import dicts as _dicts
from repo.oai.formats.common import open_files
from repo.oai.formats.common import strings as _strings
from repo.oai.records import Disseminated, RenderContext
from repo.works.vocabularies import (
    ACCESS_RIGHTS,
    EU_REPO,
    WORK_TYPES,
    AccessRight,
    country_name,
    driver_version,
)

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
NSMAP = {"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
ROOT = f"{{{OAI_DC_NS}}}dc"
SCHEMA_LOCATION = {f"{{{XSI_NS}}}schemaLocation": f"{OAI_DC_NS} {OAI_DC_SCHEMA}"}
LANG = f"{{{XML_NS}}}lang"
(TITLE, CREATOR, SUBJECT, DESCRIPTION, PUBLISHER, CONTRIBUTOR, DATE, TYPE, FORMAT, IDENTIFIER, SOURCE,
 LANGUAGE, RELATION, COVERAGE, RIGHTS) = (f"{{{DC_NS}}}{name}" for name in (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights"))
_DRIVER_TYPES = {str(key): info.driver_uri for key, info in WORK_TYPES.items()}
_ACCESS_TERMS = {str(key): info.driver_uri for key, info in ACCESS_RIGHTS.items()}


def _str(value: Any) -> str | None:
    return value if value.__class__ is str and value.strip() else None


def _person(person: dict[str, Any]) -> str | None:
    family, given, name = _str(person.get("family")), _str(person.get("given")), _str(person.get("name"))
    if family:
        return f"{family}, {given}" if given else family
    return name


def _pages(host: dict[str, Any]) -> str | None:
    pages = host.get("pages")
    if not isinstance(pages, dict):
        return None
    start, end = _str(pages.get("start")), _str(pages.get("end"))
    if start and end:
        return f"{start}-{end}"
    return start or end


def journal_citation(journal: dict[str, Any], year: str | None) -> str | None:
    """``Title; Vol. 18, No. 2 (2022): 45-71`` (the DRIVER ``dc:source`` citation)."""
    title = _str(journal.get("title"))
    if not title:
        return None
    parts = [f"Vol. {v}" for v in [_str(journal.get("volume"))] if v]
    parts += [f"No. {i}" for i in [_str(journal.get("issue"))] if i]
    citation = title + ("; " + ", ".join(parts) if parts else "")
    if year:
        citation += f" ({year})"
    if pages := _pages(journal):
        citation += f": {pages}"
    for key, label in (("issn", "ISSN"), ("eissn", "eISSN")):
        if issn := _str(journal.get(key)):
            citation += f"; {label} {issn}"
    return citation


def crosswalk(work: Disseminated, context: RenderContext) -> etree._Element:
    doc = work.doc
    root = etree.Element(ROOT, SCHEMA_LOCATION, nsmap=NSMAP)
    sub = etree.SubElement
    clean = _XML_ILLEGAL.sub
    dirty = not work.clean  # most documents need no cleaning: records.load scanned their JSON text

    def add(tag: str, value: Any, lang: Any = None) -> None:
        # The hot path of a harvest (about 15 calls per record): kept to the bare minimum.
        if value.__class__ is not str:
            return
        if dirty:
            value = clean("", value)
        if not (value := value.strip()):
            return
        element = sub(root, tag)
        element.text = value
        if lang.__class__ is str and (code := xml_lang(lang)):
            element.set(LANG, code)

    titles = _dicts(doc, "titles")
    if len(titles) > 1:
        titles.sort(key=lambda t: t.get("type") != "main")  # the main title first
    for title in titles:
        add(TITLE, title.get("value"), title.get("lang"))
    for person in _dicts(doc, "creators"):
        add(CREATOR, _person(person))
    for subject in _dicts(doc, "subjects"):
        add(SUBJECT, subject.get("value"), subject.get("lang"))
    for abstract in _dicts(doc, "abstracts"):
        add(DESCRIPTION, abstract.get("value"), abstract.get("lang"))
    add(PUBLISHER, doc.get("publisher"))
    for person in _dicts(doc, "contributors"):
        add(CONTRIBUTOR, _person(person))
    publication_date = _str(doc.get("publication_date"))
    add(DATE, publication_date)
    access = context.effective_access(work)
    if access == AccessRight.embargoed and work.embargo_end is not None:
        add(DATE, f"info:eu-repo/date/embargoEnd/{work.embargo_end.isoformat()}")

    kind = _DRIVER_TYPES.get(work.type)  # type: ignore[arg-type]
    add(TYPE, kind or EU_REPO + "other")
    add(TYPE, driver_version(work.type, doc.get("version")))  # LA Referencia: exactly one

    readable, _ = open_files(work, context)  # the main file first
    for media_type in dict.fromkeys(f.media_type for f in readable):
        add(FORMAT, media_type)

    add(IDENTIFIER, context.landing_page(work))
    doi = _str(doc.get("doi"))
    handle = _str(doc.get("handle"))
    if doi:
        add(IDENTIFIER, f"https://doi.org/{doi}")
    if handle:
        add(IDENTIFIER, f"https://hdl.handle.net/{handle}")
    for url in _strings(doc.get("urls")):
        add(IDENTIFIER, url)
    for file in readable:
        add(IDENTIFIER, context.file_url(work, file))

    journal = doc.get("journal") if isinstance(doc.get("journal"), dict) else None
    book = doc.get("book") if isinstance(doc.get("book"), dict) else None
    if journal:
        add(SOURCE, journal_citation(journal, publication_date[:4] if publication_date else None))
    elif book and (book_title := _str(book.get("title"))):
        pages = _pages(book)
        add(SOURCE, f"{book_title}: {pages}" if pages else book_title)

    for language in _strings(doc.get("languages")):
        add(LANGUAGE, language)

    if doi:
        add(RELATION, f"{EU_REPO}altIdentifier/doi/{doi}")
    if handle:
        add(RELATION, f"{EU_REPO}altIdentifier/handle/{handle}")
    for isbn in _strings(doc.get("isbn")):
        add(RELATION, f"{EU_REPO}altIdentifier/isbn/{isbn}")
    if book and (book_isbn := _str(book.get("isbn"))):
        add(RELATION, f"{EU_REPO}altIdentifier/isbn/{book_isbn}")
    if journal:
        for key in ("issn", "eissn"):
            if issn := _str(journal.get(key)):
                add(RELATION, f"{EU_REPO}altIdentifier/{key}/{issn}")
    for funding in _dicts(doc, "funding"):
        funder, award = _str(funding.get("funder")), _str(funding.get("award_number"))
        if funder and award:
            add(RELATION, f"info:eu-repo/grantAgreement/{quote(funder)}//{quote(award, safe='')}")
    series = doc.get("series")
    if isinstance(series, dict) and (series_title := _str(series.get("title"))):
        number = _str(series.get("number"))
        add(RELATION, f"{series_title}; {number}" if number else series_title)

    for code in _strings(doc.get("countries")):
        add(COVERAGE, country_name(code) if len(code) == 2 and code.isalpha() else code)

    add(RIGHTS, _ACCESS_TERMS.get(access, EU_REPO + "closedAccess"))  # type: ignore[arg-type]
    add(RIGHTS, doc.get("license"))
    return root


OAI_DC = MetadataFormat(prefix="oai_dc", namespace=OAI_DC_NS, schema=OAI_DC_SCHEMA, crosswalk=crosswalk,
                        label="Dublin Core", media_type="application/xml")
