"""``jats``: JATS 1.3 Journal Publishing ``<article>`` front matter, for journal articles and
reviews published in a journal identified by an ISSN (``works.issn_l``: JATS requires one in
``journal-meta``). Other works are not offered in this format (cannotDisseminateFormat;
ListMetadataFormats with their identifier leaves it out).

The JATS XSD has no target namespace and OAI-PMH admits only qualified payloads, so ``<article>``
is put in ``https://jats.nlm.nih.gov/publishing/1.3/`` (the namespace ListMetadataFormats
announces; see ../shared/schemas/SOURCES.md), without ``xsi:schemaLocation``.

* ``journal-meta``: the ISSN-L as ``journal-id``, the journal title, print and electronic ISSNs,
  the ISSN-L, the publisher;
* ``article-meta``: DOI and handle; the version (JAV); the main title in the article's language,
  subtitles, and a ``trans-title-group`` per translated title; authors and other contributors
  with their ORCID ``contrib-id`` and affiliations (ROR ``institution-id``); the publication
  date; volume, issue, first and last page; ``permissions`` (the licence as ``ali:license_ref``,
  ``ali:free_to_read`` now or from the embargo's end); a ``self-uri`` for the landing page and
  for each file the public may read now (the main file first); the abstract in the article's
  language, the others as ``trans-abstract``; a ``kwd-group`` per language (and per scheme);
  ``funding-group``; the conference; the page count.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lxml import etree

from repo.oai.formats import common
from repo.oai.formats.base import MetadataFormat
from repo.oai.formats.common import XML_LANG
from repo.oai.records import Disseminated, RenderContext
from repo.works.vocabularies import VERSIONS, effective_version

JATS_NS = "https://jats.nlm.nih.gov/publishing/1.3/"
JATS_SCHEMA = "https://jats.nlm.nih.gov/publishing/1.3/xsd/JATS-journalpublishing1-3-mathml3.xsd"
XLINK_NS = "http://www.w3.org/1999/xlink"
ALI_NS = "http://www.niso.org/schemas/ali/1.0/"
NSMAP = {None: JATS_NS, "xlink": XLINK_NS, "ali": ALI_NS}
HREF = f"{{{XLINK_NS}}}href"
ARTICLE_TYPES = {"journal_article": "research-article", "review": "review-article"}
CONTRIB_TYPES = {"supervisor": "thesis-advisor"}  # otherwise the role's own name


def J(name: str) -> str:  # noqa: N802 (reads like the namespace prefix)
    return f"{{{JATS_NS}}}{name}"


def A(name: str) -> str:  # noqa: N802
    return f"{{{ALI_NS}}}{name}"


def _contrib(group: etree._Element, person: dict[str, Any], contrib_type: str, text: common.Clean) -> None:
    sub = etree.SubElement
    family, given, name = common.name_parts(person, text)
    if not (family or name):
        return
    contrib = sub(group, J("contrib"), {"contrib-type": contrib_type})
    if orcid := common.orcid(person):
        sub(contrib, J("contrib-id"), {"contrib-id-type": "orcid"}).text = common.ORCID_URI + orcid
    if family:
        element = sub(contrib, J("name"), {"name-style": "western"})
        sub(element, J("surname")).text = family  # particles and compound surnames whole
        if given:
            sub(element, J("given-names")).text = given
    else:
        sub(contrib, J("collab")).text = name
    for affiliation in common.dicts(person, "affiliations"):
        if label := text(affiliation.get("name")):
            aff = sub(contrib, J("aff"))
            wrap = sub(aff, J("institution-wrap"))
            if ror := common.ror(affiliation.get("ror")):
                sub(wrap, J("institution-id"), {"institution-id-type": "ror"}).text = ror
            sub(wrap, J("institution"), {"content-type": "orgname"}).text = label
            country = common.key(affiliation.get("country"))
            if country_name := common.country_name(country):
                sub(aff, J("country"), country=country.upper()).text = country_name  # type: ignore[union-attr]


def _date(parent: etree._Element, tag: str, value: str, attributes: dict[str, str]) -> None:
    """A JATS date (day, month, year in that order) of a ``YYYY[-MM[-DD]]`` date."""
    year, month, day = common.date_parts(value)
    element = etree.SubElement(parent, J(tag), {**attributes, "iso-8601-date": value})
    if day:
        etree.SubElement(element, J("day")).text = day
    if month:
        etree.SubElement(element, J("month")).text = month
    etree.SubElement(element, J("year")).text = year


def crosswalk(work: Disseminated, context: RenderContext) -> etree._Element:
    doc = work.doc
    text = common.cleaner(work)
    sub = etree.SubElement
    languages = [code for code in common.strings(doc.get("languages")) if common.lang(code)]
    article_lang = common.lang(languages[0]) if languages else None
    attributes = {"article-type": ARTICLE_TYPES.get(work.type or "", "research-article"), "dtd-version": "1.3"}
    if article_lang:
        attributes[XML_LANG] = article_lang
    article = etree.Element(J("article"), attributes, nsmap=NSMAP)
    front = sub(article, J("front"))

    # journal-meta: journal-id+, journal-title-group, issn+, issn-l, publisher
    journal = common.obj(doc, "journal") or {}
    meta = sub(front, J("journal-meta"))
    sub(meta, J("journal-id"), {"journal-id-type": "issn"}).text = work.issn_l
    if journal_title := text(journal.get("title")):
        sub(sub(meta, J("journal-title-group")), J("journal-title")).text = journal_title
    issns = [(fmt, value) for key, fmt in (("issn", "print"), ("eissn", "electronic"))
             if (value := text(journal.get(key)))]
    for fmt, value in issns or [("print", work.issn_l or "")]:
        sub(meta, J("issn"), {"publication-format": fmt}).text = value
    sub(meta, J("issn-l")).text = work.issn_l
    if publisher := text(doc.get("publisher")):
        element = sub(meta, J("publisher"))
        sub(element, J("publisher-name")).text = publisher
        if place := text(doc.get("place")):
            sub(element, J("publisher-loc")).text = place

    # article-meta, in the order the DTD fixes
    meta = sub(front, J("article-meta"))
    if doi := text(doc.get("doi")):
        sub(meta, J("article-id"), {"pub-id-type": "doi"}).text = doi
    if handle := text(doc.get("handle")):
        sub(meta, J("article-id"), {"pub-id-type": "handle"}).text = handle
    version = effective_version(work.type, doc.get("version"))
    sub(meta, J("article-version"), {"article-version-type": version.value, "vocab": "JAV",
                                     "vocab-identifier": "http://www.niso.org/publications/rp/RP-8-2008.pdf"}
        ).text = VERSIONS[version][1]

    group = sub(meta, J("title-group"))
    titles = [t for t in common.titles(doc) if text(t.get("value"))]
    main = next((t for t in titles if t.get("type", "main") == "main"), titles[0] if titles else None)
    title = sub(group, J("article-title"))
    if main is not None:
        title.text = text(main.get("value"))
        if (code := common.lang(main.get("lang"))) and code != article_lang:
            title.set(XML_LANG, code)
    for item in titles:
        if item is not main and item.get("type") == "subtitle":
            sub(group, J("subtitle")).text = text(item.get("value"))
    for item in titles:
        if item is not main and item.get("type") == "translated":
            trans = sub(group, J("trans-title-group"))
            if code := common.lang(item.get("lang")):
                trans.set(XML_LANG, code)
            sub(trans, J("trans-title")).text = text(item.get("value"))
    for item in titles:
        if item is not main and item.get("type") == "alternative":
            sub(group, J("alt-title"), {"alt-title-type": "alternative"}).text = text(item.get("value"))

    creators, contributors = common.dicts(doc, "creators"), common.dicts(doc, "contributors")
    if creators or contributors:
        contribs = sub(meta, J("contrib-group"))
        for person in creators:
            _contrib(contribs, person, "author", text)
        for person in contributors:
            role = common.key(person.get("role")) or "other"
            _contrib(contribs, person, CONTRIB_TYPES.get(role, role), text)
        if not len(contribs):
            meta.remove(contribs)

    if issued := common.partial_date(doc.get("publication_date")):
        _date(meta, "pub-date", issued, {"date-type": "pub"})
    else:
        sub(meta, J("pub-date-not-available"))
    for key in ("volume", "issue"):
        if value := text(journal.get(key)):
            sub(meta, J(key)).text = value
    first, last = common.pages(journal, text)
    if first:
        sub(meta, J("fpage")).text = first
        if last:
            sub(meta, J("lpage")).text = last

    permissions = sub(meta, J("permissions"))
    embargo_end = common.embargo_end(work, context)
    if context.effective_access(work) == "open":
        sub(permissions, A("free_to_read"))
    elif embargo_end is not None:
        sub(permissions, A("free_to_read"), start_date=embargo_end.isoformat())
    if licence := common.licence(doc):
        element = sub(permissions, J("license"), {HREF: licence[0]})
        sub(element, A("license_ref")).text = licence[0]
        sub(element, J("license-p")).text = licence[1]
    if not len(permissions):
        meta.remove(permissions)

    sub(meta, J("self-uri"), {HREF: context.landing_page(work)})
    readable, _ = common.open_files(work, context)
    for file in readable:
        attributes = {HREF: context.file_url(work, file)}
        if media_type := text(file.media_type):
            attributes["content-type"] = media_type
        sub(meta, J("self-uri"), attributes)

    abstracts = [a for a in common.dicts(doc, "abstracts") if text(a.get("value"))]
    if abstracts:
        first_abstract = next((a for a in abstracts if common.lang(a.get("lang")) == article_lang), abstracts[0])
        ordered = [first_abstract] + [a for a in abstracts if a is not first_abstract]
        for position, abstract in enumerate(ordered):
            element = sub(meta, J("abstract" if position == 0 else "trans-abstract"))
            if (code := common.lang(abstract.get("lang"))) and (position or code != article_lang):
                element.set(XML_LANG, code)
            sub(element, J("p")).text = text(abstract.get("value"))

    keywords: dict[tuple[str | None, str | None, str | None], list[str]] = defaultdict(list)
    for subject in common.dicts(doc, "subjects"):
        if value := text(subject.get("value")):
            keywords[(common.lang(subject.get("lang")), text(subject.get("scheme")),
                      common.uri(subject.get("scheme_uri")))].append(value)
    for (code, scheme, scheme_uri), values in keywords.items():
        element = sub(meta, J("kwd-group"))
        if code:
            element.set(XML_LANG, code)
        if scheme:
            element.set("vocab", scheme)
            if scheme_uri:
                element.set("vocab-identifier", scheme_uri)
        for value in values:
            sub(element, J("kwd")).text = value

    funding = [f for f in common.dicts(doc, "funding") if text(f.get("funder"))]
    if funding:
        element = sub(meta, J("funding-group"))
        for item in funding:
            award = sub(element, J("award-group"))
            wrap = sub(sub(award, J("funding-source")), J("institution-wrap"))
            if funder_id := common.uri(item.get("funder_id")):
                if funder_id.startswith("https://doi.org/"):
                    sub(wrap, J("institution-id"), {"institution-id-type": "doi", "vocab": "open-funder-registry"}
                        ).text = funder_id.removeprefix("https://doi.org/")
                else:
                    sub(wrap, J("institution-id"), {"institution-id-type": "ror"}).text = funder_id
            sub(wrap, J("institution")).text = text(item.get("funder"))
            if number := text(item.get("award_number")):
                attributes = {HREF: award_uri} if (award_uri := common.uri(item.get("award_uri"))) else {}
                sub(award, J("award-id"), attributes).text = number
            if award_title := text(item.get("award_title")):
                sub(award, J("award-name")).text = award_title

    conference = common.obj(doc, "conference")
    conference_name = text(conference.get("name")) if conference else None
    start = common.partial_date(conference.get("start")) if conference else None
    if conference and conference_name and start:
        element = sub(meta, J("conference"))
        end = common.partial_date(conference.get("end"))
        sub(element, J("conf-date"), {"iso-8601-date": start}).text = f"{start}/{end}" if end and end != start else start
        sub(element, J("conf-name")).text = conference_name
        if acronym := text(conference.get("acronym")):
            sub(element, J("conf-acronym")).text = acronym
        if number := text(conference.get("number")):
            sub(element, J("conf-num")).text = number
        place = ", ".join(filter(None, (text(conference.get("place")), common.country_name(conference.get("country")))))
        if place:
            sub(element, J("conf-loc")).text = place

    extent = common.obj(doc, "extent")
    if extent and (count := extent.get("pages")).__class__ is int and count > 0:
        sub(sub(meta, J("counts")), J("page-count"), count=str(count))
    return article


JATS = MetadataFormat(prefix="jats", namespace=JATS_NS, schema=JATS_SCHEMA, crosswalk=crosswalk, label="JATS",
                      media_type="application/xml", types=frozenset(ARTICLE_TYPES), needs_issn_l=True)
