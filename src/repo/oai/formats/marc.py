"""``marcxml``: MARC 21 bibliographic records in MARCXML (slim), for every work type, following
the Library of Congress DC-to-MARC crosswalk and MARC 21 practice for online resources.

* **Leader**: record status ``n``; type of record from the work type (``a`` language material;
  ``i`` nonmusical sound recording; ``g`` projected medium for video; ``k`` two-dimensional
  graphic for images; a lecture with a duration is a recording); bibliographic level ``m``
  (monograph), ``a`` (a chapter: monographic component part) or ``b`` (an article: serial
  component part); Unicode (``a``); encoding level ``u``; ISBD punctuation omitted (``c``).
* **008**: the 40 positions of the material the Leader names — Books for books, chapters,
  theses (nature of contents ``m``), reports and papers (conference publication ``1`` for
  conference papers); Continuing resources for articles; Music for sound; Visual materials for
  video (running time in minutes) and images — with date entered, the publication year
  (``s``/``n``), form of item ``o`` (online) and the MARC language code.
* 001 control number (the work id), 005 last change (the OAI datestamp), 007 ``cr`` (online).
* 020 ISBN, 024 DOI and handle, 041 languages, 082 DDC; 100/110 the first creator (700/710 the
  others and the contributors) with relator code, affiliation (``$u``) and ORCID (``$1``);
  245 with the nonfiling characters of the title's initial article; 246 translated and
  alternative titles; 250 edition; 264 publication; 300/306 extent (pages) and duration;
  490 series; 500 notes; **502 thesis** (degree, granting institution, year); 506 access as it is now; 520 abstracts; 536 funding; 540 licence;
  650 subjects (by scheme), 653 the keywords (one field) and 651 countries; 655 COAR genre; 711 conference;
  **773 host item** (the journal with ISSN and volume/issue/pages, or the book — a chapter's host —
  with ISBN and pages); 787 related identifiers; 856 the landing page and each file the public
  may read now (the main file labelled full text).

Only fields that carry data of the work: what every record would repeat (an online resource, its
RDA content, media and carrier types, a relator's label beside its code) is said once by the
Leader, 007 and 008 or by the code, as MARC allows, and left for catalogues to derive.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from repo.oai.formats import common
from repo.oai.formats.base import MetadataFormat
from repo.oai.formats.common import SCHEMA_LOCATION, XSI_NS
from repo.oai.records import Disseminated, RenderContext
from repo.works.vocabularies import SUBJECT_SCHEMES, AccessRight

MARC_NS = "http://www.loc.gov/MARC21/slim"
MARC_SCHEMA = "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"
# MARC in the default namespace (as LoC's own MARCXML services write it): a record holds about a
# hundred elements, and a "marc:" prefix on each makes it a sixth longer to store, send and parse.
NSMAP = {None: MARC_NS, "xsi": XSI_NS}
ROOT_ATTRIBUTES = {"type": "Bibliographic", SCHEMA_LOCATION: f"{MARC_NS} {MARC_SCHEMA}"}
LEADER, CONTROLFIELD, DATAFIELD, SUBFIELD = (f"{{{MARC_NS}}}{name}" for name in
                                             ("leader", "controlfield", "datafield", "subfield"))

THESES = {"doctoral_thesis": "Doctoral", "master_thesis": "Master's", "bachelor_thesis": "Bachelor's"}

# Initial articles skipped in filing (MARC 245 second indicator, MODS nonSort), by language:
# the definite articles of the Library of Congress list of initial articles.
ARTICLES: dict[str, tuple[str, ...]] = {
    "spa": ("el ", "la ", "lo ", "los ", "las "),
    "por": ("o ", "a ", "os ", "as "),
    "fra": ("le ", "la ", "les ", "l'", "l’"),
    "eng": ("the ", "a ", "an "),
    "ita": ("il ", "lo ", "la ", "i ", "gli ", "le ", "l'", "l’"),
    "cat": ("el ", "la ", "els ", "les ", "l'", "l’"),
    "deu": ("der ", "die ", "das "),
}

Field = tuple[str, str, str, list[tuple[str, str]]]  # tag, ind1, ind2, subfields
# Subfields that qualify the data of a field rather than carry it (numeric control subfields,
# relator terms, public notes, qualifying information).
_CONTROL_CODES = frozenset("0123456789eqz")


def nonfiling_characters(title: str, lang: str | None) -> int:
    """How many leading characters of ``title`` are an initial article to skip in filing (0–9)."""
    lowered = title.lower()
    for article in ARTICLES.get(lang or "", ()):
        if lowered.startswith(article) and len(title) > len(article):
            return len(article)
    return 0


def _record_type(work: Disseminated, doc: dict[str, Any]) -> str:
    """Leader/06: what kind of resource the work is."""
    kind = work.type
    if kind == "sound":
        return "i"
    if kind == "video":
        return "g"
    if kind == "image":
        return "k"
    extent = common.obj(doc, "extent")
    if kind == "lecture" and extent and common.key(extent.get("duration")):
        return "g" if any(f.media_type.startswith("video/") for f in work.files) else "i"
    return "a"


def _level(work: Disseminated, doc: dict[str, Any]) -> str:
    """Leader/07: an article is a serial component part, a chapter a monographic one."""
    if common.obj(doc, "journal"):
        return "b"
    if work.type == "book_part" or (common.obj(doc, "book") and work.type == "conference_paper"):
        return "a"
    return "m"


def _minutes(duration: str | None) -> str:
    """008/18-20 of visual materials: the running time in minutes (``---`` unknown, ``000`` > 999)."""
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration or "")
    if not match or not any(match.groups()):
        return "---"
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 60 + minutes + (1 if seconds >= 30 else 0)
    return f"{total:03d}" if total <= 999 else "000"


def _hhmmss(duration: str | None) -> str | None:
    """306 playing time (``hhmmss``) of an ISO 8601 duration."""
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration or "")
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    hours, minutes = hours + (minutes + seconds // 60) // 60, (minutes + seconds // 60) % 60
    return f"{hours:02d}{minutes:02d}{seconds % 60:02d}" if hours < 100 else None


def fixed_length(work: Disseminated, doc: dict[str, Any], record_type: str, level: str, language: str,
                 year: str | None) -> str:
    """The 40 characters of field 008 for the material type the Leader names."""
    entered = (work.published_at or work.datestamp).strftime("%y%m%d")
    dates = f"s{year}    " if year else "nuuuu    "
    place = "xx "  # no place of publication is recorded as a MARC country code
    conference = "1" if work.type == "conference_paper" else "0"
    if record_type == "a" and level == "b":  # continuing resources (an article in a journal)
        material = "|| |" + " o" + " " + "   " + " " + conference + "   " + "||"
    elif record_type == "a":  # books
        contents = "m   " if work.type in THESES else "    "
        material = "    " + " " + "o" + contents + " " + conference + "0" + "0" + " " + "0" + " "
    elif record_type == "i":  # music (a nonmusical sound recording)
        creators = common.dicts(doc, "creators")
        roles = {common.key(p.get("role")) for p in creators}
        text_type = "t " if "interviewer" in roles or "interviewee" in roles else "l " if "speaker" in roles else "z "
        material = "nn" + "n" + "n" + " " + "o" + "      " + text_type + " " + "n" + " "
    else:  # visual materials (video, images)
        extent = common.obj(doc, "extent")
        running = _minutes(common.key(extent.get("duration")) if extent else None) if record_type == "g" else "nnn"
        visual, technique = ("v", "u") if record_type == "g" else ("i", "n")
        material = running + " " + " " + "     " + " " + "o" + "   " + visual + technique
    assert len(material) == 17, material
    return entered + dates + place + material + language + " d"


def crosswalk(work: Disseminated, context: RenderContext) -> etree._Element:
    doc = work.doc
    text = common.cleaner(work)
    fields: list[Field] = []

    def field(tag: str, ind1: str, ind2: str, *subfields: tuple[str, str | None]) -> None:
        """A data field with its non-empty subfields, unless none of them carries data (a
        source code, relator or public note alone is no field)."""
        present = [(code, value) for code, value in subfields if value]
        if any(code not in _CONTROL_CODES for code, _ in present):
            fields.append((tag, ind1, ind2, present))

    record_type, level = _record_type(work, doc), _level(work, doc)
    languages = [code for code in common.strings(doc.get("languages")) if common.iso639_3(code)]
    marc_languages = [common.marc_language(code) for code in languages]
    issued = common.partial_date(doc.get("publication_date"))
    year = issued[:4] if issued else None
    journal, book, series = common.obj(doc, "journal"), common.obj(doc, "book"), common.obj(doc, "series")
    conference = common.obj(doc, "conference")
    publisher, place = text(doc.get("publisher")), text(doc.get("place"))

    # 020, 024: identifiers of this work
    for isbn in common.strings(doc.get("isbn")):
        field("020", " ", " ", ("a", text(isbn)))
    field("024", "7", " ", ("a", text(doc.get("doi"))), ("2", "doi"))
    field("024", "7", " ", ("a", text(doc.get("handle"))), ("2", "hdl"))

    # 041: languages, when there are several or one MARC has no code for
    if len(languages) > 1 or (languages and marc_languages[0] is None):
        if all(marc_languages):
            field("041", "0", " ", *(("a", code) for code in marc_languages))
        else:
            field("041", "0", "7", *(("a", code) for code in languages), ("2", "iso639-3"))

    # names: the first creator is the main entry (1XX), everyone else an added entry (7XX)
    creators, contributors = common.dicts(doc, "creators"), common.dicts(doc, "contributors")
    main_entry = False
    for position, person in enumerate(creators + contributors):
        family, given, name = common.name_parts(person, text)
        if not (family or name):
            continue
        role = common.key(person.get("role")) or ("author" if position < len(creators) else "other")
        code, _ = common.RELATORS.get(role, common.RELATORS["other"])
        affiliations = "; ".join(a for a in (text(x.get("name")) for x in common.dicts(person, "affiliations")) if a)
        orcid = common.orcid(person)
        personal = bool(family)
        tag = ("1" if not main_entry else "7") + ("00" if personal else "10")
        # the relator as its code ($4) alone: the term ($e) is the code's label in the MARC list
        # of relators, which every catalogue holds (one subfield less per name)
        field(tag, "1" if personal else "2", " ", ("a", common.inverted(family, given, name)),
              ("u", affiliations), ("4", code), ("1", common.ORCID_URI + orcid if orcid else None))
        main_entry = True

    # 082 / 650 / 653: subjects by scheme
    uncontrolled = []
    for subject in common.dicts(doc, "subjects"):
        if not (value := text(subject.get("value"))):
            continue
        scheme = text(subject.get("scheme"))
        value_uri = common.uri(subject.get("uri"))
        if scheme is None:
            uncontrolled.append(("a", value))
        elif scheme == "DDC":
            field("082", "0", "4", ("a", value), ("2", None))
        elif scheme == "LCSH":
            field("650", " ", "0", ("a", value), ("0", value_uri))
        elif scheme == "MeSH":
            field("650", " ", "2", ("a", value), ("0", value_uri))
        else:
            known = SUBJECT_SCHEMES.get(scheme.lower())
            source = known.marc if known and known.marc else scheme.lower().replace(" ", "")
            field("650", " ", "7", ("a", value), ("2", source), ("0", value_uri))
    # the keywords in one 653, a repeated $a each (MARC: "multiple uncontrolled terms may be
    # recorded in one field"), not a field each
    field("653", " ", " ", *uncontrolled)
    for code in common.strings(doc.get("countries")):
        field("651", " ", "4", ("a", common.country_name(code)))

    # 245 / 246: titles
    titles = [t for t in common.titles(doc) if text(t.get("value"))]
    main = next((t for t in titles if t.get("type", "main") == "main"), titles[0] if titles else None)
    subtitle = next((text(t.get("value")) for t in titles if t is not main and t.get("type") == "subtitle"), None)
    title = (text(main.get("value")) if main else None) or "[No title]"
    skip = nonfiling_characters(title, common.key(main.get("lang")) if main else None)
    field("245", "1" if main_entry else "0", str(skip), ("a", title), ("b", subtitle))
    for item in titles:
        if item is not main and item.get("type") in ("translated", "alternative"):
            field("246", "3", "1" if item.get("type") == "translated" else " ", ("a", text(item.get("value"))))

    field("250", " ", " ", ("a", text(doc.get("edition"))))
    if place or publisher or year:
        field("264", " ", "1", ("a", place), ("b", publisher), ("c", year))

    extent = common.obj(doc, "extent")
    count = extent.get("pages") if extent else None
    duration = common.key(extent.get("duration")) if extent else None
    # Only fields with data of this work: that it is one online resource, text (or sound, video,
    # images), on a computer, is said by Leader/06, 007 "cr" and 008's form of item "o", from
    # which catalogues derive RDA's 336/337/338 (LoC's mapping); repeating the constants in every
    # record made it a seventh longer to store, send and parse.
    if count.__class__ is int and count > 0:
        field("300", " ", " ", ("a", f"1 online resource ({count} pages)"))
    field("306", " ", " ", ("a", _hhmmss(duration)))

    if series:
        field("490", "0", " ", ("a", text(series.get("title"))), ("v", text(series.get("number"))),
              ("x", text(series.get("issn"))))
    field("500", " ", " ", ("a", text(doc.get("notes"))))
    if degree := THESES.get(work.type or ""):
        field("502", " ", " ", ("b", degree), ("c", publisher), ("d", year))

    access = common.access_info(context.effective_access(work))
    embargo_end = common.embargo_end(work, context)
    if access.key == AccessRight.open:
        field("506", "0", " ", ("a", "Open access"), ("f", "Unrestricted online access"), ("2", "star"))
    else:
        field("506", "1", " ", ("a", f"Embargoed until {embargo_end.isoformat()}" if embargo_end else
                                access.label.capitalize()))

    for abstract in common.dicts(doc, "abstracts"):
        field("520", "3", " ", ("a", text(abstract.get("value"))))
    for item in common.dicts(doc, "funding"):
        field("536", " ", " ", ("a", text(item.get("funder"))), ("c", text(item.get("award_number"))))
    if licence := common.licence(doc):
        field("540", " ", " ", ("a", licence[1]), ("u", licence[0]))

    info = common.type_info(work.type)
    field("655", " ", "4", ("a", info.label), ("0", info.coar_uri))

    if conference:
        start, end = common.partial_date(conference.get("start")), common.partial_date(conference.get("end"))
        place_name = ", ".join(filter(None, (text(conference.get("place")),
                                             common.country_name(conference.get("country")))))
        field("711", "2", " ", ("a", text(conference.get("name"))), ("n", text(conference.get("number"))),
              ("d", f"{start}/{end}" if start and end and end != start else start), ("c", place_name or None))

    # 773: the host item (a chapter's book, an article's journal)
    if journal and (journal_title := text(journal.get("title"))):
        volume, issue = text(journal.get("volume")), text(journal.get("issue"))
        first, last = common.pages(journal, text)
        parts = [f"Vol. {volume}" if volume else "", f"no. {issue}" if issue else ""]
        related = ", ".join(p for p in parts if p) + (f" ({year})" if year else "")
        if first:
            related += f", p. {first}-{last}" if last else f", p. {first}"
        enumeration = (volume or "") + (f":{issue}" if issue else "") + (f"<{first}" if first else "")
        field("773", "0", " ", ("t", journal_title), ("g", related.strip(", ") or None),
              ("q", enumeration or None), ("x", text(journal.get("issn")) or text(journal.get("eissn"))),
              ("7", "nnas"))
    elif book and (book_title := text(book.get("title"))):
        first, last = common.pages(book, text)
        imprint = ", ".join(p for p in (place, publisher, year) if p)
        field("773", "0", " ", ("t", book_title), ("d", imprint or None),
              ("g", (f"p. {first}-{last}" if last else f"p. {first}") if first else None),
              ("z", text(book.get("isbn"))), ("7", "nnam"))

    for scheme, value, relation in common.related_identifiers(doc, text):
        code = "z" if scheme == "ISBN" else "x" if scheme in ("ISSN", "EISSN", "LISSN") else "o"
        field("787", "0", "8", ("i", relation), (code, value if code != "o" else f"{scheme} {value}"))

    field("856", "4", "0", ("u", context.landing_page(work)))  # the landing page: the one 856 without $3
    readable, main_file = common.open_files(work, context)
    for file in readable:
        field("856", "4", "0", ("3", "Full text" if file is main_file else text(file.name)),
              ("u", context.file_url(work, file)), ("q", text(file.media_type)))

    # the record: leader, control fields, data fields in tag order
    language = (marc_languages[0] or "und") if languages else "und"
    record = etree.Element(f"{{{MARC_NS}}}record", ROOT_ATTRIBUTES, nsmap=NSMAP)
    sub = etree.SubElement
    sub(record, LEADER).text = f"00000n{record_type}{level} a2200000uc 4500"
    sub(record, CONTROLFIELD, tag="001").text = str(work.id)
    sub(record, CONTROLFIELD, tag="005").text = work.datestamp.strftime("%Y%m%d%H%M%S.0")
    sub(record, CONTROLFIELD, tag="007").text = "cr |||||||||||"
    sub(record, CONTROLFIELD, tag="008").text = fixed_length(work, doc, record_type, level, language, year)
    fields.sort(key=lambda f: f[0])
    for tag, ind1, ind2, subfields in fields:
        element = sub(record, DATAFIELD, {"tag": tag, "ind1": ind1, "ind2": ind2})
        for code, value in subfields:
            sub(element, SUBFIELD, _CODES[code]).text = value
    return record


_CODES = {code: {"code": code} for code in "0123456789abcdefghijklmnopqrstuvwxyz"}


MARCXML = MetadataFormat(prefix="marcxml", namespace=MARC_NS, schema=MARC_SCHEMA, crosswalk=crosswalk,
                         label="MARCXML", media_type="application/marcxml+xml")
