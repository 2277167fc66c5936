"""``oai_datacite``: a DataCite Metadata Schema 4 ``resource`` inside the DataCite OAI wrapper
(oai-1.1: ``schemaVersion``, ``datacentreSymbol``, ``payload``), for every work type.

* ``identifier``: the DOI when the work has one, else its handle, else the landing page (URL);
  the others become ``alternateIdentifiers``;
* the six mandatory properties are always present: a work without creators, titles, publisher
  or year gets DataCite's standard value ``(:unav)`` (or its publication year from the moment it
  was made public here); without a publisher the repository itself is the publisher (DataCite's
  convention for what a repository makes available);
* ``resourceType`` with its ``resourceTypeGeneral`` (JournalArticle, BookChapter, Dissertation…)
  and the COAR label;
* creators and contributors with ORCID and ROR-identified affiliations; ``dates``: Issued, and
  Available (the embargo's end) while an embargo lasts; the first language (DataCite allows one);
  ``relatedIdentifiers`` and ``relatedItems`` for the host journal (IsPublishedIn) or book
  (IsPartOf) with volume, issue and pages; ``rightsList``: the licence (with its SPDX id) and the
  COAR access right as it is now; ``fundingReferences``; countries as ``geoLocationPlace``;
  the media types of the files anyone may read as ``formats``.
"""

from __future__ import annotations

import re

from lxml import etree

from repo.oai.formats import common
from repo.oai.formats.base import MetadataFormat
from repo.oai.formats.common import SCHEMA_LOCATION, XML_LANG, XSI_NS
from repo.oai.records import Disseminated, RenderContext

OAI_DATACITE_NS = "http://schema.datacite.org/oai/oai-1.1/"
OAI_DATACITE_SCHEMA = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
KERNEL_NS = "http://datacite.org/schema/kernel-4"
KERNEL_SCHEMA = "http://schema.datacite.org/meta/kernel-4/metadata.xsd"
KERNEL_VERSION = "4.7"  # the kernel-4 schema the records are validated against
UNAVAILABLE = "(:unav)"  # DataCite's standard value for a mandatory property without a value

WRAPPER_ATTRIBUTES = {SCHEMA_LOCATION: f"{OAI_DATACITE_NS} {OAI_DATACITE_SCHEMA}"}
RESOURCE_ATTRIBUTES = {SCHEMA_LOCATION: f"{KERNEL_NS} {KERNEL_SCHEMA}"}

RESOURCE_TYPES = {
    "book": "Book", "book_part": "BookChapter", "working_paper": "Report", "journal_article": "JournalArticle",
    "lecture": "Presentation", "conference_paper": "ConferencePaper", "report": "Report",
    "doctoral_thesis": "Dissertation", "master_thesis": "Dissertation", "bachelor_thesis": "Dissertation",
    "review": "Text", "preprint": "Preprint", "sound": "Sound", "video": "Audiovisual", "image": "Image",
    "other": "Other",
}
_CC = re.compile(r"https://creativecommons\.org/(?:licenses/([a-z-]+)/(\d\.\d)/|publicdomain/zero/1\.0/)")


def W(name: str) -> str:  # noqa: N802 (the wrapper's namespace)
    return f"{{{OAI_DATACITE_NS}}}{name}"


def K(name: str) -> str:  # noqa: N802 (the kernel's namespace)
    return f"{{{KERNEL_NS}}}{name}"


def spdx(licence_uri: str) -> str | None:
    """The SPDX identifier of an unported Creative Commons licence (``CC-BY-NC-SA-4.0``, ``CC0-1.0``)."""
    match = _CC.fullmatch(licence_uri)
    if not match:
        return None
    return f"CC-{match[1].upper()}-{match[2]}" if match[1] else "CC0-1.0"


def crosswalk(work: Disseminated, context: RenderContext) -> etree._Element:
    doc = work.doc
    text = common.cleaner(work)
    sub = etree.SubElement
    wrapper = etree.Element(W("oai_datacite"), WRAPPER_ATTRIBUTES, nsmap={None: OAI_DATACITE_NS, "xsi": XSI_NS})
    sub(wrapper, W("schemaVersion")).text = KERNEL_VERSION
    sub(wrapper, W("datacentreSymbol")).text = context.settings.oai_repository_identifier.upper()
    payload = sub(wrapper, W("payload"))
    resource = sub(payload, K("resource"), RESOURCE_ATTRIBUTES, nsmap={None: KERNEL_NS})

    landing = context.landing_page(work)
    doi, handle = text(doc.get("doi")), text(doc.get("handle"))
    if doi:
        sub(resource, K("identifier"), identifierType="DOI").text = doi
    elif handle:
        sub(resource, K("identifier"), identifierType="Handle").text = handle
    else:
        sub(resource, K("identifier"), identifierType="URL").text = landing

    creators = sub(resource, K("creators"))
    common.datacite_people(creators, "creator", common.dicts(doc, "creators"), text)
    if not len(creators):
        sub(sub(creators, K("creator")), K("creatorName")).text = UNAVAILABLE

    common.datacite_titles(resource, doc, text, UNAVAILABLE)

    sub(resource, K("publisher")).text = text(doc.get("publisher")) or context.settings.repository_name
    issued = common.partial_date(doc.get("publication_date"))
    year = issued[:4] if issued else str((work.published_at or work.datestamp).year)
    sub(resource, K("publicationYear")).text = year
    info = common.type_info(work.type)
    sub(resource, K("resourceType"), resourceTypeGeneral=RESOURCE_TYPES.get(info.key, "Other")).text = info.label

    common.datacite_subjects(resource, doc, text)

    contributors = common.dicts(doc, "contributors")
    if contributors:
        element = sub(resource, K("contributors"))
        common.datacite_people(element, "contributor", contributors, text)

    dates = sub(resource, K("dates"))
    if issued:
        sub(dates, K("date"), dateType="Issued").text = issued
    if (embargo_end := common.embargo_end(work, context)) is not None:
        sub(dates, K("date"), dateType="Available").text = embargo_end.isoformat()
    if not len(dates):
        resource.remove(dates)

    for code in common.strings(doc.get("languages"))[:1]:
        if (language := common.lang(code)) and code != "zxx":
            sub(resource, K("language")).text = language

    alternates: list[tuple[str, str]] = []
    if doi and handle:
        alternates.append(("Handle", handle))
    if doi or handle:
        alternates.append(("URL", landing))
    common.datacite_identifiers(resource, alternates + common.other_identifiers(doc, text),
                                common.related_resources(doc, text, "IsPublishedIn"))
    journal, book, series = common.obj(doc, "journal"), common.obj(doc, "book"), common.obj(doc, "series")

    extent = common.obj(doc, "extent")
    if extent and (count := extent.get("pages")).__class__ is int and count > 0:
        sub(sub(resource, K("sizes")), K("size")).text = f"{count} pages"
    readable, _ = common.open_files(work, context)
    media_types = [value for value in dict.fromkeys(text(f.media_type) for f in readable) if value]
    if media_types:
        element = sub(resource, K("formats"))
        for media_type in media_types:
            sub(element, K("format")).text = media_type

    rights = sub(resource, K("rightsList"))
    if licence := common.licence(doc):
        attributes = {"rightsURI": licence[0]}
        if identifier := spdx(licence[0]):
            attributes |= {"rightsIdentifier": identifier, "rightsIdentifierScheme": "SPDX",
                           "schemeURI": "https://spdx.org/licenses/"}
        sub(rights, K("rights"), attributes).text = licence[1]
    access = common.access_info(context.effective_access(work))
    sub(rights, K("rights"), rightsURI=access.coar_uri).text = access.label

    abstracts = [a for a in common.dicts(doc, "abstracts") if text(a.get("value"))]
    series_title = text(series.get("title")) if series else None
    if abstracts or series_title:
        element = sub(resource, K("descriptions"))
        for abstract in abstracts:
            item = sub(element, K("description"), descriptionType="Abstract")
            item.text = text(abstract.get("value"))
            if code := common.lang(abstract.get("lang")):
                item.set(XML_LANG, code)
        if series_title:
            number = text(series.get("number"))  # type: ignore[union-attr]
            sub(element, K("description"), descriptionType="SeriesInformation").text = (
                f"{series_title}, {number}" if number else series_title)

    places = [name for name in map(common.country_name, common.strings(doc.get("countries"))) if name]
    if places:
        element = sub(resource, K("geoLocations"))
        for place in places:
            sub(sub(element, K("geoLocation")), K("geoLocationPlace")).text = place

    common.funding_references(resource, KERNEL_NS, doc, text, streams=False)

    host = journal or book
    host_title = text(host.get("title")) if host else None
    if host and host_title:
        items = sub(resource, K("relatedItems"))
        item = sub(items, K("relatedItem"), relatedItemType="Journal" if journal else "Book",
                   relationType="IsPublishedIn" if journal else "IsPartOf")
        scheme, identifier = ("ISSN", work.issn_l) if journal else ("ISBN", text(host.get("isbn")))
        if identifier:
            sub(item, K("relatedItemIdentifier"), relatedItemIdentifierType=scheme).text = identifier
        sub(sub(item, K("titles")), K("title")).text = host_title
        if issued:
            sub(item, K("publicationYear")).text = issued[:4]
        if journal:
            for key in ("volume", "issue"):
                if value := text(journal.get(key)):
                    sub(item, K(key)).text = value
        first, last = common.pages(host, text)
        if first:
            sub(item, K("firstPage")).text = first
        if last:
            sub(item, K("lastPage")).text = last
        if book and (publisher := text(doc.get("publisher"))):
            sub(item, K("publisher")).text = publisher
        editors = common.dicts(book, "editors") if book else []
        if editors:
            element = sub(item, K("contributors"))
            for editor in editors:
                family, given, name = common.name_parts(editor, text)
                if display := common.inverted(family, given, name):
                    contributor = sub(element, K("contributor"), contributorType="Editor")
                    sub(contributor, K("contributorName"),
                        nameType="Personal" if family else "Organizational").text = display
                    if family:
                        if given:
                            sub(contributor, K("givenName")).text = given
                        sub(contributor, K("familyName")).text = family
            if not len(element):
                item.remove(element)
    return wrapper


OAI_DATACITE = MetadataFormat(prefix="oai_datacite", namespace=OAI_DATACITE_NS, schema=OAI_DATACITE_SCHEMA,
                              crosswalk=crosswalk, label="DataCite", media_type="application/xml")
