"""Every metadata format over OAI-PMH, on SQLite and PostgreSQL: the demo collection (loaded
through the services, with its files) plus a synthetic corpus, every work type.

* every record of every format validates against its official XSD (the ``oai_get`` client
  validates every response it receives; JATS articles against the JATS 1.3 XSD);
* each list holds exactly the records the format applies to (deleted ones included);
* OpenAIRE 4: each Mandatory field, and each Mandatory-if-applicable field whose data exists,
  is there with the right vocabulary;
* LA Referencia: every oai_dc record carries exactly one DRIVER type, one version term and one
  access term, URL identifiers, ISO 639-3 languages and W3CDTF dates;
* the set × format matrix: no list holds a record of a format that does not apply to it, and
  an empty combination answers noRecordsMatch;
* bad input: unknown prefixes, formats that do not apply, stored text XML cannot carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import anyio
import pycountry
import pytest
import sqlalchemy as sa
from lxml import etree
from oai_harness import NS, Corpus, LiveServer, OAIClient, identifier

from repo import demo
from repo.context import Context
from repo.files.models import File
from repo.oai import sets
from repo.oai.formats import REGISTRY
from repo.works import visibility
from repo.works.models import Work
from repo.works.vocabularies import ACCESS_RIGHTS, VERSIONS, WORK_TYPES

OAI = "{http://www.openarchives.org/OAI/2.0/}"
XNS = {**NS, "oaire": "http://namespace.openaire.eu/schema/oaire/", "datacite": "http://datacite.org/schema/kernel-4"}
SYNTHETIC = 250


@pytest.fixture
def collection(client: Any, database: Any, settings: Any, clock: Any) -> Corpus:
    """The demo collection with its PDFs (a main file chosen, a restricted file, an embargo),
    then a synthetic corpus of every work type."""
    corpus = Corpus(database, settings, clock)

    def load(ctx: Context) -> None:
        demo.load(ctx)
        anyio.run(demo.attach_files, ctx)

    corpus.run(load)
    corpus.synthetic(SYNTHETIC, seed=3)
    return corpus


def _works(database: Any) -> dict[str, Any]:
    """Every record's work by OAI identifier: type, ISSN-L, status, access, document, files."""
    with database.session() as session:
        rows = session.execute(sa.select(Work.id, Work.type, Work.issn_l, Work.status, Work.access_right,
                                         Work.embargo_end, Work.doc, Work.main_file)
                               .where(visibility.public_or_tombstone())).all()
        files: dict[int, list[Any]] = {}
        for file in session.scalars(sa.select(File).order_by(File.id)):
            files.setdefault(file.work_id, []).append(file)
    return {identifier(row.id): SimpleNamespace(**row._mapping, files=files.get(row.id, [])) for row in rows}


def _records(oai: OAIClient, **params: str) -> Iterator[etree._Element]:
    pages, _ = oai.harvest("ListRecords", **params)
    for page in pages:
        yield from page.xpath("//o:record")


def test_every_format_validates_and_lists_exactly_what_applies(oai_get: OAIClient, collection: Corpus,
                                                               database: Any) -> None:
    works = _works(database)
    assert {w.type for w in works.values()} == set(WORK_TYPES)  # every work type is a record
    for prefix, fmt in REGISTRY.items():
        listed: dict[str, bool] = {}
        for record in _records(oai_get, metadataPrefix=prefix):  # each page XSD-validated
            header = record.find(f"{OAI}header")
            listed[header.findtext(f"{OAI}identifier")] = header.get("status") == "deleted"
            metadata = record.find(f"{OAI}metadata")
            if metadata is not None:
                assert etree.QName(metadata[0]).namespace == fmt.namespace
        expected = {key for key, work in works.items() if fmt.applies_to(work)}
        assert set(listed) == expected, prefix
        assert {k for k, deleted in listed.items() if deleted} == {k for k in expected if works[k].status == "withdrawn"}
    # a real share of every format: JATS for the articles and reviews in a journal with an ISSN
    jats = {k for k, w in works.items() if REGISTRY["jats"].applies_to(w)}
    assert 0.15 * len(works) < len(jats) < 0.5 * len(works)
    assert {works[k].type for k in jats} == {"journal_article", "review"}


def _files_open_now(work: Any, now: datetime) -> list[Any]:
    return [f for f in work.files if visibility.is_open(*visibility.file_access(work, f), now)]


def test_openaire_checklist(oai_get: OAIClient, collection: Corpus, database: Any, clock: Any) -> None:
    """../shared/OPENAIRE4.md: the XSD checks no field's presence; this test does."""
    works, now = _works(database), clock.now()
    coar_types = {info.coar_uri: (info.label, info.general) for info in WORK_TYPES.values()}
    coar_access = {info.coar_uri: info.label for info in ACCESS_RIGHTS.values()}
    coar_versions = {f"http://purl.org/coar/version/{coar}" for coar, _, _ in VERSIONS.values()}
    seen = 0
    for record in _records(oai_get, metadataPrefix="oai_openaire"):
        key = record.findtext(f"{OAI}header/{OAI}identifier")
        work, resource = works[key], record.find(f"{OAI}metadata/{{{XNS['oaire']}}}resource")
        if work.status == "withdrawn":
            assert resource is None
            continue
        seen += 1
        x = lambda path: resource.xpath(path, namespaces=XNS)  # noqa: E731
        doc = work.doc
        # Mandatory
        assert [t for t in x("datacite:titles/datacite:title/text()") if t.strip()], key
        assert x("datacite:creators/datacite:creator/datacite:creatorName/text()"), key
        issued = x("datacite:dates/datacite:date[@dateType='Issued']/text()")
        assert len(issued) == 1 and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", issued[0]), key
        (kind,) = x("oaire:resourceType")
        assert coar_types[kind.get("uri")] == (kind.text, kind.get("resourceTypeGeneral")), key
        assert len(x("datacite:identifier[@identifierType]")) == 1
        (rights,) = x("datacite:rights")
        assert coar_access[rights.get("rightsURI")] == rights.text
        # Mandatory if applicable, whenever the work holds the data
        embargoed = visibility.effective_access(work.access_right, work.embargo_end, now) == "embargoed"
        assert (rights.get("rightsURI") == "http://purl.org/coar/access_right/c_f1cf") == embargoed
        dates = {d.get("dateType"): d.text for d in x("datacite:dates/datacite:date")}
        if embargoed:
            assert dates["Available"] == work.embargo_end.isoformat() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", dates["Accepted"])
        else:
            assert "Available" not in dates and "Accepted" not in dates
        assert len(x("datacite:contributors/datacite:contributor[@contributorType]")) == len(doc["contributors"])
        references = x("oaire:fundingReferences/oaire:fundingReference")
        assert len(references) == len(doc["funding"]) and all(r.xpath("oaire:funderName/text()", namespaces=XNS)
                                                               for r in references)
        for funding, reference in zip(doc["funding"], references):
            if "award_number" in funding:
                assert reference.xpath("string(oaire:awardNumber)", namespaces=XNS) == funding["award_number"]
        assert x("dc:language/text()") == doc["languages"]
        assert x("dc:publisher/text()") == ([doc["publisher"]] if "publisher" in doc else [])
        assert len(x("dc:description")) == len(doc["abstracts"])
        assert len(x("datacite:subjects/datacite:subject")) == len(doc["subjects"])
        readable = _files_open_now(work, now)
        files = x("oaire:file")
        assert len(files) == len(readable), key
        for file in files:
            assert file.get("accessRightsURI") == "http://purl.org/coar/access_right/c_abf2"
            assert file.get("mimeType") and file.get("objectType") in ("fulltext", "other")
        if readable and WORK_TYPES[work.type].general == "literature":
            assert [f.get("objectType") for f in files].count("fulltext") == (
                0 if work.main_file and work.main_file not in {f.name for f in readable} else 1)
        # Recommended, with their vocabularies when present
        (version,) = x("oaire:version")
        assert version.get("uri") in coar_versions
        for licence in x("oaire:licenseCondition"):
            assert licence.get("uri") == doc["license"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", licence.get("startDate"))
        if doc.get("journal"):
            assert x("oaire:citationTitle/text()") == [doc["journal"]["title"]]
    assert seen > SYNTHETIC


DRIVER_TYPES = {f"info:eu-repo/semantics/{t}" for t in (
    "article", "bachelorThesis", "masterThesis", "doctoralThesis", "book", "bookPart", "review", "conferenceObject",
    "lecture", "workingPaper", "preprint", "report", "annotation", "contributionToPeriodical", "patent", "other")}
VERSION_TERMS = {f"info:eu-repo/semantics/{t}" for t in (
    "draft", "submittedVersion", "acceptedVersion", "publishedVersion", "updatedVersion")}
ACCESS_TERMS = {f"info:eu-repo/semantics/{t}" for t in (
    "openAccess", "embargoedAccess", "restrictedAccess", "closedAccess")}
W3CDTF = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2}))?)?)?")


def test_every_oai_dc_record_passes_la_referencia(oai_get: OAIClient, collection: Corpus) -> None:
    """The rules of LA Referencia's harvester (../shared/OPENAIRE4.md, LA Referencia section)."""
    checked = 0
    for record in _records(oai_get, metadataPrefix="oai_dc"):
        dc = record.find(f"{OAI}metadata/{{{NS['oai_dc']}}}dc")
        if dc is None:
            continue  # a deleted record
        checked += 1
        values = lambda name: [e.text or "" for e in dc.findall(f"{{{NS['dc']}}}{name}")]  # noqa: E731
        types = values("type")
        assert len([t for t in types if t in DRIVER_TYPES]) == 1, types
        assert len([t for t in types if t in VERSION_TERMS]) == 1, types
        assert len([r for r in values("rights") if r in ACCESS_TERMS]) == 1, values("rights")
        urls = [i for i in values("identifier") if re.match(r"https?://", i)]
        assert urls and not any("hdl.handle.net/123456789/" in i for i in urls)
        assert any(t.strip() for t in values("title")) and any(c.strip() for c in values("creator"))
        assert any(W3CDTF.fullmatch(d) for d in values("date"))
        assert all(pycountry.languages.get(alpha_3=code) for code in values("language"))
        assert all(re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", f) for f in values("format"))
    assert checked > SYNTHETIC


def test_set_and_format_matrix(oai_get: OAIClient, collection: Corpus, database: Any, settings: Any) -> None:
    """Every set × every format: a list holds exactly the set's records the format applies to."""
    settings.oai_page_size = 1000  # one page per list: the matrix is about membership, not paging
    works = _works(database)
    specs = oai_get(verb="ListSets").xpath("//o:setSpec/text()")
    assert any(s.startswith("journal:") for s in specs)
    for spec in specs:
        in_set = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)
        members = in_set.identifiers if in_set.errors == [] else []
        for prefix, fmt in REGISTRY.items():
            if prefix == "oai_dc":
                continue
            reply = oai_get(verb="ListIdentifiers", metadataPrefix=prefix, set=spec)
            expected = [key for key in members if fmt.applies_to(works[key])]
            if expected:
                assert reply.identifiers == expected, (spec, prefix)
            else:
                assert reply.errors == ["noRecordsMatch"], (spec, prefix)


def test_complete_list_sizes_in_every_format(oai_get: OAIClient, collection: Corpus, database: Any, settings: Any,
                                             clock: Any) -> None:
    """§3.5 completeListSize of whole lists, from the set counters: exact for every format in
    the journal sets (JATS included: its counter is the journals'), and in the other sets for
    the formats that apply by work type; JATS lists outside the journal sets may leave it out."""
    settings.oai_page_size = 5
    # changes through the services after the bulk load: the counters follow them (flush listener)
    article = collection.work("Nueva revista", centre="iep", journal={"title": "Nueva", "issn": "0034-8597"})
    collection.work("Otra", centre="iep", type="review", journal={"title": "Nueva", "issn": "0034-8597"})
    collection.edit(article, metadata={"journal": {"title": "Revista Andina", "issn_l": "2007-8471"}})
    moved = next(k for k, w in _works(database).items() if w.issn_l == "0188-7653" and w.status == "published")
    collection.withdraw(int(moved.rsplit(":", 1)[1]))
    works = _works(database)
    with database.session() as session:
        journals = [spec for spec, _ in ((f"journal:{i}", t) for i, t in sets.journal_titles(session))]
        specs: list[str | None] = [None, "journal", *journals, "type:journal_article", "openaire", "centre:iep",
                                   "collection:biblioteca"]
        members = {spec: {identifier(i) for i in session.scalars(sa.select(Work.id).where(
            visibility.public_or_tombstone(), *([sets.condition(session, spec, clock.now())] if spec else [])))}
            for spec in specs}
    for spec in specs:
        for prefix, fmt in REGISTRY.items():
            expected = sum(fmt.applies_to(works[key]) for key in members[spec])
            reply = oai_get(verb="ListIdentifiers", metadataPrefix=prefix, **({"set": spec} if spec else {}))
            if not expected:
                assert reply.errors == ["noRecordsMatch"], (spec, prefix)
                continue
            size = reply.token.get("completeListSize") if reply.token is not None else str(len(reply.identifiers))
            if size is None:  # allowed only where no counter sizes the list
                assert fmt.needs_issn_l and spec is not None and not spec.startswith("journal"), (spec, prefix)
            else:
                assert int(size) == expected, (spec, prefix)


def test_formats_of_an_item_and_bad_input(oai_get: OAIClient, collection: Corpus, database: Any) -> None:
    works = _works(database)
    book = next(k for k, w in works.items() if w.type == "book" and w.status == "published")
    article = next(k for k, w in works.items() if w.type == "journal_article" and w.issn_l and w.status == "published")
    withdrawn = next(k for k, w in works.items() if w.status == "withdrawn" and not REGISTRY["jats"].applies_to(w))
    everything = list(REGISTRY)
    assert oai_get(verb="ListMetadataFormats").xpath("//o:metadataPrefix/text()") == everything
    assert oai_get(verb="ListMetadataFormats", identifier=article).xpath("//o:metadataPrefix/text()") == everything
    assert oai_get(verb="ListMetadataFormats", identifier=book).xpath("//o:metadataPrefix/text()") == [
        p for p in everything if p != "jats"]
    assert "jats" not in oai_get(verb="ListMetadataFormats", identifier=withdrawn).xpath("//o:metadataPrefix/text()")
    assert oai_get(verb="GetRecord", identifier=book, metadataPrefix="jats").errors == ["cannotDisseminateFormat"]
    assert oai_get(verb="GetRecord", identifier=withdrawn, metadataPrefix="jats").errors == ["cannotDisseminateFormat"]
    assert oai_get(verb="GetRecord", identifier=article, metadataPrefix="jats").errors == []
    for verb in ("ListRecords", "ListIdentifiers"):
        assert oai_get(verb=verb, metadataPrefix="jats", set="type:book").errors == ["noRecordsMatch"]
        assert oai_get(verb=verb, metadataPrefix="marc21").errors == ["cannotDisseminateFormat"]
    assert oai_get(verb="GetRecord", identifier=book, metadataPrefix="datacite").errors == ["cannotDisseminateFormat"]
    # the formats' declarations are unique and consistent
    formats = oai_get(verb="ListMetadataFormats").xpath("//o:metadataFormat")
    for part in ("metadataPrefix", "schema", "metadataNamespace"):
        values = [f.findtext(f"{OAI}{part}") for f in formats]
        assert len(set(values)) == len(values), part


def test_journal_sets_are_named_by_their_title(oai_get: OAIClient, collection: Corpus) -> None:
    sets = {s.findtext(f"{OAI}setSpec"): s.findtext(f"{OAI}setName") for s in oai_get(verb="ListSets").xpath("//o:set")}
    assert sets["journal"] == "Journals"
    assert sets["journal:0188-7653"] == "Crítica Jurídica"
    assert sets["journal:0101-3300"] == "Novos Estudos CEBRAP"
    assert sets["journal:1669-9084"] == "Cuadernos de Ciencias Sociales"  # only an eISSN: it is the ISSN-L
    assert sets["journal:2007-8471"] == "Revista Andina"  # the declared ISSN-L, not the print ISSN
    assert "journal:0325-1837" not in sets
    article = oai_get(verb="ListRecords", metadataPrefix="jats", set="journal:0101-3300")
    assert article.errors == [] and set(article.xpath("//o:setSpec/text()")) >= {"journal:0101-3300"}
    assert set(article.xpath("//*[local-name()='issn-l']/text()")) == {"0101-3300"}
    assert oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", set="journal:0000-0000").errors == ["noRecordsMatch"]
    assert oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", set="journal:not-an-issn").errors == ["noRecordsMatch"]
    # an ISSN-L no work names is no set: the list conditions kept per (format, set) do not grow with it
    from repo.oai.verbs import listing

    for spec in ("journal:1234-5679", "journal:0000-0019"):
        assert oai_get(verb="ListRecords", metadataPrefix="oai_dc", set=spec).errors == ["noRecordsMatch"]
        assert ("oai_dc", spec) not in listing._MEMBERSHIPS
    assert ("jats", "journal:0101-3300") in listing._MEMBERSHIPS  # (what is kept for a journal that exists)


def test_stored_text_xml_cannot_carry_breaks_no_format(oai_get: OAIClient, corpus: Corpus, database: Any) -> None:
    """A document stored by other means (a bulk load, a hand edit): every format still answers
    with a valid record (validated by the client), on both databases."""
    work = corpus.work("Limpia", journal={"title": "Revista", "issn": "0188-7653"})
    nasty = "Tí\x01tu\x0blo\x1f con \ufffe control\x08es"
    if database.engine.dialect.name == "sqlite":
        nasty += "\x00"  # PostgreSQL's jsonb refuses NUL itself
    with database.session() as session:
        doc = dict(session.get(Work, work).doc)
        doc.update(titles=[{"value": nasty, "lang": "s p a"}, {"value": 42}, "not an object"],
                   creators=[{"family": "Pé\x02rez", "orcid": "x", "affiliations": [{"name": "U\x03", "ror": 1}]}],
                   subjects=[{"value": "s\x05", "scheme": "JEL", "scheme_uri": "no uri"}], publication_date="2021-99",
                   journal={"title": "Revista\x0c", "issn": "0188-7653", "pages": "1-2"},
                   funding=[{"funder": "F\x07", "funder_id": "bad id"}], conference={"name": "C\x0e", "start": 3},
                   related_identifiers=[{"identifier": "a b", "type": "DOI", "relation": "Cites"}], version=["VoR"])
        # (a new version, as any edit harvesters see: else the bytes rendered on write, if the
        # background render has run already, stay fresh and are served unchanged)
        session.execute(sa.update(Work).where(Work.id == work).values(doc=doc, version=Work.version + 1))
    for prefix in REGISTRY:
        reply = oai_get(verb="GetRecord", identifier=identifier(work), metadataPrefix=prefix)
        assert reply.errors == [], prefix
        assert "Título con  controles" in etree.tostring(reply.root, encoding="unicode"), prefix
        assert oai_get(verb="ListRecords", metadataPrefix=prefix).errors == []


HARVEST_WORKS, HARVEST_PAGE = 150, 37


@pytest.mark.slow
def test_harvesting_clients_take_every_format_to_the_end(database: Any, settings: Any, live_server: Any) -> None:
    """sickle and oaipmh-scythe, over real HTTP against uvicorn, page after page, every format."""
    from oaipmh_scythe import Scythe
    from sickle import Sickle

    from repo.clock import Clock

    Corpus(database, settings, Clock()).synthetic(HARVEST_WORKS, seed=12)
    server: LiveServer = live_server(oai_page_size=HARVEST_PAGE)
    works = _works(server.database)
    sickle = Sickle(server.oai)
    pages = 0
    with Scythe(server.oai) as scythe:
        for prefix, fmt in REGISTRY.items():
            expected = sorted(k for k, w in works.items() if fmt.applies_to(w))
            pages += 2 * -(-len(expected) // HARVEST_PAGE)  # each client walks every page
            records = list(sickle.ListRecords(metadataPrefix=prefix))
            assert sorted(r.header.identifier for r in records) == expected, prefix
            assert all(etree.QName(r.xml.find(f".//{OAI}metadata")[0]).namespace == fmt.namespace
                       for r in records if not r.deleted)
            harvested = [(r.header.identifier, r.deleted) for r in scythe.list_records(metadata_prefix=prefix)]
            assert [(r.header.identifier, r.deleted) for r in records] == harvested, prefix
    assert server.validated[0] >= pages  # the live server validated every page it sent
