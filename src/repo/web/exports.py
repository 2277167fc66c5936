"""Machine-readable descriptions of a work: BibTeX, RIS, CSL-JSON, schema.org JSON-LD,
Highwire Press ``citation_*`` meta tags (Google Scholar), FAIR Signposting links, and the records
of every OAI-PMH metadata format that applies to the work (``/works/{id}/export/{prefix}``: the
same crosswalks as the OAI-PMH endpoint, linked from the page, from Signposting ``describedby``
and from the JSON-LD ``subjectOf``).

All are built from a :class:`~repo.web.record.Record` (SQL), never from the search index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from repo.config import Settings
from repo.errors import NotFound
from repo.oai import records as oai_records
from repo.oai.formats import REGISTRY, MetadataFormat
from repo.web.citations import APA_WORDS, DESCRIBED, THESES, conference_name, publisher_of
from repo.web.record import Record
from repo.works.schemas import Person

# media type, file extension of each export
EXPORTS: dict[str, tuple[str, str]] = {
    "bibtex": ("application/x-bibtex; charset=utf-8", "bib"),
    "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
    "csl-json": ("application/vnd.citationstyles.csl+json", "json"),
    "json-ld": ("application/ld+json", "jsonld"),
}

CSL_TYPES = {
    "book": "book", "book_part": "chapter", "working_paper": "report", "journal_article": "article-journal",
    "lecture": "speech", "conference_paper": "paper-conference", "report": "report",
    "doctoral_thesis": "thesis", "master_thesis": "thesis", "bachelor_thesis": "thesis", "review": "review",
    "preprint": "article", "sound": "song", "video": "motion_picture", "image": "graphic", "other": "article",
}
BIBTEX_TYPES = {
    "book": "book", "book_part": "incollection", "working_paper": "techreport", "journal_article": "article",
    "conference_paper": "inproceedings", "report": "techreport", "doctoral_thesis": "phdthesis",
    "master_thesis": "mastersthesis", "bachelor_thesis": "misc",
}
RIS_TYPES = {
    "book": "BOOK", "book_part": "CHAP", "working_paper": "RPRT", "journal_article": "JOUR", "lecture": "SOUND",
    "conference_paper": "CPAPER", "report": "RPRT", "doctoral_thesis": "THES", "master_thesis": "THES",
    "bachelor_thesis": "THES", "review": "JOUR", "preprint": "UNPB", "sound": "SOUND", "video": "VIDEO",
    "image": "ART", "other": "GEN",
}
SCHEMA_TYPES = {
    "book": "Book", "book_part": "Chapter", "working_paper": "Report", "journal_article": "ScholarlyArticle",
    "lecture": "CreativeWork", "conference_paper": "ScholarlyArticle", "report": "Report",
    "doctoral_thesis": "Thesis", "master_thesis": "Thesis", "bachelor_thesis": "Thesis", "review": "Review",
    "preprint": "ScholarlyArticle", "sound": "AudioObject", "video": "VideoObject", "image": "ImageObject",
    "other": "CreativeWork",
}


def schema_type(record: Record) -> str:
    return SCHEMA_TYPES.get(record.work.type or "other", "CreativeWork")


#: biblatex language names (its localisation keys) of the commonest ISO 639-3 codes; others get
#: their English name in lower case, which biblatex prints as given.
BIBLATEX_LANGUAGES = {
    "spa": "spanish", "por": "portuguese", "eng": "english", "fra": "french", "deu": "german", "ita": "italian",
    "cat": "catalan", "nld": "dutch", "glg": "galician", "eus": "basque", "rus": "russian", "pol": "polish",
}


def biblatex_language(code: str) -> str:
    from repo.works.vocabularies import language_name

    return BIBLATEX_LANGUAGES.get(code) or language_name(code).lower()


#: schema.org types whose items may carry a ``duration`` (MediaObject and its subtypes).
TIMED_TYPES = ("AudioObject", "VideoObject", "MediaObject")


def _iso639_1(code: str) -> str:
    from repo.web.i18n import _alpha2

    return _alpha2(code) or code


# -- BibTeX ----------------------------------------------------------------------------------------------

_BIBTEX_SPECIAL = re.compile(r"([\\{}&%$#_^~])")


def _bibtex_value(text: str) -> str:
    """Escape TeX specials; the value goes between braces (UTF-8 is kept: biber and bibtexparser read it)."""
    escaped = _BIBTEX_SPECIAL.sub(lambda m: {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}"}.get(
        m.group(1), "\\" + m.group(1)), text)
    return "{" + escaped + "}"


def _bibtex_person(person: Person) -> str:
    if person.family:
        return f"{person.family}, {person.given}" if person.given else person.family
    return "{" + (person.name or "") + "}"  # an organisation: braces keep it one name


def bibtex(record: Record) -> str:
    m, work = record.metadata, record.work
    kind = BIBTEX_TYPES.get(work.type or "", "misc")
    fields: list[tuple[str, str]] = [("title", record.title)]
    if record.authors:
        fields.append(("author", " and ".join(_bibtex_person(p) for p in record.authors)))
    editors = record.contributors_with("editor")
    if editors:
        fields.append(("editor", " and ".join(_bibtex_person(p) for p in editors)))
    if record.year:
        fields.append(("year", str(record.year)))
    if m.journal:
        fields += [("journal", m.journal.title)]
        fields += [(k, v) for k, v in (("volume", m.journal.volume), ("number", m.journal.issue)) if v]
        if m.journal.pages and m.journal.pages.start:
            fields.append(("pages", "--".join(p for p in (m.journal.pages.start, m.journal.pages.end) if p)))
        if m.journal.issn:
            fields.append(("issn", m.journal.issn))
    if m.book:
        fields.append(("booktitle", m.book.title))
        if m.book.pages and m.book.pages.start:
            fields.append(("pages", "--".join(p for p in (m.book.pages.start, m.book.pages.end) if p)))
    if m.series:
        fields.append(("series", m.series.title))
        if m.series.number and not m.journal:
            fields.append(("number", m.series.number))
    if publisher_of(record):
        fields.append(("institution" if kind == "techreport" else "school" if kind.endswith("thesis")
                       else "publisher", publisher_of(record)))
    if m.place:
        fields.append(("address", m.place))
    if m.isbn:
        fields.append(("isbn", m.isbn[0]))
    if m.doi:
        fields.append(("doi", m.doi))
    fields.append(("url", record.url))
    if m.languages:
        fields.append(("language", " and ".join(biblatex_language(code) for code in m.languages)))
    keywords = [s.value for s in m.subjects]
    if keywords:
        fields.append(("keywords", ", ".join(keywords)))
    abstract = next(iter(m.abstracts), None)
    if abstract:
        fields.append(("abstract", abstract.value))
    if m.license:
        fields.append(("copyright", m.license))
    body = ",\n".join(f"  {key} = {_bibtex_value(value)}" for key, value in fields)
    return f"@{kind}{{repo{work.id},\n{body}\n}}\n"


# -- RIS -----------------------------------------------------------------------------------------------


def _ris_line(tag: str, value: str) -> str:
    return f"{tag}  - {' '.join(value.split())}"  # RIS values are single lines


def ris(record: Record) -> str:
    m, work = record.metadata, record.work
    lines = [_ris_line("TY", RIS_TYPES.get(work.type or "", "GEN")), _ris_line("TI", record.title)]
    lines += [_ris_line("AU", p.display) for p in record.authors]
    lines += [_ris_line("A2", p.display) for p in record.contributors_with("editor")]
    if m.publication_date:
        lines.append(_ris_line("PY", m.publication_date[:4]))
        parts = m.publication_date.split("-")
        lines.append(_ris_line("DA", "/".join(parts + [""] * (3 - len(parts))) + "/"))
    if m.journal:
        lines.append(_ris_line("T2", m.journal.title))
        lines += [_ris_line(tag, v) for tag, v in (("VL", m.journal.volume), ("IS", m.journal.issue)) if v]
        if m.journal.pages:
            lines += [_ris_line(tag, v) for tag, v in (("SP", m.journal.pages.start), ("EP", m.journal.pages.end)) if v]
        if m.journal.issn:
            lines.append(_ris_line("SN", m.journal.issn))
    if m.book:
        lines.append(_ris_line("T2", m.book.title))
        if m.book.pages:
            lines += [_ris_line(tag, v) for tag, v in (("SP", m.book.pages.start), ("EP", m.book.pages.end)) if v]
    if m.series:
        lines.append(_ris_line("T3", m.series.title))
    lines += [_ris_line("SN", isbn) for isbn in m.isbn]
    if m.publisher:
        lines.append(_ris_line("PB", m.publisher))
    if m.place:
        lines.append(_ris_line("CY", m.place))
    if m.doi:
        lines.append(_ris_line("DO", m.doi))
    lines += [_ris_line("LA", lang) for lang in m.languages]
    lines += [_ris_line("KW", s.value) for s in m.subjects]
    lines += [_ris_line("AB", a.value) for a in m.abstracts[:1]]
    lines.append(_ris_line("UR", record.url))
    lines += [_ris_line("L1", f.url) for f in record.files if f.readable]
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"


# -- CSL-JSON ------------------------------------------------------------------------------------------


def _csl_name(person: Person) -> dict[str, str]:
    if person.family:
        return {"family": person.family, **({"given": person.given} if person.given else {})}
    return {"literal": person.name or ""}


def csl_item(record: Record) -> dict[str, Any]:
    m, work = record.metadata, record.work
    item: dict[str, Any] = {"id": f"repo{work.id}", "type": CSL_TYPES.get(work.type or "other", "article"),
                            "title": record.title, "URL": record.url}
    if record.authors:
        item["author"] = [_csl_name(p) for p in record.authors]
    editors = record.contributors_with("editor") + (m.book.editors if m.book else [])
    if editors:
        item["editor"] = [_csl_name(p) for p in editors]
    if m.publication_date:
        item["issued"] = {"date-parts": [[int(part) for part in m.publication_date.split("-")]]}
    if m.journal:
        item["container-title"] = m.journal.title
        item.update({k: v for k, v in (("volume", m.journal.volume), ("issue", m.journal.issue)) if v})
        if m.journal.pages and m.journal.pages.start:
            item["page"] = "-".join(p for p in (m.journal.pages.start, m.journal.pages.end) if p)
        if m.journal.issn:
            item["ISSN"] = m.journal.issn
    if m.book:
        item["container-title"] = m.book.title
        if m.book.pages and m.book.pages.start:
            item["page"] = "-".join(p for p in (m.book.pages.start, m.book.pages.end) if p)
    if m.series:
        item["collection-title"] = m.series.title
        if m.series.number:
            item["collection-number"] = m.series.number
    conference = conference_name(record) if work.type in ("conference_paper", "lecture") else None
    if publisher_of(record) and not conference:  # a presentation names its event, not a publisher (APA 7 §10.5)
        item["publisher"] = publisher_of(record)
    if work.type in (*THESES, *DESCRIBED):  # what APA says in brackets: [Doctoral dissertation], [Video]…
        item["genre"] = APA_WORDS["en"][work.type]
    if conference:
        item["event"] = conference  # CSL-JSON 1.0.1 (1.0.2 renames it event-title)
    if m.place:
        item["publisher-place"] = m.place
    if m.isbn:
        item["ISBN"] = m.isbn[0]
    if m.doi:
        item["DOI"] = m.doi
    if m.languages:
        item["language"] = _iso639_1(m.languages[0])
    if m.abstracts:
        item["abstract"] = m.abstracts[0].value
    if m.subjects:
        item["keyword"] = ", ".join(s.value for s in m.subjects)
    if m.extent and m.extent.pages:
        item["number-of-pages"] = str(m.extent.pages)
    return item


def csl_json(record: Record) -> str:
    return json.dumps([csl_item(record)], ensure_ascii=False, indent=2)


# -- schema.org JSON-LD --------------------------------------------------------------------------------------


def _schema_person(person: Person) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": "Person" if person.family else "Organization",
                            "name": f"{person.given} {person.family}".strip() if person.family else person.name}
    if person.family:
        node["familyName"] = person.family
        if person.given:
            node["givenName"] = person.given
    if person.orcid:
        node["@id"] = f"https://orcid.org/{person.orcid}"
        node["identifier"] = f"https://orcid.org/{person.orcid}"
    if person.affiliations:
        node["affiliation"] = [{"@type": "Organization", "name": a.name, **({"@id": a.ror} if a.ror else {})}
                               for a in person.affiliations]
    return node


def json_ld(record: Record) -> dict[str, Any]:
    m, work = record.metadata, record.work
    node: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": schema_type(record),
        "@id": record.url,
        "url": record.url,
        "name": record.title,
        "headline": record.title[:110],
        "isAccessibleForFree": record.access == "open",
    }
    alternates = [t.value for t in m.titles if t.value != record.title]
    if alternates:
        node["alternateName"] = alternates
    if record.authors:
        node["author"] = [_schema_person(p) for p in record.authors]
    others = [p for p in m.contributors if p.role != "editor"]
    if record.contributors_with("editor"):
        node["editor"] = [_schema_person(p) for p in record.contributors_with("editor")]
    if others:
        node["contributor"] = [_schema_person(p) for p in others]
    if m.publication_date:
        node["datePublished"] = m.publication_date
    if work.published_at:
        node["dateCreated"] = work.published_at.date().isoformat()
    node["dateModified"] = work.updated_at.isoformat()
    if m.abstracts:
        node["description"] = m.abstracts[0].value
    if m.languages:
        node["inLanguage"] = [_iso639_1(code) for code in m.languages]
    if m.subjects:
        node["keywords"] = [s.value for s in m.subjects]
    if m.license:
        node["license"] = m.license
    if m.publisher:
        node["publisher"] = {"@type": "Organization", "name": m.publisher}
    identifiers = [record.cite_as] if record.cite_as != record.url else []
    identifiers += [f"urn:isbn:{isbn}" for isbn in m.isbn]
    if identifiers:
        node["identifier"] = identifiers
    if m.isbn and node["@type"] == "Book":
        node["isbn"] = m.isbn[0]
    if m.doi:
        node["sameAs"] = f"https://doi.org/{m.doi}"
    if m.journal:
        # schema.org's pattern for an article: issue ⊂ volume ⊂ periodical (each level when known)
        host: dict[str, Any] = {"@type": "Periodical", "name": m.journal.title}
        issns = [v for v in (m.journal.issn, m.journal.eissn) if v]
        if issns:
            host["issn"] = issns if len(issns) > 1 else issns[0]
        if m.journal.volume:
            host = {"@type": "PublicationVolume", "volumeNumber": m.journal.volume, "isPartOf": host}
        if m.journal.issue:
            host = {"@type": "PublicationIssue", "issueNumber": m.journal.issue, "isPartOf": host}
        node["isPartOf"] = host
        if m.journal.pages and m.journal.pages.start:
            node["pageStart"] = m.journal.pages.start
            if m.journal.pages.end:
                node["pageEnd"] = m.journal.pages.end
    if m.book:
        node["isPartOf"] = {"@type": "Book", "name": m.book.title, **({"isbn": m.book.isbn} if m.book.isbn else {})}
    if m.countries:
        node["spatialCoverage"] = [{"@type": "Country", "identifier": c} for c in m.countries]
    if m.extent and m.extent.pages:
        node["numberOfPages"] = m.extent.pages
    duration = m.extent.duration if m.extent else None
    if duration and node["@type"] in TIMED_TYPES:
        node["duration"] = duration
    node["sourceOrganization"] = {"@type": "Organization", "name": work.centre.name,
                                  **({"@id": work.centre.ror} if work.centre.ror else {})}
    encodings = []
    for f in record.files:
        if not f.readable:
            continue
        encoding: dict[str, Any] = {"@type": {"audio": "AudioObject", "video": "VideoObject", "image": "ImageObject"}.get(
            f.kind, "MediaObject"), "contentUrl": f.url, "encodingFormat": f.media_type, "contentSize": str(f.size),
            "name": f.name}
        if duration and f.kind in ("audio", "video"):  # a recorded lecture: the recording lasts, the work does not
            encoding["duration"] = duration
        encodings.append(encoding)
    if encodings:
        node["encoding"] = encodings
    if node["@type"] in TIMED_TYPES + ("ImageObject",):
        main = next((f for f in record.files if f.readable and f.kind in ("audio", "video", "image")), None)
        if main is not None:
            node["contentUrl"], node["encodingFormat"] = main.url, main.media_type
        if work.published_at:
            node["uploadDate"] = work.published_at.date().isoformat()
    if record.picture:
        node["thumbnailUrl"] = record.picture
    # The metadata records about the work, in each harvesting format that applies to it.
    node["subjectOf"] = [{"@type": "DataDownload", "name": fmt.label, "encodingFormat": fmt.media_type,
                          "contentUrl": f"{record.url}/export/{fmt.prefix}", "schemaVersion": fmt.schema}
                         for fmt in metadata_formats(record)]
    return node


def json_ld_script(record: Record) -> str:
    """JSON-LD for a ``<script>`` element: ``<``, ``>`` and ``&`` escaped so no value can end it."""
    text = json.dumps(json_ld(record), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- Highwire Press tags (Google Scholar) ---------------------------------------------------------------------


def highwire(record: Record) -> list[tuple[str, str]]:
    """``(name, content)`` pairs, in the order Scholar's inclusion guidelines list them."""
    m, work = record.metadata, record.work
    tags: list[tuple[str, str]] = [("citation_title", record.title)]
    tags += [("citation_author", p.display) for p in record.authors]
    if m.publication_date:
        tags.append(("citation_publication_date", m.publication_date.replace("-", "/")))
    if work.published_at:
        tags.append(("citation_online_date", work.published_at.strftime("%Y/%m/%d")))
    if m.journal:
        tags.append(("citation_journal_title", m.journal.title))
        tags += [(k, v) for k, v in (("citation_volume", m.journal.volume), ("citation_issue", m.journal.issue)) if v]
        if m.journal.pages:
            tags += [(k, v) for k, v in (("citation_firstpage", m.journal.pages.start),
                                         ("citation_lastpage", m.journal.pages.end)) if v]
        tags += [("citation_issn", v) for v in (m.journal.issn, m.journal.eissn) if v]
    if m.book:
        tags.append(("citation_inbook_title", m.book.title))
        if m.book.pages:
            tags += [(k, v) for k, v in (("citation_firstpage", m.book.pages.start),
                                         ("citation_lastpage", m.book.pages.end)) if v]
        if m.book.isbn:  # Scholar and Zotero file a chapter under its book's ISBN
            tags.append(("citation_isbn", m.book.isbn))
    conference = conference_name(record)
    if work.type == "conference_paper" and conference:
        tags.append(("citation_conference_title", conference))
    if work.type in ("doctoral_thesis", "master_thesis", "bachelor_thesis"):
        tags.append(("citation_dissertation_institution", m.publisher or work.centre.name))
    if work.type in ("working_paper", "report"):
        tags.append(("citation_technical_report_institution", m.publisher or work.centre.name))
        if m.series and m.series.number:
            tags.append(("citation_technical_report_number", m.series.number))
    if m.publisher:
        tags.append(("citation_publisher", m.publisher))
    tags += [("citation_isbn", isbn) for isbn in m.isbn]
    if m.doi:
        tags.append(("citation_doi", m.doi))
    tags += [("citation_language", _iso639_1(code)) for code in m.languages]
    if m.subjects:
        tags.append(("citation_keywords", "; ".join(s.value for s in m.subjects)))
    tags.append(("citation_abstract_html_url", record.url))
    pdf = record.public_pdf
    if pdf is not None:  # only a file the public may read now, served by this host
        tags.append(("citation_pdf_url", pdf.url))
    return tags


# -- unAPI ------------------------------------------------------------------------------------------------

UNAPI_DOCS = {"bibtex": "https://www.bibtex.org/Format/", "ris": "https://en.wikipedia.org/wiki/RIS_(file_format)",
              "csl-json": "https://citeproc-js.readthedocs.io/en/latest/csl-json/markup.html",
              "json-ld": "https://schema.org/"}


def unapi_formats(record: Record | None) -> bytes:
    """The unAPI formats document: every export, or those of one work when ``record`` is given
    (the citation exports, and the OAI-PMH metadata formats that apply to it, each with its
    namespace and schema, so Zotero's unAPI reader recognises MODS and MARCXML)."""
    root = etree.Element("formats", **({"id": str(record.id)} if record is not None else {}))
    for name, (media_type, _) in EXPORTS.items():
        etree.SubElement(root, "format", name=name, type=media_type.split(";")[0], docs=UNAPI_DOCS[name])
    for fmt in metadata_formats(record) if record is not None else REGISTRY.values():
        etree.SubElement(root, "format", name=fmt.prefix, type=fmt.media_type, namespace_uri=fmt.namespace,
                         schema_location=fmt.schema)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def unapi_offers(record: Record, name: str) -> bool:
    """Whether unAPI offers export ``name`` of the work."""
    return name in EXPORTS or any(fmt.prefix == name for fmt in metadata_formats(record))


# -- Dublin Core meta tags (Zotero's embedded-metadata reader, other harvesters of pages) --------------

#: DCMI Type Vocabulary term of each work type (DC.type).
DCMI_TYPES = {"sound": "Sound", "video": "MovingImage", "image": "StillImage", "lecture": "Event"}


def dublin_core(record: Record) -> list[tuple[str, str]]:
    """``DC.*`` meta tags: what Highwire does not say (type, rights, the publisher of any type)."""
    m, work = record.metadata, record.work
    tags: list[tuple[str, str]] = [("DC.title", record.title)]
    tags += [("DC.creator", p.display) for p in record.authors]
    tags += [("DC.contributor", p.display) for p in m.contributors]
    if m.publication_date:
        tags.append(("DC.date", m.publication_date))
    tags.append(("DC.type", DCMI_TYPES.get(work.type or "", "Text")))
    publisher = publisher_of(record)
    if publisher:
        tags.append(("DC.publisher", publisher))
    tags.append(("DC.identifier", record.cite_as))
    tags += [("DC.language", _iso639_1(code)) for code in m.languages]
    tags += [("DC.subject", s.value) for s in m.subjects]
    if m.abstracts:
        tags.append(("DC.description", m.abstracts[0].value))
    if m.license:
        tags.append(("DC.rights", m.license))
    return tags


# -- OAI-PMH metadata formats ------------------------------------------------------------------------------


def _disseminated(record: Record) -> oai_records.Disseminated:
    """The work as the crosswalks read it. File views carry the access decided by
    ``repo.works.visibility`` for this moment, which the crosswalks ask again (same answer)."""
    work = record.work
    return oai_records.Disseminated(
        id=work.id, status=work.status, type=work.type, access_right=work.access_right,
        embargo_end=work.embargo_end, datestamp=work.datestamp or work.updated_at, centre=work.centre.slug,
        doc=work.doc, collections=[c.path for c in work.collections],
        files=[oai_records.FileView(f.name, f.media_type, f.access, f.embargo_end) for f in record.files],
        issn_l=work.issn_l, main_file=work.main_file, published_at=work.published_at,
    )


def metadata_formats(record: Record) -> list[MetadataFormat]:
    """The formats of the OAI-PMH registry that apply to this work (JATS only to articles…)."""
    work = _disseminated(record)
    return [fmt for fmt in REGISTRY.values() if fmt.applies_to(work)]


def metadata_record(record: Record, prefix: str, settings: Settings) -> tuple[bytes, str]:
    """The work's record in format ``prefix`` as a standalone XML document, and its media type."""
    fmt = REGISTRY.get(prefix)
    work = _disseminated(record)
    if fmt is None or not fmt.applies_to(work):
        raise NotFound(f"No {prefix[:40]!r} record for this work; it has "
                       f"{', '.join(f.prefix for f in REGISTRY.values() if f.applies_to(work))}.")
    context = oai_records.RenderContext(settings, record.now or work.datestamp)
    return fmt.serialize(work, context), fmt.media_type


# -- the export endpoint -------------------------------------------------------------------------------------


def require_known(name: str) -> None:
    """404 for a name that is neither a citation export nor an OAI-PMH metadata format."""
    if name not in EXPORTS and name not in REGISTRY:
        raise NotFound(f"No export format '{name[:40]}'; try {', '.join([*EXPORTS, *REGISTRY])}.")


def render(record: Record, name: str, settings: Settings) -> tuple[str | bytes, str, str]:
    """(body, media type, file name) of export ``name`` of the work."""
    if name in REGISTRY:
        body, media_type = metadata_record(record, name, settings)
        return body, media_type, f"work-{record.id}-{name}.xml"
    media_type, extension = EXPORTS[name]
    writer = {"bibtex": bibtex, "ris": ris, "csl-json": csl_json, "json-ld": json_ld_script}[name]
    return writer(record), media_type, f"work-{record.id}.{extension}"


# -- FAIR Signposting ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    href: str
    rel: str
    type: str | None = None
    profile: str | None = None  # the schema a describedby record follows (Signposting profile)

    def header(self) -> str:
        quoted = self.href.replace(">", "%3E")
        return (f'<{quoted}>; rel="{self.rel}"' + (f'; type="{self.type}"' if self.type else "")
                + (f'; profile="{self.profile}"' if self.profile else ""))


def signposting(record: Record) -> list[Link]:
    """Level 1 Signposting (signposting.org/FAIR) for the landing page of a published work."""
    m = record.metadata
    links = [Link(record.cite_as, "cite-as")]
    for name in ("json-ld", "csl-json", "bibtex", "ris"):
        media_type = EXPORTS[name][0].split(";")[0]
        links.append(Link(f"{record.url}/export/{name}", "describedby", media_type))
    links += [Link(f"{record.url}/export/{fmt.prefix}", "describedby", fmt.media_type, fmt.namespace)
              for fmt in metadata_formats(record)]
    links += [Link(f.url, "item", f.media_type) for f in record.files if f.readable]
    links += [Link(f"https://orcid.org/{p.orcid}", "author") for p in record.authors if p.orcid]
    links.append(Link(f"https://schema.org/{schema_type(record)}", "type"))
    links.append(Link("https://schema.org/AboutPage", "type"))
    if m.license:
        links.append(Link(m.license, "license"))
    return links


def tombstone_signposting(url: str) -> list[Link]:
    """A withdrawn work keeps its identity (cite-as) but links to no content or metadata."""
    return [Link(url, "cite-as"), Link("https://schema.org/AboutPage", "type")]


def link_header(links: list[Link]) -> str:
    return ", ".join(link.header() for link in links)
