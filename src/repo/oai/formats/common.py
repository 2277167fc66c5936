"""What the crosswalks share: defensive reading of the stored document, text XML can carry,
language codes, dates, names, licences, and which of a work's files is its main file.

The metadata document is read as stored, not re-validated: a document written outside the API
(an import, a hand edit, an older schema) may have any shape, and a record must still come out
valid. So every reader here checks types and returns ``None`` or an empty list for what is not
there, and every string that goes into an element or attribute passes a :class:`Text` cleaner,
which removes what XML 1.0 cannot carry (the fast path when the record is known clean).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pycountry
from lxml import etree

from repo.oai.envelope import _XML_ILLEGAL
from repo.oai.records import Disseminated, FileView, RenderContext
from repo.works.vocabularies import (
    ACCESS_RIGHTS,
    WORK_TYPES,
    AccessRight,
    AccessRightInfo,
    IdentifierType,
    RelationType,
    WorkType,
    WorkTypeInfo,
    licence_label,
)

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_LANG = f"{{{XML_NS}}}lang"
SCHEMA_LOCATION = f"{{{XSI_NS}}}schemaLocation"
ORCID_URI = "https://orcid.org/"
ROR_URI = "https://ror.org/"

_EMPTY: list[Any] = []

Clean = Callable[[Any], "str | None"]


def _plain(value: Any) -> str | None:
    if value.__class__ is str and (value := value.strip()):
        return value
    return None


def _scrubbed(value: Any) -> str | None:
    if value.__class__ is str and (value := _XML_ILLEGAL.sub("", value).strip()):
        return value
    return None


def cleaner(work: Disseminated) -> Clean:
    """``text(value)``: ``value`` as text XML can carry, stripped, or ``None`` (not a string, or
    nothing left). Records whose JSON was scanned clean skip the scrubbing."""
    return _plain if work.clean else _scrubbed


# -- reading the stored document ------------------------------------------------------------------


def dicts(doc: Any, key: str) -> list[dict[str, Any]]:
    """The objects of the list ``doc[key]`` (anything else in it is ignored)."""
    value = doc.get(key) if doc.__class__ is dict else None
    if value.__class__ is not list or not value:
        return _EMPTY
    return [item for item in value if item.__class__ is dict]


def strings(value: Any) -> list[str]:
    if value.__class__ is not list or not value:
        return _EMPTY
    return [item for item in value if item.__class__ is str]


def key(value: Any) -> str | None:
    """``value`` when it is a string (safe to look up in a dict or set: stored values may be lists)."""
    return value if value.__class__ is str else None


def obj(doc: Any, key: str) -> dict[str, Any] | None:
    """The object ``doc[key]``, or ``None``."""
    value = doc.get(key) if doc.__class__ is dict else None
    return value if value.__class__ is dict else None


def titles(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Titles, the main one first (the first one when none is marked main)."""
    found = dicts(doc, "titles")
    if len(found) > 1:
        found = sorted(found, key=lambda t: t.get("type", "main") != "main")
    return found


def pages(host: dict[str, Any] | None, text: Clean) -> tuple[str | None, str | None]:
    """(first page, last page) of a host journal or book."""
    found = obj(host, "pages") if host else None
    if found is None:
        return None, None
    return text(found.get("start")), text(found.get("end"))


# -- URIs, dates, languages -----------------------------------------------------------------------

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]+")


def uri(value: Any) -> str | None:
    """``value`` if it is an absolute URI without spaces or control characters (safe in
    ``xs:anyURI`` attributes and in any XML), else ``None``."""
    return value if value.__class__ is str and _URI.fullmatch(value) else None


_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?")


def partial_date(value: Any) -> str | None:
    """A ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` date (W3CDTF), or ``None``."""
    return value if value.__class__ is str and _PARTIAL_DATE.fullmatch(value) else None


def date_parts(value: str | None) -> tuple[str | None, str | None, str | None]:
    """(year, month, day) of a partial date."""
    match = _PARTIAL_DATE.fullmatch(value) if value else None
    return (match[1], match[2], match[3]) if match else (None, None, None)


def iso_date(value: Any) -> str | None:
    """A ``YYYY-MM-DD`` string of a date or datetime."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, date) else None


_BCP47 = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")


@lru_cache(maxsize=1024)
def bcp47(code: str) -> str | None:
    """The ``xml:lang`` of an ISO 639-3 code: its ISO 639-1 twin when there is one (BCP 47
    prefers the shortest tag), else the code itself; ``None`` when it is not a language tag."""
    if not _BCP47.fullmatch(code):
        return None
    found = pycountry.languages.get(alpha_3=code.lower()) if len(code) == 3 else None
    return getattr(found, "alpha_2", None) or code


def lang(value: Any) -> str | None:
    return bcp47(value) if value.__class__ is str else None


@lru_cache(maxsize=1024)
def iso639_3(code: str) -> str | None:
    """The ISO 639-3 code (``dc:language``) of a stored code, or ``None`` when it is not one."""
    if len(code) != 3 or not code.isalpha():
        return None
    found = pycountry.languages.get(alpha_3=code.lower())
    return str(found.alpha_3) if found else None


@lru_cache(maxsize=1024)
def marc_language(code: str) -> str | None:
    """The MARC language code (ISO 639-2/B, e.g. ``fre`` for French) of an ISO 639-3 code, or
    ``None`` when ISO 639-2 has none (callers then give the ISO 639-3 code with its source)."""
    if len(code) != 3 or not code.isalpha():
        return None
    found = pycountry.languages.get(alpha_3=code.lower())
    if found is None:
        return None
    if bibliographic := getattr(found, "bibliographic", None):
        return str(bibliographic)
    # ISO 639-2 holds every language with an ISO 639-1 code and the special codes (zxx, und,
    # mul); of the rest, only those listed here (the Andean and Amazonian languages among them).
    if hasattr(found, "alpha_2") or getattr(found, "scope", "") == "S" or found.alpha_3 in _ISO639_2_ONLY:
        return str(found.alpha_3)
    return None


_ISO639_2_ONLY = frozenset({"arn", "chr", "haw", "mus", "myn", "nah", "zap", "car", "tup", "sai"})


def country_name(code: Any) -> str | None:
    """The English short name of an ISO 3166-1 alpha-2 code, or ``None``."""
    return _country_name(code) if code.__class__ is str and len(code) == 2 else None


@lru_cache(maxsize=512)
def _country_name(code: str) -> str | None:
    if not code.isalpha():
        return None
    found = pycountry.countries.get(alpha_2=code.upper())
    return str(found.name) if found else None


# -- people ---------------------------------------------------------------------------------------


def name_parts(person: dict[str, Any], text: Clean) -> tuple[str | None, str | None, str | None]:
    """(family, given, name): a person has a family name, an organisation only a name.

    Family names are kept as the depositor wrote them, particles and compound surnames included
    ("de la Fuente", "García Pérez", "Fals Borda"): no crosswalk ever splits or reorders them.
    """
    family, name = text(person.get("family")), text(person.get("name"))
    given = text(person.get("given")) if family else None
    return family, given, (None if family else name)


def inverted(family: str | None, given: str | None, name: str | None) -> str | None:
    """``Family, Given`` (the inverted form every format's name field expects), or the name."""
    if family:
        return f"{family}, {given}" if given else family
    return name


def orcid(person: dict[str, Any]) -> str | None:
    value = person.get("orcid")
    if value.__class__ is str and re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]", value):
        return value
    return None


def ror(value: Any) -> str | None:
    return value if value.__class__ is str and re.fullmatch(r"https://ror\.org/0[a-z0-9]{6}\d{2}", value) else None


#: DataCite contributorType of each contributor role, within the list OpenAIRE 4 accepts.
CONTRIBUTOR_TYPES = {"editor": "Editor", "supervisor": "Supervisor", "producer": "Producer"}

#: MARC relator code and term of each role (id.loc.gov/vocabulary/relators).
RELATORS = {
    "author": ("aut", "author"), "editor": ("edt", "editor"), "translator": ("trl", "translator"),
    "compiler": ("com", "compiler"), "interviewer": ("ivr", "interviewer"),
    "interviewee": ("ive", "interviewee"), "speaker": ("spk", "speaker"),
    "photographer": ("pht", "photographer"), "director": ("drt", "director"),
    "producer": ("pro", "producer"), "supervisor": ("ths", "thesis advisor"), "other": ("oth", "other"),
}


# -- vocabularies ---------------------------------------------------------------------------------


def type_info(kind: str | None) -> WorkTypeInfo:
    """The COAR/DRIVER entry of a work type (``other`` for anything else stored)."""
    return WORK_TYPES[WorkType(kind)] if kind is not None and kind in WorkType.__members__ else \
        WORK_TYPES[WorkType.other]


def access_info(access: str | None) -> AccessRightInfo:
    """The COAR entry of an access right as it is now (a work without one is metadata only)."""
    if access is not None and access in AccessRight.__members__:
        return ACCESS_RIGHTS[AccessRight(access)]
    return ACCESS_RIGHTS[AccessRight.metadata_only]


_IDENTIFIER_TYPES = frozenset(IdentifierType)
_RELATION_TYPES = frozenset(RelationType)


def related_identifiers(doc: dict[str, Any], text: Clean) -> list[tuple[str, str, str]]:
    """The deposit's related identifiers as (DataCite type, identifier, DataCite relation), the
    ones whose type and relation are in the vocabularies every format accepts."""
    found = []
    for item in dicts(doc, "related_identifiers"):
        value, scheme, relation = text(item.get("identifier")), key(item.get("type")), key(item.get("relation"))
        if value and scheme in _IDENTIFIER_TYPES and relation in _RELATION_TYPES:
            found.append((str(scheme), value, str(relation)))
    return found


# -- access, licences, files ----------------------------------------------------------------------


def licence(doc: dict[str, Any]) -> tuple[str, str] | None:
    """(URI, label) of the work's licence."""
    value = doc.get("license")
    found = uri(value)
    return (found, licence_label(found)) if found else None


def embargo_end(work: Disseminated, context: RenderContext) -> date | None:
    """The end of the work's embargo while it lasts (``None`` when there is none now)."""
    if work.embargo_end is not None and context.effective_access(work) == "embargoed":
        return work.embargo_end
    return None


def open_files(work: Disseminated, context: RenderContext) -> tuple[list[FileView], FileView | None]:
    """The files anyone may read now (``visibility`` decides), the main file first; and the main
    file among them: the one the editor named when the public may read it, else (no choice made)
    the first readable PDF by name, else the first readable file by name."""
    if not work.files:
        return _EMPTY, None
    readable = context.open_files(work)
    if not readable:
        return _EMPTY, None
    if work.main_file is not None:
        main = next((f for f in readable if f.name == work.main_file), None)
    else:
        by_name = sorted(readable, key=lambda f: f.name)
        main = next((f for f in by_name if f.media_type == "application/pdf"), by_name[0])
    return sorted(readable, key=lambda f: f is not main), main


# -- DataCite elements (shared by oai_openaire and oai_datacite) ------------------------------------
#
# OpenAIRE 4 takes its creators, contributors and subjects from DataCite, in the kernel-4
# namespace; both formats build them here. Funding references have the same shape in both, in
# the oaire or the kernel namespace.

DATACITE_NS = "http://datacite.org/schema/kernel-4"


def _dc(name: str) -> str:
    return f"{{{DATACITE_NS}}}{name}"


DATACITE_TITLE_TYPES = {"alternative": "AlternativeTitle", "translated": "TranslatedTitle", "subtitle": "Subtitle"}


def datacite_titles(parent: etree._Element, doc: dict[str, Any], text: Clean, missing: str) -> None:
    """``titles``: the main title first, each with its ``titleType`` (none for the main title) and
    ``xml:lang``; ``missing`` when nothing usable was stored (the title is mandatory)."""
    container = etree.SubElement(parent, _dc("titles"))
    for title in titles(doc):
        if value := text(title.get("value")):
            element = etree.SubElement(container, _dc("title"))
            element.text = value
            if kind := DATACITE_TITLE_TYPES.get(key(title.get("type")) or ""):
                element.set("titleType", kind)
            if code := lang(title.get("lang")):
                element.set(XML_LANG, code)
    if not len(container):
        etree.SubElement(container, _dc("title")).text = missing


def datacite_people(parent: etree._Element, tag: str, people: list[dict[str, Any]], text: Clean) -> None:
    """``creator`` or ``contributor`` elements (the schemas fix the order of their children:
    name, givenName, familyName, nameIdentifier*, affiliation*); a contributor's role becomes
    its ``contributorType``."""
    sub = etree.SubElement
    for person in people:
        family, given, name = name_parts(person, text)
        display = inverted(family, given, name)
        if not display:
            continue
        attributes = ({"contributorType": CONTRIBUTOR_TYPES.get(key(person.get("role")) or "", "Other")}
                      if tag == "contributor" else {})
        element = sub(parent, _dc(tag), attributes)
        sub(element, _dc(tag + "Name"), nameType="Personal" if family else "Organizational").text = display
        if family:
            if given:
                sub(element, _dc("givenName")).text = given
            sub(element, _dc("familyName")).text = family
        if found := orcid(person):
            sub(element, _dc("nameIdentifier"), nameIdentifierScheme="ORCID",
                schemeURI="https://orcid.org").text = ORCID_URI + found
        for affiliation in dicts(person, "affiliations"):
            if label := text(affiliation.get("name")):
                identifier = ror(affiliation.get("ror"))
                attributes = ({"affiliationIdentifier": identifier, "affiliationIdentifierScheme": "ROR",
                               "schemeURI": "https://ror.org"} if identifier else {})
                sub(element, _dc("affiliation"), attributes).text = label


def datacite_subjects(parent: etree._Element, doc: dict[str, Any], text: Clean) -> None:
    """``subjects``: each keyword or scheme term, with scheme, scheme URI, value URI and language."""
    subjects = [s for s in dicts(doc, "subjects") if text(s.get("value"))]
    if not subjects:
        return
    element = etree.SubElement(parent, _dc("subjects"))
    for subject in subjects:
        item = etree.SubElement(element, _dc("subject"))
        item.text = text(subject.get("value"))
        if scheme := text(subject.get("scheme")):
            item.set("subjectScheme", scheme)
            if scheme_uri := uri(subject.get("scheme_uri")):
                item.set("schemeURI", scheme_uri)
        if value_uri := uri(subject.get("uri")):
            item.set("valueURI", value_uri)
        if code := lang(subject.get("lang")):
            item.set(XML_LANG, code)


def funding_references(parent: etree._Element, namespace: str, doc: dict[str, Any], text: Clean, *,
                       streams: bool) -> None:
    """``fundingReferences``: funder name and identifier (ROR or Crossref Funder ID), the funding
    stream (OpenAIRE only), award number with its URI, award title."""
    funding = [f for f in dicts(doc, "funding") if text(f.get("funder"))]
    if not funding:
        return
    sub = etree.SubElement
    element = sub(parent, f"{{{namespace}}}fundingReferences")
    for item in funding:
        reference = sub(element, f"{{{namespace}}}fundingReference")
        sub(reference, f"{{{namespace}}}funderName").text = text(item.get("funder"))
        if funder_id := uri(item.get("funder_id")):
            scheme = "Crossref Funder ID" if funder_id.startswith("https://doi.org/") else "ROR"
            sub(reference, f"{{{namespace}}}funderIdentifier", funderIdentifierType=scheme).text = funder_id
        if streams and (stream := text(item.get("funding_stream"))):
            sub(reference, f"{{{namespace}}}fundingStream").text = stream
        if award := text(item.get("award_number")):
            attributes = {"awardURI": award_uri} if (award_uri := uri(item.get("award_uri"))) else {}
            sub(reference, f"{{{namespace}}}awardNumber", attributes).text = award
        if award_title := text(item.get("award_title")):
            sub(reference, f"{{{namespace}}}awardTitle").text = award_title


def other_identifiers(doc: dict[str, Any], text: Clean) -> list[tuple[str, str]]:
    """(type, value) of the work's ISBNs and URLs: alternate identifiers of this same work."""
    found = [("ISBN", isbn) for isbn in map(text, strings(doc.get("isbn"))) if isbn]
    return found + [("URL", url) for url in map(uri, strings(doc.get("urls"))) if url]


def related_resources(doc: dict[str, Any], text: Clean, journal_relation: str) -> list[tuple[str, str, str]]:
    """(type, value, relation) of the resources a work relates to: its host journal's ISSNs
    (``journal_relation``: OpenAIRE 4 has IsPartOf, DataCite 4.5+ IsPublishedIn), its host book's
    ISBN and its series' ISSN (IsPartOf), and the deposit's own related identifiers."""
    journal, book, series = obj(doc, "journal"), obj(doc, "book"), obj(doc, "series")
    found: list[tuple[str, str, str]] = []
    if journal:
        found += [(scheme, value, journal_relation) for field, scheme in (("issn", "ISSN"), ("eissn", "EISSN"))
                  if (value := text(journal.get(field)))]
    if book and (isbn := text(book.get("isbn"))):
        found.append(("ISBN", isbn, "IsPartOf"))
    if series and (issn := text(series.get("issn"))):
        found.append(("ISSN", issn, "IsPartOf"))
    return found + related_identifiers(doc, text)


def datacite_identifiers(parent: etree._Element, alternates: list[tuple[str, str]],
                         related: list[tuple[str, str, str]]) -> None:
    """``alternateIdentifiers`` and ``relatedIdentifiers`` (each only when there is one)."""
    sub = etree.SubElement
    if alternates:
        element = sub(parent, _dc("alternateIdentifiers"))
        for scheme, value in alternates:
            sub(element, _dc("alternateIdentifier"), alternateIdentifierType=scheme).text = value
    if related:
        element = sub(parent, _dc("relatedIdentifiers"))
        for scheme, value, relation in related:
            sub(element, _dc("relatedIdentifier"), relatedIdentifierType=scheme, relationType=relation).text = value
