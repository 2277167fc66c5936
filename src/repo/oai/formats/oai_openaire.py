"""``oai_openaire``: the OpenAIRE Guidelines for Literature Repository Managers v4 (application
profile of DataCite, Dublin Core and OpenAIRE elements), for every work type.

Field by field (numbers of ../shared/OPENAIRE4.md's checklist; M mandatory, MA mandatory when the
work holds the data):

1. titles (M), each with ``xml:lang`` and its ``titleType`` (the main title has none);
2. creators (M) and 3. contributors (MA): ``creatorName`` "Family, Given" with ``nameType``,
   ``givenName``/``familyName``, the ORCID as ``nameIdentifier``, affiliations with their ROR id;
   a contributor's role becomes its DataCite ``contributorType`` (Editor, Supervisor, Producer,
   else Other);
4. funding references (MA): funder name and identifier (ROR or Crossref Funder ID), stream, award
   number with its URI, award title;
5. alternate identifiers: DOI, handle, ISBNs and URLs of this same work; 6. related identifiers:
   the host journal's ISSNs and the host book's ISBN (IsPartOf), the series' ISSN, and the
   deposit's own related identifiers with their relation types;
7. embargo (MA): ``Accepted`` (the day the work was made public here) and ``Available`` (the
   embargo's end) while the embargo lasts, with 15 reading ``embargoed access``;
8. languages (ISO 639-3); 9. publisher; 10. ``Issued`` date (M); 11. COAR resource type (M) with
   its label; 12. abstracts with ``xml:lang``; 13. the media types of the files anyone may read;
14. the landing page as identifier (M, ``URL``); 15. COAR access right as it is now (M: an ended
   embargo reads open access); 17. subjects with scheme, scheme URI and value URI;
18. licence with its start (the embargo's end, else the publication date when it is a full date,
   else the day the work was made public here); 19. countries as coverage; 20. pages as size;
22. COAR version (the repository's default when the deposit gives none); 23. ``oaire:file`` for each
   file the public may read now (``repo.works.visibility`` decides), the main file as ``fulltext``;
24–31. citation title, volume, issue, pages, edition, conference place and dates.
"""

from __future__ import annotations

from lxml import etree

from repo.oai.formats import common
from repo.oai.formats.base import MetadataFormat
from repo.oai.formats.common import (  # DataCite: OpenAIRE's reduced copy
    DATACITE_NS,
    SCHEMA_LOCATION,
    XML_LANG,
    XSI_NS,
)
from repo.oai.records import Disseminated, RenderContext
from repo.works.vocabularies import ACCESS_RIGHTS, VERSIONS, AccessRight, effective_version

OAIRE_NS = "http://namespace.openaire.eu/schema/oaire/"
OAIRE_SCHEMA = "https://www.openaire.eu/schema/repo-lit/4.0/openaire.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
# DataCite as the default namespace: most elements of a record are DataCite's (titles, creators,
# dates, identifiers, rights, subjects...), so a "datacite:" prefix on each made a record an
# eighth longer to store, send and parse than the same record with "oaire:" on the few of
# OpenAIRE's (the namespaces, hence the record, are the same to any namespace-aware reader).
NSMAP = {None: DATACITE_NS, "oaire": OAIRE_NS, "dc": DC_NS, "xsi": XSI_NS}
ROOT_ATTRIBUTES = {SCHEMA_LOCATION: f"{OAIRE_NS} {OAIRE_SCHEMA}"}


def _tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def O(name: str) -> str:  # noqa: N802 (reads like the namespace prefix)
    return _tag(OAIRE_NS, name)


def D(name: str) -> str:  # noqa: N802
    return _tag(DATACITE_NS, name)


def DC(name: str) -> str:  # noqa: N802
    return _tag(DC_NS, name)


COAR_OPEN = ACCESS_RIGHTS[AccessRight.open].coar_uri


def crosswalk(work: Disseminated, context: RenderContext) -> etree._Element:
    doc = work.doc
    text = common.cleaner(work)
    root = etree.Element(O("resource"), ROOT_ATTRIBUTES, nsmap=NSMAP)
    sub = etree.SubElement

    # 1. titles
    common.datacite_titles(root, doc, text, f"#{work.id}")  # M: never empty, whatever was stored

    # 2–3. creators and contributors
    creators = sub(root, D("creators"))
    common.datacite_people(creators, "creator", common.dicts(doc, "creators"), text)
    if not len(creators):
        root.remove(creators)
    contributors = common.dicts(doc, "contributors")
    if contributors:
        element = sub(root, D("contributors"))
        common.datacite_people(element, "contributor", contributors, text)
        if not len(element):
            root.remove(element)

    # 4. funding references
    common.funding_references(root, OAIRE_NS, doc, text, streams=True)

    # 5. alternate identifiers (this same work) and 6. related identifiers (other resources)
    alternates = [(scheme, value) for scheme, value in (("DOI", text(doc.get("doi"))), ("Handle", text(doc.get("handle"))))
                  if value]
    common.datacite_identifiers(root, alternates + common.other_identifiers(doc, text),
                                common.related_resources(doc, text, "IsPartOf"))
    journal, book = common.obj(doc, "journal"), common.obj(doc, "book")

    # 7 and 10. dates: issued, and the embargo while it lasts
    dates = sub(root, D("dates"))
    issued = common.partial_date(doc.get("publication_date"))
    published = common.iso_date(work.published_at)
    sub(dates, D("date"), dateType="Issued").text = issued or published or work.datestamp.strftime("%Y-%m-%d")
    embargo_end = common.embargo_end(work, context)
    if embargo_end is not None:
        sub(dates, D("date"), dateType="Accepted").text = published or work.datestamp.strftime("%Y-%m-%d")
        sub(dates, D("date"), dateType="Available").text = embargo_end.isoformat()

    # 8. languages
    for code in common.strings(doc.get("languages")):
        if language := common.iso639_3(code):
            sub(root, DC("language")).text = language

    # 9. publisher
    if publisher := text(doc.get("publisher")):
        sub(root, DC("publisher")).text = publisher

    # 11. resource type
    info = common.type_info(work.type)
    sub(root, O("resourceType"), resourceTypeGeneral=info.general, uri=info.coar_uri).text = info.label

    # 12. abstracts
    for abstract in common.dicts(doc, "abstracts"):
        if value := text(abstract.get("value")):
            element = sub(root, DC("description"))
            element.text = value
            if code := common.lang(abstract.get("lang")):
                element.set(XML_LANG, code)

    # 13. formats of the files anyone may read
    readable, main = common.open_files(work, context)
    for media_type in dict.fromkeys(f.media_type for f in readable):
        if value := text(media_type):
            sub(root, DC("format")).text = value

    # 14. the landing page
    sub(root, D("identifier"), identifierType="URL").text = context.landing_page(work)

    # 15. access right as it is now
    access = common.access_info(context.effective_access(work))
    sub(root, D("rights"), rightsURI=access.coar_uri).text = access.label

    # 17. subjects
    common.datacite_subjects(root, doc, text)

    # 18. licence
    if licence := common.licence(doc):
        start = embargo_end.isoformat() if embargo_end else (
            issued if issued and len(issued) == 10 else published or work.datestamp.strftime("%Y-%m-%d"))
        sub(root, O("licenseCondition"), uri=licence[0], startDate=start).text = licence[1]

    # 19. coverage
    for code in common.strings(doc.get("countries")):
        if name := common.country_name(code):
            sub(root, DC("coverage")).text = name

    # 20. size
    extent = common.obj(doc, "extent")
    if extent and (count := extent.get("pages")).__class__ is int and count > 0:
        sub(sub(root, D("sizes")), D("size")).text = f"{count} pages"

    # 22. version
    version = effective_version(work.type, doc.get("version"))
    sub(root, O("version"), uri=f"http://purl.org/coar/version/{VERSIONS[version][0]}").text = version.value

    # 23. files the public may read now
    for file in readable:
        object_type = "fulltext" if file is main and info.general == "literature" else "other"
        sub(root, O("file"), accessRightsURI=COAR_OPEN, mimeType=text(file.media_type) or "application/octet-stream",
            objectType=object_type).text = context.file_url(work, file)

    # 24–31. citation
    conference = common.obj(doc, "conference")
    host = journal or book
    citation_title = text(host.get("title")) if host else None
    if not citation_title and conference:
        citation_title = text(conference.get("name"))
    if citation_title:
        sub(root, O("citationTitle")).text = citation_title
    if journal:
        for key, tag in (("volume", "citationVolume"), ("issue", "citationIssue")):
            if value := text(journal.get(key)):
                sub(root, O(tag)).text = value
    first, last = common.pages(host, text)
    if first:
        sub(root, O("citationStartPage")).text = first
    if last:
        sub(root, O("citationEndPage")).text = last
    if edition := text(doc.get("edition")):
        sub(root, O("citationEdition")).text = edition
    if conference:
        place = ", ".join(filter(None, (text(conference.get("place")),
                                        common.country_name(conference.get("country")))))
        if place:
            sub(root, O("citationConferencePlace")).text = place
        opens, closes = common.partial_date(conference.get("start")), common.partial_date(conference.get("end"))
        if opens and len(opens) == 10:
            sub(root, O("citationConferenceDate")).text = (
                f"{opens} - {closes}" if closes and len(closes) == 10 and closes != opens else opens)
    return root


OAI_OPENAIRE = MetadataFormat(prefix="oai_openaire", namespace=OAIRE_NS, schema=OAIRE_SCHEMA, crosswalk=crosswalk,
                              label="OpenAIRE 4", media_type="application/xml")
