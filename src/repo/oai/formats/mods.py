"""``mods``: MODS 3.7 for every work type, following the Library of Congress DC-to-MODS and
MARC-to-MODS mappings.

* ``titleInfo`` with the initial article in ``nonSort`` (as MARC 245's second indicator skips
  it), subtitles in ``subTitle``, translated and alternative titles typed; ``name`` personal
  (family and given ``namePart``s, the ORCID as ``nameIdentifier``, affiliations, MARC relator
  role), corporate, and the conference; ``typeOfResource`` and the COAR ``genre``;
* ``originInfo``: place, publisher, ``dateIssued`` (W3CDTF, key date), edition, issuance;
  ``language`` (ISO 639-2/B, else ISO 639-3); ``physicalDescription``: online, the media types of
  the files anyone may read, the extent; ``abstract`` per language; the thesis note (as MARC 502)
  and funding notes; ``subject`` with authority, authority URI and value URI, countries as
  ``geographic``; DDC terms as ``classification``;
* ``relatedItem``: ``host`` (the journal, with ISSN, volume, issue and pages in ``part``; or the
  book with ISBN, editors and pages — a chapter's host), ``series``, and the deposit's related
  identifiers by relation; ``identifier`` (DOI, handle, ISBN, landing page); ``location/url``: the
  landing page and each file the public may read now; ``accessCondition``: the licence and the
  access right as it is now; ``recordInfo``.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from repo.oai.formats import common
from repo.oai.formats.base import MetadataFormat
from repo.oai.formats.common import SCHEMA_LOCATION, XSI_NS
from repo.oai.formats.marc import nonfiling_characters
from repo.oai.records import Disseminated, RenderContext
from repo.works.vocabularies import SUBJECT_SCHEMES

MODS_NS = "http://www.loc.gov/mods/v3"
MODS_SCHEMA = "http://www.loc.gov/standards/mods/v3/mods-3-7.xsd"
XLINK_NS = "http://www.w3.org/1999/xlink"
HREF = f"{{{XLINK_NS}}}href"
NSMAP = {None: MODS_NS, "xlink": XLINK_NS, "xsi": XSI_NS}
ROOT_ATTRIBUTES = {"version": "3.7", SCHEMA_LOCATION: f"{MODS_NS} {MODS_SCHEMA}"}

TYPES_OF_RESOURCE = {"sound": "sound recording-nonmusical", "video": "moving image", "image": "still image"}
ISSUANCE = {"journal_article": "single unit", "review": "single unit"}
THESES = {"doctoral_thesis": "Doctoral", "master_thesis": "Master's", "bachelor_thesis": "Bachelor's"}
# DataCite relation types as MODS relatedItem types (the others keep their DataCite name in otherType).
RELATED_ITEM_TYPES = {
    "IsPartOf": "host", "HasPart": "constituent", "HasVersion": "otherVersion", "IsVersionOf": "otherVersion",
    "IsNewVersionOf": "otherVersion", "IsPreviousVersionOf": "otherVersion", "IsVariantFormOf": "otherFormat",
    "IsOriginalFormOf": "otherFormat", "IsIdenticalTo": "otherFormat", "References": "references",
    "Cites": "references", "IsReferencedBy": "isReferencedBy", "IsCitedBy": "isReferencedBy",
    "Reviews": "reviewOf", "Continues": "preceding", "IsContinuedBy": "succeeding", "IsDerivedFrom": "original",
}
IDENTIFIER_TYPES = {"DOI": "doi", "Handle": "hdl", "ISBN": "isbn", "ISSN": "issn", "EISSN": "issn", "LISSN": "issn-l",
                    "URL": "uri", "PURL": "uri", "URN": "urn", "arXiv": "arxiv", "PMID": "pmid", "ARK": "ark"}


def M(name: str) -> str:  # noqa: N802 (reads like the namespace prefix)
    return f"{{{MODS_NS}}}{name}"


def _title(parent: etree._Element, value: str, lang: str | None, kind: str | None,
           subtitle: str | None = None) -> None:
    sub = etree.SubElement
    info = sub(parent, M("titleInfo"), {"type": kind} if kind else {})
    if lang and (code := common.marc_language(lang)):
        info.set("lang", code)
    skip = nonfiling_characters(value, lang) if kind is None else 0
    if skip:
        sub(info, M("nonSort")).text = value[:skip]
    sub(info, M("title")).text = value[skip:]
    if subtitle:
        sub(info, M("subTitle")).text = subtitle


def _name(parent: etree._Element, person: dict[str, Any], role: str, text: common.Clean,
          primary: bool = False) -> None:
    sub = etree.SubElement
    family, given, name = common.name_parts(person, text)
    if not (family or name):
        return
    element = sub(parent, M("name"), type="personal" if family else "corporate")
    if primary:
        element.set("usage", "primary")
    if family:
        sub(element, M("namePart"), type="family").text = family  # particles kept with the surname
        if given:
            sub(element, M("namePart"), type="given").text = given
    else:
        sub(element, M("namePart")).text = name
    for affiliation in common.dicts(person, "affiliations"):
        if label := text(affiliation.get("name")):
            sub(element, M("affiliation")).text = label
    # the MARC relator code alone: its term is the code's label in the list every reader holds
    # (as marcxml's $4), and a name's second roleTerm cost a tenth of a record's parsing
    code, _ = common.RELATORS.get(role, common.RELATORS["other"])
    sub(sub(element, M("role")), M("roleTerm"), type="code", authority="marcrelator").text = code
    if orcid := common.orcid(person):
        sub(element, M("nameIdentifier"), type="orcid").text = common.ORCID_URI + orcid


def _part(parent: etree._Element, host: dict[str, Any], text: common.Clean, year: str | None) -> None:
    sub = etree.SubElement
    part = sub(parent, M("part"))
    for key in ("volume", "issue"):
        if value := text(host.get(key)):
            sub(sub(part, M("detail"), type=key), M("number")).text = value
    first, last = common.pages(host, text)
    if first or last:
        extent = sub(part, M("extent"), unit="pages")
        if first:
            sub(extent, M("start")).text = first
        if last:
            sub(extent, M("end")).text = last
    if year:
        sub(part, M("date")).text = year
    if not len(part):
        parent.remove(part)


def crosswalk(work: Disseminated, context: RenderContext) -> etree._Element:
    doc = work.doc
    text = common.cleaner(work)
    sub = etree.SubElement
    root = etree.Element(M("mods"), ROOT_ATTRIBUTES, nsmap=NSMAP)

    titles = [t for t in common.titles(doc) if text(t.get("value"))]
    main = next((t for t in titles if t.get("type", "main") == "main"), titles[0] if titles else None)
    subtitle = next((text(t.get("value")) for t in titles if t is not main and t.get("type") == "subtitle"), None)
    if main is not None:
        _title(root, text(main.get("value")) or "", common.key(main.get("lang")), None, subtitle)
    else:
        _title(root, f"#{work.id}", None, None)
    for title in titles:
        kind = common.key(title.get("type"))
        if title is not main and kind in ("translated", "alternative"):
            _title(root, text(title.get("value")) or "", common.key(title.get("lang")), kind)

    for position, person in enumerate(common.dicts(doc, "creators")):
        _name(root, person, common.key(person.get("role")) or "author", text, primary=position == 0)
    for person in common.dicts(doc, "contributors"):
        _name(root, person, common.key(person.get("role")) or "other", text)
    conference = common.obj(doc, "conference")
    if conference and (conference_name := text(conference.get("name"))):
        element = sub(root, M("name"), type="conference")
        sub(element, M("namePart")).text = conference_name
        start, end = common.partial_date(conference.get("start")), common.partial_date(conference.get("end"))
        if start:
            sub(element, M("namePart"), type="date").text = f"{start}/{end}" if end and end != start else start
        place = ", ".join(filter(None, (text(conference.get("place")), common.country_name(conference.get("country")))))
        if place:
            sub(element, M("namePart")).text = place

    sub(root, M("typeOfResource")).text = TYPES_OF_RESOURCE.get(work.type or "", "text")
    info = common.type_info(work.type)
    sub(root, M("genre"), authority="coar", authorityURI="http://purl.org/coar/resource_type/",
        valueURI=info.coar_uri).text = info.label

    origin = sub(root, M("originInfo"), eventType="publication")
    if city := text(doc.get("place")):
        sub(sub(origin, M("place")), M("placeTerm"), type="text").text = city
    if publisher := text(doc.get("publisher")):
        sub(origin, M("publisher")).text = publisher
    issued = common.partial_date(doc.get("publication_date"))
    if issued:
        sub(origin, M("dateIssued"), encoding="w3cdtf", keyDate="yes").text = issued
    if edition := text(doc.get("edition")):
        sub(origin, M("edition")).text = edition
    sub(origin, M("issuance")).text = ISSUANCE.get(work.type or "", "monographic")

    for code in common.strings(doc.get("languages")):
        language = sub(root, M("language"))
        if marc := common.marc_language(code):
            sub(language, M("languageTerm"), type="code", authority="iso639-2b").text = marc
        elif iso := common.iso639_3(code):
            sub(language, M("languageTerm"), type="code", authority="iso639-3").text = iso
        else:
            root.remove(language)

    physical = sub(root, M("physicalDescription"))
    sub(physical, M("form"), authority="marcform").text = "electronic"
    readable, main_file = common.open_files(work, context)
    for media_type in dict.fromkeys(f.media_type for f in readable):
        if value := text(media_type):
            sub(physical, M("internetMediaType")).text = value
    extent = common.obj(doc, "extent")
    if extent and (count := extent.get("pages")).__class__ is int and count > 0:
        sub(physical, M("extent")).text = f"{count} pages"
    elif extent and (duration := text(extent.get("duration"))):
        sub(physical, M("extent")).text = duration

    for abstract in common.dicts(doc, "abstracts"):
        if value := text(abstract.get("value")):
            element = sub(root, M("abstract"))
            element.text = value
            if (abstract_lang := common.key(abstract.get("lang"))) and (marc := common.marc_language(abstract_lang)):
                element.set("lang", marc)

    if degree := THESES.get(work.type or ""):
        # as MARC 502 reads: Thesis (Doctoral)--Granting institution, year
        note = f"Thesis ({degree})"
        if institution := text(doc.get("publisher")):
            note += f"--{institution}"
        if issued:
            note += f", {issued[:4]}"
        sub(root, M("note"), type="thesis").text = note
    if notes := text(doc.get("notes")):
        sub(root, M("note")).text = notes
    for item in common.dicts(doc, "funding"):
        if funder := text(item.get("funder")):
            award = text(item.get("award_number"))
            sub(root, M("note"), type="funding").text = f"{funder}: {award}" if award else funder

    for subject in common.dicts(doc, "subjects"):
        if not (value := text(subject.get("value"))):
            continue
        scheme = text(subject.get("scheme"))
        if scheme == "DDC":
            sub(root, M("classification"), authority="ddc").text = value
            continue
        element = sub(root, M("subject"))
        if scheme:
            known = SUBJECT_SCHEMES.get(scheme.lower())
            element.set("authority", known.marc if known and known.marc else scheme.lower())
            if scheme_uri := common.uri(subject.get("scheme_uri")):
                element.set("authorityURI", scheme_uri)
        if value_uri := common.uri(subject.get("uri")):
            element.set("valueURI", value_uri)
        if (subject_lang := common.key(subject.get("lang"))) and (marc := common.marc_language(subject_lang)):
            element.set("lang", marc)
        sub(element, M("topic")).text = value
    for code in common.strings(doc.get("countries")):
        if name := common.country_name(code):
            sub(sub(root, M("subject")), M("geographic")).text = name

    journal, book, series = common.obj(doc, "journal"), common.obj(doc, "book"), common.obj(doc, "series")
    if journal and (journal_title := text(journal.get("title"))):
        host = sub(root, M("relatedItem"), type="host")
        sub(sub(host, M("titleInfo")), M("title")).text = journal_title
        sub(sub(host, M("originInfo")), M("issuance")).text = "continuing"
        for key, kind in (("issn", "issn"), ("eissn", "issn"), ("issn_l", "issn-l")):
            if value := text(journal.get(key)):
                sub(host, M("identifier"), type=kind).text = value
        _part(host, journal, text, issued[:4] if issued else None)
    elif book and (book_title := text(book.get("title"))):
        host = sub(root, M("relatedItem"), type="host")
        sub(sub(host, M("titleInfo")), M("title")).text = book_title
        for editor in common.dicts(book, "editors"):
            _name(host, editor, "editor", text)
        origin = sub(host, M("originInfo"))
        if publisher:
            sub(origin, M("publisher")).text = publisher
        if issued:
            sub(origin, M("dateIssued"), encoding="w3cdtf").text = issued
        sub(origin, M("issuance")).text = "monographic"
        if isbn := text(book.get("isbn")):
            sub(host, M("identifier"), type="isbn").text = isbn
        _part(host, book, text, None)
    if series and (series_title := text(series.get("title"))):
        element = sub(root, M("relatedItem"), type="series")
        sub(sub(element, M("titleInfo")), M("title")).text = series_title
        if issn := text(series.get("issn")):
            sub(element, M("identifier"), type="issn").text = issn
        if number := text(series.get("number")):
            sub(sub(sub(element, M("part")), M("detail"), type="number"), M("number")).text = number
    for scheme, value, relation in common.related_identifiers(doc, text):
        kind = RELATED_ITEM_TYPES.get(relation)
        element = sub(root, M("relatedItem"), {"type": kind} if kind else {"otherType": relation})
        sub(element, M("identifier"), type=IDENTIFIER_TYPES.get(scheme, scheme.lower())).text = value

    landing = context.landing_page(work)
    if doi := text(doc.get("doi")):
        sub(root, M("identifier"), type="doi").text = doi
    if handle := text(doc.get("handle")):
        sub(root, M("identifier"), type="hdl").text = handle
    for isbn in common.strings(doc.get("isbn")):
        if value := text(isbn):
            sub(root, M("identifier"), type="isbn").text = value
    sub(root, M("identifier"), type="uri").text = landing

    location = sub(root, M("location"))
    sub(location, M("url"), usage="primary display", access="object in context").text = landing
    for file in readable:
        attributes = {"access": "raw object"}
        if file is main_file:
            attributes["usage"] = "primary"
        if file_type := text(file.media_type):
            attributes["note"] = file_type
        sub(location, M("url"), attributes).text = context.file_url(work, file)

    if licence := common.licence(doc):
        sub(root, M("accessCondition"), {"type": "use and reproduction", HREF: licence[0]}).text = licence[1]
    access = common.access_info(context.effective_access(work))
    embargo_end = common.embargo_end(work, context)
    statement = f"{access.label} until {embargo_end.isoformat()}" if embargo_end else access.label
    sub(root, M("accessCondition"), {"type": "restriction on access", HREF: access.coar_uri}).text = statement

    record = sub(root, M("recordInfo"))
    sub(record, M("recordContentSource")).text = context.settings.repository_name
    sub(record, M("recordChangeDate"), encoding="iso8601").text = work.datestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    sub(record, M("recordIdentifier")).text = context.identifier(work.id)
    return root


MODS = MetadataFormat(prefix="mods", namespace=MODS_NS, schema=MODS_SCHEMA, crosswalk=crosswalk, label="MODS",
                      media_type="application/mods+xml")
