"""``oai_openaire`` (OpenAIRE Guidelines for Literature Repositories v4) → deposit record: the
inverse of the OpenAIRE 4 crosswalk (``repo.oai.formats.oai_openaire``), reading what other v4
providers write too.

* ``datacite:titles`` (``titleType`` AlternativeTitle/Subtitle/TranslatedTitle), ``dc:description``,
  ``datacite:subjects`` (with ``subjectScheme`` and ``valueURI``), all with ``xml:lang``;
* ``datacite:creators``/``contributors``: ``familyName``/``givenName`` or the ``…Name``, the ORCID
  ``nameIdentifier``, affiliations with their ROR id; a contributor's DataCite type as its role;
* ``fundingReferences``; ``alternateIdentifiers`` (DOI, Handle, ISBN, URL) of the work itself,
  ``relatedIdentifiers`` ``IsPartOf`` ISSN/EISSN/ISBN for the host journal or book;
* ``datacite:dates``: ``Issued`` as the publication date, ``Available`` as the embargo's end;
* ``oaire:resourceType`` (COAR URI), ``datacite:rights`` (COAR access right), ``oaire:version``
  (COAR version), ``oaire:licenseCondition`` (Creative Commons URI), ``dc:language``,
  ``dc:publisher``, ``dc:coverage``, ``datacite:sizes`` (pages), ``citation*`` (host journal or book).

Everything else (files at the source, formats, unknown identifiers or dates) is kept unmapped.
"""

from __future__ import annotations

import re

from lxml import etree

from repo.ingest.mapping import common
from repo.ingest.mapping.common import Draft
from repo.ingest.mapping.oai_dc import MappingError
from repo.works.vocabularies import AccessRight, IdentifierType, RelationType, WorkType

OAIRE_NS = "http://namespace.openaire.eu/schema/oaire/"
DATACITE_NS = "http://datacite.org/schema/kernel-4"
DC_NS = "http://purl.org/dc/elements/1.1/"
ROOT = f"{{{OAIRE_NS}}}resource"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NAMES = {OAIRE_NS: "oaire", DATACITE_NS: "datacite", DC_NS: "dc"}
_TITLE_TYPES = {"alternativetitle": "alternative", "subtitle": "subtitle", "translatedtitle": "translated"}
_ROLES = {"Editor": "editor", "Supervisor": "supervisor", "Producer": "producer", "Interviewee": "interviewee",
          "Interviewer": "interviewer", "Translator": "translator"}


def _text(element: etree._Element) -> str:
    return "".join(element.itertext()).strip() if len(element) else (element.text or "").strip()


def _label(element: etree._Element) -> str:
    qname = etree.QName(element)
    return f"{_NAMES.get(qname.namespace or '', qname.namespace)}:{qname.localname}"


def map_oai_openaire(root: etree._Element) -> Draft:
    if root.tag != ROOT:
        raise MappingError(f"expected <oaire:resource>, found <{etree.QName(root).localname}>")
    draft = Draft()
    meta = draft.metadata
    host: dict[str, str] = {}
    related: list[tuple[str, str, str]] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        name, label = qname.localname, _label(child)
        if qname.namespace not in _NAMES:
            draft.unmapped(label, _text(child), "not an OpenAIRE v4 element")
        elif name == "titles":
            for title in child:
                value, altered = common.plain(_text(title))
                if altered:
                    draft.unmapped("datacite:title", _text(title), "markup removed (titles are plain text)")
                if value:
                    kind = _TITLE_TYPES.get((title.get("titleType") or "").lower(), "main")
                    if kind == "main" and any(t["type"] == "main" for t in meta.get("titles", [])):
                        kind = "alternative"
                    entry = {"value": value[:2000], "type": kind}
                    if (lang := title.get(XML_LANG)) and (code := common.language(lang)):
                        entry["lang"] = code
                    draft.append("titles", entry)
        elif name in ("creators", "contributors"):
            for person in child:
                if found := _person(person, draft):
                    draft.append(name, found)
        elif name == "fundingReferences":
            for reference in child:
                _funding(reference, draft)
        elif name == "alternateIdentifiers":
            for element in child:
                _identifier(draft, (element.get("alternateIdentifierType") or "").lower(), _text(element), label)
        elif name == "relatedIdentifiers":
            for element in child:
                related.append(((element.get("relatedIdentifierType") or "").lower(),
                                element.get("relationType") or "", _text(element)))
        elif name == "dates":
            for element in child:
                _date(draft, element.get("dateType") or "", _text(element))
        elif name == "language":
            if code := common.language(_text(child)):
                if code not in meta.get("languages", []):
                    draft.append("languages", code)
            else:
                draft.unmapped(label, _text(child), "not a language code")
        elif name == "publisher" and "publisher" not in meta:
            meta["publisher"] = common.plain(_text(child))[0][:2000]
        elif name == "resourceType":
            found = common.work_type(child.get("uri") or "") or common.work_type(_text(child))
            if found is None:
                draft.unmapped(label, child.get("uri") or _text(child), "not a COAR resource type we hold: 'other'")
            draft.type = draft.type or found or WorkType.other
        elif name == "description":
            value, _ = common.plain(_text(child))
            if value and len(value) <= 100_000:
                entry = {"value": value}
                if (lang := child.get(XML_LANG)) and (code := common.language(lang)):
                    entry["lang"] = code
                draft.append("abstracts", entry)
            elif value:
                draft.unmapped(label, value, "longer than an abstract may be")
        elif name == "identifier":
            _identifier(draft, (child.get("identifierType") or "").lower(), _text(child), label)
        elif name == "rights":
            found_access = common.access_right(child.get("rightsURI") or "") or common.access_right(_text(child))
            if found_access is None:
                draft.unmapped(label, child.get("rightsURI") or _text(child), "not a COAR access right")
            draft.access_right = draft.access_right or found_access
        elif name == "subjects":
            for subject in child:
                _subject(subject, draft)
        elif name == "licenseCondition":
            uri = common.licence(child.get("uri") or "") or common.licence(_text(child))
            if uri and "license" not in meta:
                meta["license"] = uri
            else:
                draft.unmapped(label, child.get("uri") or _text(child), "not a Creative Commons licence")
        elif name == "coverage":
            if code := common.country(_text(child)):
                if code not in meta.get("countries", []):
                    draft.append("countries", code)
            else:
                draft.unmapped(label, _text(child), "not a country")
        elif name == "sizes":
            for size in child:
                match = re.fullmatch(r"(\d+)\s*(?:pages?|p\.?|páginas?)", _text(size), re.I)
                if match and 0 < int(match[1]) <= 100_000 and "extent" not in meta:
                    meta["extent"] = {"pages": int(match[1])}
                else:
                    draft.unmapped("datacite:size", _text(size), "not a number of pages")
        elif name == "version":
            found_version = common.version(child.get("uri") or "")
            if found_version is not None:
                meta["version"] = found_version
            else:
                draft.unmapped(label, child.get("uri") or _text(child), "not a COAR version")
        elif name in ("citationTitle", "citationVolume", "citationIssue", "citationStartPage", "citationEndPage",
                      "citationConferencePlace", "citationConferenceDate"):
            host[name] = _text(child)
        elif name == "citationEdition" and "edition" not in meta:
            meta["edition"] = _text(child)[:2000]
        else:
            draft.unmapped(label, _text(child), "no field of the deposit record holds it")
    _host(draft, host, related)
    if draft.embargo_end is not None and draft.access_right != AccessRight.embargoed:
        draft.embargo_end = None  # an Available date of an open work is not an embargo
    if draft.access_right == AccessRight.embargoed and draft.embargo_end is None:
        draft.unmapped("datacite:rights", "embargoed access", "embargoed without an end date: restricted")
        draft.access_right = AccessRight.restricted
    if draft.type is None:
        draft.type = WorkType.other
        draft.unmapped("oaire:resourceType", "", "the record gives no type: the work is 'other'")
    return draft


def _person(element: etree._Element, draft: Draft) -> dict[str, object] | None:
    tag = etree.QName(element).localname  # creator | contributor
    found: dict[str, object] = {}
    family = element.findtext(f"{{{DATACITE_NS}}}familyName")
    given = element.findtext(f"{{{DATACITE_NS}}}givenName")
    name_element = element.find(f"{{{DATACITE_NS}}}{tag}Name")
    display = _text(name_element) if name_element is not None else ""
    if family and family.strip():
        found["family"] = family.strip()[:2000]
        if given and given.strip():
            found["given"] = given.strip()[:2000]
    elif display:
        parsed = common.person(display) or {}
        if name_element is not None and name_element.get("nameType") == "Organizational":
            parsed = {"name": display[:2000]}
        found.update(parsed)
    if not found:
        return None
    for identifier in element.iter(f"{{{DATACITE_NS}}}nameIdentifier"):
        if (identifier.get("nameIdentifierScheme") or "").upper() == "ORCID" and "orcid" not in found:
            found["orcid"] = _text(identifier)
    affiliations = []
    for affiliation in element.iter(f"{{{DATACITE_NS}}}affiliation"):
        entry: dict[str, str] = {"name": _text(affiliation)[:2000]}
        identifier = affiliation.get("affiliationIdentifier") or ""
        if "ror.org" in identifier:
            entry["ror"] = identifier
        if entry["name"]:
            affiliations.append(entry)
    if affiliations:
        found["affiliations"] = affiliations[:20]
    if tag == "contributor":
        found["role"] = _ROLES.get(element.get("contributorType") or "", "other")
    return found


def _funding(element: etree._Element, draft: Draft) -> None:
    def text(name: str) -> str:
        found = element.find(f"{{{OAIRE_NS}}}{name}")
        return _text(found) if found is not None else ""

    funder = text("funderName")
    if not funder:
        draft.unmapped("oaire:fundingReference", _text(element), "a funding reference without a funder name")
        return
    entry = {"funder": funder[:2000]}
    if identifier := text("funderIdentifier"):  # a ROR id or a Crossref Funder ID
        entry["funder_id"] = identifier
    if stream := text("fundingStream"):
        entry["funding_stream"] = stream[:2000]
    if award := text("awardNumber"):
        entry["award_number"] = award[:2000]
        award_uri = element.find(f"{{{OAIRE_NS}}}awardNumber").get("awardURI") or ""  # type: ignore[union-attr]
        if award_uri.startswith(("http://", "https://")):
            entry["award_uri"] = award_uri
    if title := text("awardTitle"):
        entry["award_title"] = title[:2000]
    draft.append("funding", entry)


def _identifier(draft: Draft, scheme: str, value: str, label: str) -> None:
    from repo.ingest.mapping.oai_dc import _place

    scheme = {"url": "url", "doi": "doi", "handle": "handle", "isbn": "isbn"}.get(scheme, scheme)
    found = common.canonical(scheme, value) if scheme in ("doi", "handle", "isbn", "url") else None
    if found is None:
        draft.unmapped(label, f"{scheme}: {value}", "an identifier the deposit record does not hold")
        return
    _place(draft, scheme, found, label=label, text=value)


def _date(draft: Draft, kind: str, value: str) -> None:
    found = common.partial_date(value)
    if kind == "Issued" and found and "publication_date" not in draft.metadata:
        draft.metadata["publication_date"] = found
    elif kind == "Available" and found and len(found) == 10:
        draft.embargo_end = found
    else:
        draft.unmapped(f"datacite:date[{kind}]", value, "a date the deposit record does not hold")


def _subject(element: etree._Element, draft: Draft) -> None:
    value, _ = common.plain(_text(element))
    if not value:
        return
    entry: dict[str, str] = {"value": value[:2000]}
    if (lang := element.get(XML_LANG)) and (code := common.language(lang)):
        entry["lang"] = code
    if scheme := element.get("subjectScheme"):
        entry["scheme"] = scheme[:2000]
        if (scheme_uri := element.get("schemeURI") or "").startswith(("http://", "https://")):
            entry["scheme_uri"] = scheme_uri
    if (uri := element.get("valueURI") or "").startswith(("http://", "https://")):
        entry["uri"] = uri
    draft.append("subjects", entry)


def _host(draft: Draft, host: dict[str, str], related: list[tuple[str, str, str]]) -> None:
    """citation* and the related identifiers: the host journal, the host book of a chapter or the
    conference (its place and dates, and its name when no journal or book hosts the work); the
    IsPartOf ISSNs of the host journal and ISBN of the host book; every other related identifier
    as one of the deposit's own (``related_identifiers``)."""
    meta = draft.metadata
    pages = {k: v for k, v in (("start", host.get("citationStartPage")), ("end", host.get("citationEndPage"))) if v}
    title = host.get("citationTitle")
    is_chapter = draft.type == WorkType.book_part
    journal_like = any(host.get(k) for k in ("citationVolume", "citationIssue")) or any(
        scheme in ("issn", "eissn") and relation == "IsPartOf" for scheme, relation, _ in related)
    conference = _conference(draft, host)
    if conference is not None and title and not is_chapter and not journal_like and not pages:
        conference["name"] = title  # the conference's name stands as the citation title
        title = None
    if conference is not None:
        if "name" in conference:
            meta["conference"] = conference
        else:
            draft.unmapped("oaire:citationConferencePlace", host.get("citationConferencePlace", ""),
                           "a conference without a name")
    hosted: set[tuple[str, str]] = set()
    if title and is_chapter:
        book: dict[str, object] = {"title": title}
        isbn = next((v for scheme, relation, v in related if scheme == "isbn" and relation == "IsPartOf"), None)
        if isbn and (found := common.canonical("isbn", isbn)):
            book["isbn"] = found
            hosted.add(("isbn", isbn))
        if pages:
            book["pages"] = pages
        meta["book"] = book
    elif title:
        journal: dict[str, object] = {"title": title}
        for key, name in (("volume", "citationVolume"), ("issue", "citationIssue")):
            if host.get(name):
                journal[key] = host[name]
        for scheme, relation, value in related:
            if scheme in ("issn", "eissn") and relation == "IsPartOf" and scheme not in journal:
                if found := common.canonical(scheme, value):
                    journal[scheme] = found
                    hosted.add((scheme, value))
        if pages:
            journal["pages"] = pages
        meta["journal"] = journal
    else:
        for key in ("citationVolume", "citationIssue", "citationStartPage", "citationEndPage"):
            if host.get(key):
                draft.unmapped(f"oaire:{key}", host[key], "a citation without a citation title")
    for scheme, relation, value in related:
        if (scheme, value) in hosted:
            continue
        kind, how = _IDENTIFIER_TYPES.get(scheme), _RELATION_TYPES.get(relation.lower())
        if kind is None or how is None:
            draft.unmapped("datacite:relatedIdentifier", f"{relation} {scheme}: {value}",
                           "a relation or identifier type outside DataCite's lists")
        else:
            draft.append("related_identifiers", {"type": kind, "relation": how, "identifier": value[:2000]})


_IDENTIFIER_TYPES = {t.value.lower(): t.value for t in IdentifierType}
_RELATION_TYPES = {t.value.lower(): t.value for t in RelationType}


def _conference(draft: Draft, host: dict[str, str]) -> dict[str, object] | None:
    """The conference of ``citationConferencePlace`` ("City, Country") and ``citationConferenceDate``
    ("YYYY-MM-DD" or "YYYY-MM-DD - YYYY-MM-DD"), without its name; ``None`` without either."""
    place, when = host.get("citationConferencePlace"), host.get("citationConferenceDate")
    if not place and not when:
        return None
    conference: dict[str, object] = {}
    if place:
        city, _, last = place.rpartition(",")
        if city and (code := common.country(last)):
            conference["country"] = code
            place = city.strip()
        elif not city and (code := common.country(last)):
            conference["country"] = code
            place = ""
        if place:
            conference["place"] = place[:2000]
    if when:
        days = [common.partial_date(part) for part in re.split(r"\s+-\s+|/", when.strip(), maxsplit=1)]
        if all(d and len(d) == 10 for d in days):
            conference["start"] = days[0]
            if len(days) == 2:
                conference["end"] = days[1]
        else:
            draft.unmapped("oaire:citationConferenceDate", when, "not a date or a range of dates")
    return conference
