"""``oai_dc`` → deposit record: the inverse of our DRIVER 2.0 / OpenAIRE 3 crosswalk
(:mod:`repo.oai.formats.oai_dc`), reading what DSpace, EPrints, OJS and the like write too.

* ``dc:title``: the first is the main title, the others alternative (``xml:lang`` kept);
* ``dc:creator`` / ``dc:contributor``: ``Family, Given`` or a name;
* ``dc:type``: the first ``info:eu-repo/semantics/*`` type (or COAR URI, or a plain word) gives the
  type, a version term the version; an unknown type makes the work ``other`` (the value is kept);
* ``dc:rights``: the access term (``info:eu-repo/semantics/*Access`` or COAR), a Creative
  Commons licence; ``dc:date``: the publication date and ``info:eu-repo/date/embargoEnd/…``;
* ``dc:identifier`` and ``dc:relation``: DOI, handle, ISBN, ISSN and URLs, including
  ``info:eu-repo/semantics/altIdentifier/…``; ``info:eu-repo/grantAgreement/…`` as funding;
  a plain-text relation as the series (``Title; number``);
* ``dc:source``: the host journal (``Title; Vol. …, No. … (year): pages``) or, for a chapter,
  the host book; ``dc:language`` and ``dc:coverage`` as ISO codes.

Everything else — and every value that does not parse — is kept in the unmapped list with the reason.
"""

from __future__ import annotations

from lxml import etree

from repo.ingest.mapping import common
from repo.ingest.mapping.common import Draft
from repo.works.vocabularies import EU_REPO, AccessRight, WorkType

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
ROOT = f"{{{OAI_DC_NS}}}dc"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DC = f"{{{DC_NS}}}"
ALT_IDENTIFIER = EU_REPO + "altIdentifier/"
GRANT = "info:eu-repo/grantAgreement/"


class MappingError(ValueError):
    """The record cannot be read as this format at all."""


def fields(root: etree._Element) -> list[tuple[str, str, str | None]]:
    """``(element, text, xml:lang)`` for each child of ``<oai_dc:dc>``, in document order."""
    if root.tag != ROOT:
        raise MappingError(f"expected <oai_dc:dc>, found <{etree.QName(root).localname}> "
                           f"in {etree.QName(root).namespace or 'no namespace'}")
    found = []
    for child in root:
        tag = child.tag
        if tag.__class__ is not str:
            continue  # comments, processing instructions
        name = tag[_DC_LENGTH:] if tag.startswith(_DC) else etree.QName(child).text
        text = child.text if not len(child) else "".join(child.itertext())
        found.append((name, text.strip() if text else "", child.get(XML_LANG)))
    return found


_DC_LENGTH = len(_DC)


def map_record(root: etree._Element) -> Draft:
    draft = Draft()
    dates: list[str] = []
    types: list[str] = []
    sources: list[str] = []
    relations: list[str] = []
    for name, text, lang in fields(root):
        if not text:
            continue
        label = f"dc:{name}"
        lang_code = common.language(lang) if lang else None
        if name == "title":
            value, altered = common.plain(text)
            if altered:
                draft.unmapped(label, text, "markup removed (titles are plain text)")
            if value:
                title = {"value": value[:2000], "type": "main" if "titles" not in draft.metadata else "alternative"}
                if lang_code:
                    title["lang"] = lang_code
                draft.append("titles", title)
        elif name in ("creator", "contributor"):
            if found := common.person(text):
                if name == "contributor":
                    found["role"] = "other"
                draft.append("creators" if name == "creator" else "contributors", found)
        elif name == "subject":
            value, _ = common.plain(text)
            subject = {"value": value[:2000]}
            if lang_code:
                subject["lang"] = lang_code
            draft.append("subjects", subject)
        elif name == "description":
            value, altered = common.plain(text)
            if altered and value:
                draft.unmapped(label, text, "markup removed (abstracts are plain text)")
            if len(value) > 100_000:
                draft.unmapped(label, value, "longer than the 100,000 characters an abstract may have")
            elif value:
                abstract = {"value": value}
                if lang_code:
                    abstract["lang"] = lang_code
                draft.append("abstracts", abstract)
        elif name == "publisher":
            value, _ = common.plain(text)
            if "publisher" in draft.metadata:
                draft.unmapped(label, text, "a second publisher")
            else:
                draft.metadata["publisher"] = value[:2000]
        elif name == "date":
            dates.append(text)
        elif name == "type":
            types.append(text)
        elif name == "rights":
            _rights(draft, text)
        elif name == "identifier":
            _identifier(draft, text, label)
        elif name == "relation":
            relations.append(text)
        elif name == "source":
            sources.append(text)
        elif name == "language":
            if code := common.language(text):
                if code not in draft.metadata.get("languages", []):
                    draft.append("languages", code)
            else:
                draft.unmapped(label, text, "not a language code or name")
        elif name == "coverage":
            if code := common.country(text):
                if code not in draft.metadata.get("countries", []):
                    draft.append("countries", code)
            else:
                draft.unmapped(label, text, "not a country")
        else:  # format, and anything outside Dublin Core
            draft.unmapped(label, text, "no field of the deposit record holds it")
    _types(draft, types)
    _dates(draft, dates)
    for text in relations:
        _relation(draft, text)
    for text in sources:
        _source(draft, text)
    if "languages" not in draft.metadata:  # fall back on the language the titles are written in
        langs = [t["lang"] for t in draft.metadata.get("titles", []) if t.get("lang")]
        if langs:
            draft.metadata["languages"] = [langs[0]]
    return draft


def _types(draft: Draft, values: list[str]) -> None:
    for text in values:
        if (found := common.work_type(text)) is not None and draft.type is None:
            draft.type = found
        elif (found_version := common.version(text)) is not None and "version" not in draft.metadata:
            draft.metadata["version"] = found_version
        elif found is None:
            draft.unmapped("dc:type", text, "not a type of the COAR/DRIVER vocabularies")
        else:
            draft.unmapped("dc:type", text, "a second type")
    if draft.type is None and not values:
        draft.unmapped("dc:type", "", "the record gives no type: the work is 'other'")
    if draft.type is None:
        draft.type = WorkType.other  # an unknown (kept above) or missing type


def _rights(draft: Draft, text: str) -> None:
    if (found := common.access_right(text)) is not None:
        if draft.access_right is None:
            draft.access_right = found
        else:
            draft.unmapped("dc:rights", text, "a second access right")
    elif (uri := common.licence(text)) is not None and "license" not in draft.metadata:
        draft.metadata["license"] = uri
    else:
        draft.unmapped("dc:rights", text, "neither an access right nor a Creative Commons licence")


def _dates(draft: Draft, values: list[str]) -> None:
    for text in values:
        if text.startswith(common.EMBARGO_END):
            end = common.partial_date(text[len(common.EMBARGO_END):])
            if end is not None and len(end) == 10 and draft.embargo_end is None:
                draft.embargo_end = end
            else:
                draft.unmapped("dc:date", text, "not an embargo end date (YYYY-MM-DD)")
        elif "publication_date" not in draft.metadata and (found := common.partial_date(text)):
            draft.metadata["publication_date"] = found
        elif common.partial_date(text):
            draft.unmapped("dc:date", text, "another date (the first one is the publication date)")
        else:
            draft.unmapped("dc:date", text, "not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    if draft.access_right == AccessRight.embargoed and draft.embargo_end is None:
        draft.unmapped("dc:rights", EU_REPO + "embargoedAccess", "embargoed without an end date: restricted")
        draft.access_right = AccessRight.restricted
    elif draft.embargo_end is not None and draft.access_right != AccessRight.embargoed:
        draft.unmapped("dc:date", common.EMBARGO_END + draft.embargo_end, "an embargo end without embargoed access")
        draft.embargo_end = None


def _identifier(draft: Draft, text: str, label: str) -> None:
    found = common.classify_identifier(text)
    if found is None:
        draft.unmapped(label, text, "not a DOI, handle, ISBN, ISSN or URL")
        return
    _place(draft, *found, label=label, text=text)


def _place(draft: Draft, scheme: str, value: str, *, label: str, text: str) -> None:
    meta = draft.metadata
    if scheme in ("doi", "handle"):
        if meta.get(scheme) in (None, value):
            meta[scheme] = value
        else:
            draft.unmapped(label, text, f"a second {scheme.upper() if scheme == 'doi' else scheme}")
    elif scheme == "isbn":
        if value not in meta.get("isbn", []):
            if len(meta.get("isbn", [])) < 20:
                draft.append("isbn", value)
            else:
                draft.unmapped(label, text, "more than 20 ISBNs")
    elif scheme == "url":
        urls = meta.get("urls", [])
        if value not in urls and len(urls) < 20:
            draft.append("urls", value)
        elif value not in urls:
            draft.unmapped(label, text, "more than 20 URLs")
    else:  # issn / eissn: they belong to the host journal, read with dc:source
        draft.metadata.setdefault("_issn", []).append((scheme, value, label, text))


def _relation(draft: Draft, text: str) -> None:
    if text.startswith(ALT_IDENTIFIER):
        scheme, _, value = text[len(ALT_IDENTIFIER):].partition("/")
        scheme = scheme.lower()
        if (found := common.canonical(scheme, value)) is not None:
            _place(draft, scheme, found, label="dc:relation", text=text)
        else:
            draft.unmapped("dc:relation", text, f"not a valid {scheme} identifier")
    elif text.startswith(GRANT):
        _funding(draft, text)
    elif text.startswith(("info:", "http://", "https://", "urn:")):
        draft.unmapped("dc:relation", text, "a related resource (no field of the deposit record holds it)")
    elif "series" not in draft.metadata:
        title, sep, number = text.rpartition(";")
        series = {"title": (title if sep else text).strip()[:2000]}
        if sep and number.strip():
            series["number"] = number.strip()[:2000]
        if series["title"]:
            draft.metadata["series"] = series
    else:
        draft.unmapped("dc:relation", text, "a second series")


def _funding(draft: Draft, text: str) -> None:
    """``info:eu-repo/grantAgreement/<funder>/<programme>/<project id>/…``."""
    from urllib.parse import unquote

    parts = [unquote(p) for p in text[len(GRANT):].split("/")]
    funder = parts[0].strip() if parts else ""
    award = parts[2].strip() if len(parts) > 2 else ""
    if funder and award:
        draft.append("funding", {"funder": funder[:2000], "award_number": award[:2000]})
    else:
        draft.unmapped("dc:relation", text, "a grant agreement without funder and project")


def _source(draft: Draft, text: str) -> None:
    issns = draft.metadata.get("_issn", [])
    if draft.type == WorkType.book_part and "book" not in draft.metadata:
        draft.metadata["book"] = common.book_citation(text)
    elif "journal" not in draft.metadata and (journal := common.journal_citation(text)):
        for scheme, value, _, _ in issns:
            journal.setdefault(scheme, value)
        draft.metadata["journal"] = journal
    else:
        draft.unmapped("dc:source", text, "not a journal or book citation")


def finish(draft: Draft) -> Draft:
    """Place what waited for the rest of the record (ISSNs without a journal are kept unmapped)."""
    journal = draft.metadata.get("journal")
    for scheme, value, label, text in draft.metadata.pop("_issn", []):
        if journal is not None and journal.get(scheme) == value:
            continue
        if journal is not None and scheme not in journal:
            journal[scheme] = value
        else:
            draft.unmapped(label, text, f"an {scheme.upper()} without a journal title")
    book = draft.metadata.get("book")
    isbns = draft.metadata.get("isbn", [])
    if book is not None and "isbn" not in book and isbns:
        book["isbn"] = isbns[0]  # our crosswalk writes a chapter's book ISBN as an altIdentifier
        draft.metadata["isbn"] = isbns[1:]
        if not draft.metadata["isbn"]:
            del draft.metadata["isbn"]
    return draft


def map_oai_dc(root: etree._Element) -> Draft:
    """The deposit record an ``<oai_dc:dc>`` element describes (``MappingError`` if it is none)."""
    return finish(map_record(root))
