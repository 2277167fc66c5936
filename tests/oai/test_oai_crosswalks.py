"""The crosswalks' tricky parts, pinned on hand-made works (no database: a crosswalk is a pure
function of the work, its files and the moment): names with particles, multilingual titles and
abstracts, embargoes, per-file access, chapters and their host books, articles and their
journals, theses, the MARC Leader and 008, LA Referencia's version rule. Every record rendered
here is also validated against its official XSD."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from lxml import etree

from repo.config import Settings
from repo.oai.formats import REGISTRY
from repo.oai.records import Disseminated, FileView, RenderContext
from repo.works.schemas import Metadata

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NS = {
    "oaire": "http://namespace.openaire.eu/schema/oaire/", "datacite": "http://datacite.org/schema/kernel-4",
    "dc": "http://purl.org/dc/elements/1.1/", "j": "https://jats.nlm.nih.gov/publishing/1.3/",
    "marc": "http://www.loc.gov/MARC21/slim", "mods": "http://www.loc.gov/mods/v3",
    "dck": "http://datacite.org/schema/kernel-4", "xlink": "http://www.w3.org/1999/xlink",
    "ali": "http://www.niso.org/schemas/ali/1.0/",
}
SETTINGS = Settings(base_url="http://testserver", secret_key="crosswalks")


def make(metadata: dict[str, Any], *, type: str = "journal_article", access: str = "open",
         embargo_end: date | None = None, files: tuple[FileView, ...] = (), main_file: str | None = None,
         validate: bool = True) -> Disseminated:
    """A work as the OAI layer reads it; ``metadata`` goes through the deposit model first (as
    every deposit does) unless ``validate`` is false (a document stored some other way)."""
    doc = Metadata.model_validate(metadata).model_dump(mode="json", exclude_none=True) if validate else metadata
    journal = doc.get("journal") or {}
    issn_l = next((journal[k] for k in ("issn_l", "issn", "eissn") if isinstance(journal, dict) and k in journal), None)
    return Disseminated(id=7, status="published", type=type, access_right=access, embargo_end=embargo_end,
                        datestamp=NOW - timedelta(days=3), centre="centre-a", doc=doc, files=list(files),
                        issn_l=issn_l, main_file=main_file, published_at=NOW - timedelta(days=30))


def render(schemas: ModuleType, prefix: str, work: Disseminated, now: datetime = NOW) -> etree._Element:
    fmt = REGISTRY[prefix]
    assert fmt.applies_to(work)
    element = fmt.to_element(work, RenderContext(SETTINGS, now))
    # what a harvester gets: serialized, parsed back, valid against the official schema
    parsed = etree.fromstring(etree.tostring(element))
    result = schemas.validate_tree(parsed)
    assert result.ok, (prefix, result.errors, etree.tostring(element)[:3000])
    return parsed


def x(element: etree._Element, path: str) -> list[Any]:
    return element.xpath(path, namespaces=NS)  # type: ignore[no-any-return]


def marc(record: etree._Element, tag: str) -> list[dict[str, Any]]:
    """The data fields ``tag`` as ``{"ind": "12", "a": [...], ...}``."""
    found = []
    for field in x(record, f"marc:datafield[@tag='{tag}']"):
        entry: dict[str, Any] = {"ind": field.get("ind1") + field.get("ind2")}
        for subfield in field:
            entry.setdefault(subfield.get("code"), []).append(subfield.text)
        found.append(entry)
    return found


def control(record: etree._Element, tag: str) -> str:
    return str(x(record, f"string(marc:controlfield[@tag='{tag}'])"))


def pdf(name: str, access: str | None = None, embargo_end: date | None = None,
        media_type: str = "application/pdf") -> FileView:
    return FileView(name, media_type, access, embargo_end)


BASE = {"languages": ["spa"], "publication_date": "2022-07"}
PEOPLE = {
    **BASE, "titles": [{"value": "Una obra", "lang": "spa"}],
    "creators": [{"family": "de la Fuente", "given": "Luis", "orcid": "0000-0002-1825-0097",
                  "affiliations": [{"name": "FLACSO Argentina", "ror": "https://ror.org/03cqe8w59", "country": "AR"}]},
                 {"family": "García Pérez", "given": "Ana"},
                 {"family": "Gohn", "given": "Maria da Glória"},
                 {"name": "El Colegio de México"}],
    "contributors": [{"family": "van der Berg", "given": "Jan", "role": "editor"}],
}


def test_names_with_particles_and_compound_surnames(schemas: ModuleType) -> None:
    work = make(PEOPLE, type="book")
    openaire = render(schemas, "oai_openaire", work)
    assert x(openaire, "//datacite:creatorName/text()") == [
        "de la Fuente, Luis", "García Pérez, Ana", "Gohn, Maria da Glória", "El Colegio de México"]
    assert x(openaire, "//datacite:creator[1]/datacite:familyName/text()") == ["de la Fuente"]
    assert x(openaire, "//datacite:creator[3]/datacite:givenName/text()") == ["Maria da Glória"]
    assert x(openaire, "//datacite:creatorName/@nameType") == ["Personal"] * 3 + ["Organizational"]
    assert x(openaire, "//datacite:creator[1]/datacite:nameIdentifier/text()") == ["https://orcid.org/0000-0002-1825-0097"]
    assert x(openaire, "//datacite:creator[1]/datacite:affiliation/@affiliationIdentifier") == ["https://ror.org/03cqe8w59"]
    assert x(openaire, "//datacite:contributor/@contributorType") == ["Editor"]
    assert x(openaire, "//datacite:contributorName/text()") == ["van der Berg, Jan"]

    record = render(schemas, "marcxml", work)
    assert marc(record, "100") == [{"ind": "1 ", "a": ["de la Fuente, Luis"], "u": ["FLACSO Argentina"],
                                    "4": ["aut"], "1": ["https://orcid.org/0000-0002-1825-0097"]}]
    assert [f["a"] for f in marc(record, "700")] == [["García Pérez, Ana"], ["Gohn, Maria da Glória"], ["van der Berg, Jan"]]
    assert marc(record, "710") == [{"ind": "2 ", "a": ["El Colegio de México"], "4": ["aut"]}]
    assert marc(record, "700")[-1]["4"] == ["edt"]

    mods = render(schemas, "mods", work)
    first = x(mods, "mods:name[1]")[0]
    assert first.get("usage") == "primary" and first.get("type") == "personal"
    assert x(first, "mods:namePart[@type='family']/text()") == ["de la Fuente"]
    assert x(first, "mods:namePart[@type='given']/text()") == ["Luis"]
    assert x(mods, "mods:name[@type='corporate']/mods:namePart/text()") == ["El Colegio de México"]

    datacite = render(schemas, "oai_datacite", work)
    assert x(datacite, "//dck:creator[2]/dck:familyName/text()") == ["García Pérez"]
    dc = render(schemas, "oai_dc", work)
    assert x(dc, "//dc:creator/text()")[:2] == ["de la Fuente, Luis", "García Pérez, Ana"]


def test_names_in_jats(schemas: ModuleType) -> None:
    work = make({**PEOPLE, "journal": {"title": "Revista", "issn": "0188-7653"}})
    article = render(schemas, "jats", work)
    contribs = x(article, "//j:contrib-group/j:contrib")
    assert [c.get("contrib-type") for c in contribs] == ["author"] * 4 + ["editor"]
    assert x(contribs[0], "j:name/j:surname/text()") == ["de la Fuente"]
    assert x(contribs[0], "j:name/j:given-names/text()") == ["Luis"]
    assert x(contribs[0], "j:contrib-id[@contrib-id-type='orcid']/text()") == ["https://orcid.org/0000-0002-1825-0097"]
    assert x(contribs[0], "j:aff/j:institution-wrap/j:institution-id[@institution-id-type='ror']/text()") == [
        "https://ror.org/03cqe8w59"]
    assert x(contribs[0], "j:aff/j:country/@country") == ["AR"]
    assert x(contribs[3], "j:collab/text()") == ["El Colegio de México"]


MULTILINGUAL = {
    **BASE,
    "titles": [{"value": "La protesta social como derecho", "lang": "spa"},
               {"value": "un estudio comparado", "lang": "spa", "type": "subtitle"},
               {"value": "Social protest as a right", "lang": "eng", "type": "translated"},
               {"value": "O protesto social como direito", "lang": "por", "type": "translated"}],
    "abstracts": [{"value": "Resumen.", "lang": "spa"}, {"value": "Abstract.", "lang": "eng"},
                  {"value": "Resumo.", "lang": "por"}],
    "subjects": [{"value": "protesta", "lang": "spa"}, {"value": "protest", "lang": "eng"},
                 {"value": "K10", "scheme": "JEL"}],
    "creators": [{"family": "Gargarella", "given": "Roberto"}],
    "journal": {"title": "Crítica Jurídica", "issn": "0188-7653", "eissn": "2007-8471", "issn_l": "0188-7653"},
}


def test_multilingual_titles_and_abstracts(schemas: ModuleType) -> None:
    work = make(MULTILINGUAL)
    article = render(schemas, "jats", work)
    assert x(article, "/j:article/@xml:lang") == ["es"]
    assert x(article, "//j:title-group/j:article-title/text()") == ["La protesta social como derecho"]
    assert x(article, "//j:title-group/j:subtitle/text()") == ["un estudio comparado"]
    assert x(article, "//j:trans-title-group/@xml:lang") == ["en", "pt"]
    assert x(article, "//j:trans-title-group/j:trans-title/text()") == [
        "Social protest as a right", "O protesto social como direito"]
    assert x(article, "//j:abstract/j:p/text()") == ["Resumen."] and x(article, "//j:abstract/@xml:lang") == []
    assert x(article, "//j:trans-abstract/@xml:lang") == ["en", "pt"]
    groups = {(g.get("{http://www.w3.org/XML/1998/namespace}lang"), g.get("vocab")): x(g, "j:kwd/text()")
              for g in x(article, "//j:kwd-group")}
    assert groups == {("es", None): ["protesta"], ("en", None): ["protest"], (None, "JEL"): ["K10"]}
    assert x(article, "//j:kwd-group[@vocab='JEL']/@vocab-identifier") == ["https://www.aeaweb.org/econlit/jelCodes.php"]
    assert x(article, "//j:journal-meta/j:issn/@publication-format") == ["print", "electronic"]
    assert x(article, "//j:journal-meta/j:issn-l/text()") == ["0188-7653"]

    openaire = render(schemas, "oai_openaire", work)
    titles = x(openaire, "//datacite:title")
    assert [(t.text, t.get("titleType"), t.get("{http://www.w3.org/XML/1998/namespace}lang")) for t in titles] == [
        ("La protesta social como derecho", None, "es"), ("un estudio comparado", "Subtitle", "es"),
        ("Social protest as a right", "TranslatedTitle", "en"), ("O protesto social como direito", "TranslatedTitle", "pt")]
    assert x(openaire, "//dc:description/@xml:lang") == ["es", "en", "pt"]
    assert x(openaire, "//datacite:subject[@subjectScheme='JEL']/@schemeURI") == [
        "https://www.aeaweb.org/econlit/jelCodes.php"]

    mods = render(schemas, "mods", work)
    main = x(mods, "mods:titleInfo[not(@type)]")[0]
    assert x(main, "mods:nonSort/text()") == ["La "] and x(main, "mods:title/text()") == ["protesta social como derecho"]
    assert x(main, "mods:subTitle/text()") == ["un estudio comparado"]
    assert [(t.get("lang"), x(t, "string(mods:title)")) for t in x(mods, "mods:titleInfo[@type='translated']")] == [
        ("eng", "Social protest as a right"), ("por", "O protesto social como direito")]
    assert x(mods, "mods:abstract/@lang") == ["spa", "eng", "por"]

    record = render(schemas, "marcxml", work)
    assert marc(record, "245") == [{"ind": "13", "a": ["La protesta social como derecho"], "b": ["un estudio comparado"]}]
    assert [f["ind"] for f in marc(record, "246")] == ["31", "31"]
    assert len(marc(record, "520")) == 3
    datacite = render(schemas, "oai_datacite", work)
    assert x(datacite, "//dck:title/@titleType") == ["Subtitle", "TranslatedTitle", "TranslatedTitle"]
    assert x(datacite, "//dck:language/text()") == ["es"]  # DataCite holds one language


def test_nonfiling_articles_by_language(schemas: ModuleType) -> None:
    cases = [("El Colegio de México: una historia", "spa", "3", "El "),
             ("Les migrations andines", "fra", "4", "Les "), ("L'Amérique latine et ses villes", "fra", "2", "L'"),
             ("A questão agrária", "por", "2", "A "), ("The politics of housing", "eng", "4", "The "),
             ("Educación popular", "spa", "0", None), ("La", "spa", "0", None)]
    for title, lang, indicator, nonsort in cases:
        work = make({**BASE, "titles": [{"value": title, "lang": lang}], "creators": [{"family": "X"}]}, type="book")
        assert marc(render(schemas, "marcxml", work), "245")[0]["ind"] == "1" + indicator, title
        assert x(render(schemas, "mods", work), "mods:titleInfo/mods:nonSort/text()") == ([nonsort] if nonsort else [])


def test_embargo_while_it_lasts_and_after(schemas: ModuleType) -> None:
    end = date(2025, 9, 1)
    work = make({**MULTILINGUAL, "license": "https://creativecommons.org/licenses/by/4.0/"}, access="embargoed",
                embargo_end=end, files=(pdf("tesis.pdf"),))
    openaire = render(schemas, "oai_openaire", work)
    assert x(openaire, "//datacite:rights/@rightsURI") == ["http://purl.org/coar/access_right/c_f1cf"]
    assert x(openaire, "//datacite:rights/text()") == ["embargoed access"]
    dates = {d.get("dateType"): d.text for d in x(openaire, "//datacite:date")}
    assert dates == {"Issued": "2022-07", "Accepted": "2025-05-02", "Available": "2025-09-01"}
    assert x(openaire, "//oaire:file") == []  # nobody may read it yet
    assert x(openaire, "//oaire:licenseCondition/@startDate") == ["2025-09-01"]
    dc = render(schemas, "oai_dc", work)
    assert "info:eu-repo/date/embargoEnd/2025-09-01" in x(dc, "//dc:date/text()")
    assert x(dc, "//dc:rights/text()")[0] == "info:eu-repo/semantics/embargoedAccess"
    article = render(schemas, "jats", work)
    assert x(article, "//ali:free_to_read/@start_date") == ["2025-09-01"]
    assert x(article, "//j:self-uri/@xlink:href") == ["http://testserver/works/7"]  # the landing page only
    assert marc(render(schemas, "marcxml", work), "506") == [{"ind": "1 ", "a": ["Embargoed until 2025-09-01"]}]
    mods = render(schemas, "mods", work)
    assert x(mods, "mods:accessCondition[@type='restriction on access']/text()") == ["embargoed access until 2025-09-01"]
    datacite = render(schemas, "oai_datacite", work)
    assert x(datacite, "//dck:date[@dateType='Available']/text()") == ["2025-09-01"]

    after = datetime(2025, 9, 1, 0, 0, tzinfo=UTC)  # the embargo ends at 00:00Z of its end date
    openaire = render(schemas, "oai_openaire", work, after)
    assert x(openaire, "//datacite:rights/@rightsURI") == ["http://purl.org/coar/access_right/c_abf2"]
    assert {d.get("dateType") for d in x(openaire, "//datacite:date")} == {"Issued"}
    assert x(openaire, "//oaire:file/text()") == ["http://testserver/works/7/files/tesis.pdf"]
    assert x(render(schemas, "jats", work, after), "//ali:free_to_read/@start_date") == []
    assert marc(render(schemas, "marcxml", work, after), "506")[0]["ind"] == "0 "


def test_per_file_access_and_the_main_file(schemas: ModuleType) -> None:
    files = (pdf("anexo.pdf", "restricted"), pdf("texto.pdf"), pdf("datos.csv", "embargoed", date(2030, 1, 1), "text/csv"),
             pdf("capitulo.pdf", "embargoed", date(2025, 1, 1)))
    work = make(MULTILINGUAL, files=files)
    openaire = render(schemas, "oai_openaire", work)
    found = [(f.text.rsplit("/", 1)[1], f.get("objectType"), f.get("accessRightsURI"), f.get("mimeType"))
             for f in x(openaire, "//oaire:file")]
    # the restricted annex and the still-embargoed data are never linked; the first readable PDF
    # by name is the full text when the editor named no main file
    assert found == [("capitulo.pdf", "fulltext", "http://purl.org/coar/access_right/c_abf2", "application/pdf"),
                     ("texto.pdf", "other", "http://purl.org/coar/access_right/c_abf2", "application/pdf")]
    chosen = make(MULTILINGUAL, files=files, main_file="texto.pdf")
    assert [(f.text.rsplit("/", 1)[1], f.get("objectType")) for f in x(render(schemas, "oai_openaire", chosen), "//oaire:file")] == [
        ("texto.pdf", "fulltext"), ("capitulo.pdf", "other")]
    assert x(render(schemas, "jats", chosen), "//j:self-uri/@xlink:href")[1:] == [
        "http://testserver/works/7/files/texto.pdf", "http://testserver/works/7/files/capitulo.pdf"]
    record = render(schemas, "marcxml", chosen)
    assert [(f.get("3"), f["u"]) for f in marc(record, "856")] == [
        (None, ["http://testserver/works/7"]), (["Full text"], ["http://testserver/works/7/files/texto.pdf"]),
        (["capitulo.pdf"], ["http://testserver/works/7/files/capitulo.pdf"])]
    mods = render(schemas, "mods", chosen)
    assert x(mods, "mods:location/mods:url[@usage='primary']/text()") == ["http://testserver/works/7/files/texto.pdf"]
    # a main file the public may not read: no file is the full text
    hidden = make(MULTILINGUAL, files=files, main_file="anexo.pdf")
    assert [f.get("objectType") for f in x(render(schemas, "oai_openaire", hidden), "//oaire:file")] == ["other", "other"]
    # a restricted work with one open file: that file, and only it
    restricted = make(MULTILINGUAL, access="restricted", files=(pdf("privado.pdf"), pdf("resumen.pdf", "open")))
    openaire = render(schemas, "oai_openaire", restricted)
    assert x(openaire, "//datacite:rights/text()") == ["restricted access"]
    assert x(openaire, "//oaire:file/text()") == ["http://testserver/works/7/files/resumen.pdf"]
    assert x(render(schemas, "datacite" if False else "oai_datacite", restricted), "//dck:format/text()") == [
        "application/pdf"]


CHAPTER = {
    **BASE, "titles": [{"value": "A questão agrária e os trabalhadores rurais", "lang": "por"}],
    "languages": ["por"], "publication_date": "2011", "creators": [{"family": "Medeiros", "given": "Leonilde"}],
    "book": {"title": "Campesinato e reforma agrária", "isbn": "978-85-7139-820-7",
             "editors": [{"family": "Fernandes", "given": "Bernardo Mançano"}], "pages": {"start": "33", "end": "60"}},
    "publisher": "Editora UNESP", "place": "São Paulo",
}


def test_chapters_and_their_host_books(schemas: ModuleType) -> None:
    work = make(CHAPTER, type="book_part")
    record = render(schemas, "marcxml", work)
    leader = x(record, "string(marc:leader)")
    assert leader[6:8] == "aa" and len(leader) == 24  # language material, monographic component part
    assert marc(record, "773") == [{"ind": "0 ", "t": ["Campesinato e reforma agrária"],
                                    "d": ["São Paulo, Editora UNESP, 2011"], "g": ["p. 33-60"],
                                    "z": ["978-85-7139-820-7"], "7": ["nnam"]}]
    assert marc(record, "020") == []  # the book's ISBN is the host's, not the chapter's
    mods = render(schemas, "mods", work)
    host = x(mods, "mods:relatedItem[@type='host']")[0]
    assert x(host, "mods:titleInfo/mods:title/text()") == ["Campesinato e reforma agrária"]
    assert x(host, "mods:identifier[@type='isbn']/text()") == ["978-85-7139-820-7"]
    assert x(host, "mods:name/mods:role/mods:roleTerm[@type='code']/text()") == ["edt"]
    assert x(host, "mods:part/mods:extent[@unit='pages']/*/text()") == ["33", "60"]
    openaire = render(schemas, "oai_openaire", work)
    assert x(openaire, "//oaire:citationTitle/text()") == ["Campesinato e reforma agrária"]
    assert (x(openaire, "//oaire:citationStartPage/text()"), x(openaire, "//oaire:citationEndPage/text()")) == (["33"], ["60"])
    assert x(openaire, "//datacite:relatedIdentifier[@relationType='IsPartOf']/@relatedIdentifierType") == ["ISBN"]
    assert x(openaire, "//oaire:resourceType/@uri") == ["http://purl.org/coar/resource_type/c_3248"]
    datacite = render(schemas, "oai_datacite", work)
    item = x(datacite, "//dck:relatedItem")[0]
    assert (item.get("relatedItemType"), item.get("relationType")) == ("Book", "IsPartOf")
    assert x(item, "dck:contributors/dck:contributor/@contributorType") == ["Editor"]
    assert x(datacite, "//dck:resourceType/@resourceTypeGeneral") == ["BookChapter"]
    assert not REGISTRY["jats"].applies_to(work)


def test_articles_and_their_journals(schemas: ModuleType) -> None:
    work = make({**MULTILINGUAL, "journal": {**MULTILINGUAL["journal"], "volume": "18", "issue": "2",
                                             "pages": {"start": "45", "end": "71"}}, "doi": "10.1234/cj.2022.045"})
    record = render(schemas, "marcxml", work)
    assert x(record, "string(marc:leader)")[6:8] == "ab"  # serial component part
    fixed = control(record, "008")
    assert len(fixed) == 40 and fixed[6:11] == "s2022" and fixed[23] == "o" and fixed[35:38] == "spa"
    assert marc(record, "773") == [{"ind": "0 ", "t": ["Crítica Jurídica"], "g": ["Vol. 18, no. 2 (2022), p. 45-71"],
                                    "q": ["18:2<45"], "x": ["0188-7653"], "7": ["nnas"]}]
    assert marc(record, "024") == [{"ind": "7 ", "a": ["10.1234/cj.2022.045"], "2": ["doi"]}]
    article = render(schemas, "jats", work)
    assert x(article, "//j:article-meta/j:volume/text()") == ["18"]
    assert (x(article, "//j:fpage/text()"), x(article, "//j:lpage/text()")) == (["45"], ["71"])
    assert x(article, "//j:article-id[@pub-id-type='doi']/text()") == ["10.1234/cj.2022.045"]
    datacite = render(schemas, "oai_datacite", work)
    assert x(datacite, "//dck:identifier/@identifierType") == ["DOI"]
    assert x(datacite, "//dck:relatedItem/@relationType") == ["IsPublishedIn"]
    assert x(datacite, "//dck:relatedItem/dck:relatedItemIdentifier/text()") == ["0188-7653"]
    openaire = render(schemas, "oai_openaire", work)
    assert x(openaire, "//datacite:relatedIdentifier/@relatedIdentifierType") == ["ISSN", "EISSN"]
    assert x(openaire, "//datacite:alternateIdentifier[@alternateIdentifierType='DOI']/text()") == ["10.1234/cj.2022.045"]
    assert x(openaire, "//datacite:identifier/text()") == ["http://testserver/works/7"]
    # JATS needs a journal identified by an ISSN: without one the format does not apply
    assert not REGISTRY["jats"].applies_to(make({**MULTILINGUAL, "journal": {"title": "Sin ISSN"}}))
    assert not REGISTRY["jats"].applies_to(make(MULTILINGUAL, type="book"))


def test_theses(schemas: ModuleType) -> None:
    thesis = {**BASE, "titles": [{"value": "Juventudes y precariedad", "lang": "spa"}], "publication_date": "2024-06",
              "creators": [{"family": "Pérez", "given": "Lucía"}], "publisher": "FLACSO Argentina",
              "contributors": [{"family": "Svampa", "given": "Maristella", "role": "supervisor"}]}
    for kind, degree in (("doctoral_thesis", "Doctoral"), ("master_thesis", "Master's"), ("bachelor_thesis", "Bachelor's")):
        work = make(thesis, type=kind)
        record = render(schemas, "marcxml", work)
        assert marc(record, "502") == [{"ind": "  ", "b": [degree], "c": ["FLACSO Argentina"], "d": ["2024"]}]
        assert x(record, "string(marc:leader)")[6:8] == "am"
        fixed = control(record, "008")
        assert fixed[24] == "m" and fixed[7:11] == "2024"  # nature of contents: theses
        assert marc(record, "700") == [{"ind": "1 ", "a": ["Svampa, Maristella"], "4": ["ths"]}]
        mods = render(schemas, "mods", work)
        assert x(mods, "mods:note[@type='thesis']/text()") == [f"Thesis ({degree})--FLACSO Argentina, 2024"]
        openaire = render(schemas, "oai_openaire", work)
        assert x(openaire, "//datacite:contributor/@contributorType") == ["Supervisor"]
        assert x(render(schemas, "oai_datacite", work), "//dck:resourceType/@resourceTypeGeneral") == ["Dissertation"]


def test_marc_leader_and_008_by_material(schemas: ModuleType) -> None:
    base = {**BASE, "titles": [{"value": "El Colegio de México: una historia", "lang": "spa"}],
            "creators": [{"family": "Lida", "given": "Clara", "role": "speaker"}], "publication_date": "1990"}
    cases = {  # type: (Leader/06-07, 008/18-34)
        "book": ("am", "    " + " o" + "    " + " 000 0 "),
        "report": ("am", "    " + " o" + "    " + " 000 0 "),
        "conference_paper": ("am", "    " + " o" + "    " + " 100 0 "),
        "sound": ("im", "nnnn o      l  n "),
        "video": ("gm", "072  " + "     " + " o   vu"),
        "image": ("km", "nnn  " + "     " + " o   in"),
        "lecture": ("im", "nnnn o      l  n "),
    }
    for kind, (leader, material) in cases.items():
        extra = {"extent": {"duration": "PT1H12M"}} if kind in ("video", "lecture") else {}
        record = render(schemas, "marcxml", make({**base, **extra}, type=kind))
        fixed = control(record, "008")
        assert x(record, "string(marc:leader)")[5:8] == "n" + leader, kind
        assert len(fixed) == 40 and fixed[6:15] == "s1990    " and fixed[35:38] == "spa" and fixed[39] == "d", kind
        assert fixed[18:35] == material, (kind, fixed)
    book = render(schemas, "marcxml", make({**base, "isbn": ["978-987-722-432-0"], "extent": {"pages": 312},
                                            "edition": "2a ed."}, type="book"))
    assert marc(book, "020") == [{"ind": "  ", "a": ["978-987-722-432-0"]}]
    assert marc(book, "250")[0]["a"] == ["2a ed."] and marc(book, "300")[0]["a"] == ["1 online resource (312 pages)"]
    assert marc(book, "245")[0]["ind"] == "13"  # "El " is skipped in filing
    french = render(schemas, "marcxml", make({**base, "languages": ["fra", "que"]}, type="book"))
    assert control(french, "008")[35:38] == "fre" and marc(french, "041") == [{"ind": "0 ", "a": ["fre", "que"]}]
    undated = render(schemas, "marcxml", make({**base, "publication_date": None}, type="book", validate=True))
    assert control(undated, "008")[6:11] == "nuuuu"


def test_conferences(schemas: ModuleType) -> None:
    paper = {**BASE, "titles": [{"value": "Género y cuidados", "lang": "spa"}], "creators": [{"family": "Faur"}],
             "conference": {"name": "Congreso ALAS", "acronym": "ALAS", "number": "32", "place": "Lima", "country": "PE",
                            "start": "2019-12-01", "end": "2019-12-06"},
             "book": {"title": "Actas del XXXII Congreso ALAS", "pages": {"start": "210", "end": "225"}}}
    work = make(paper, type="conference_paper")
    openaire = render(schemas, "oai_openaire", work)
    assert x(openaire, "//oaire:citationConferencePlace/text()") == ["Lima, Peru"]
    assert x(openaire, "//oaire:citationConferenceDate/text()") == ["2019-12-01 - 2019-12-06"]
    assert x(openaire, "//oaire:citationTitle/text()") == ["Actas del XXXII Congreso ALAS"]
    record = render(schemas, "marcxml", work)
    assert marc(record, "711") == [{"ind": "2 ", "a": ["Congreso ALAS"], "n": ["32"], "d": ["2019-12-01/2019-12-06"],
                                    "c": ["Lima, Peru"]}]
    assert x(record, "string(marc:leader)")[7] == "a" and control(record, "008")[29] == "1"
    mods = render(schemas, "mods", work)
    assert x(mods, "mods:name[@type='conference']/mods:namePart/text()") == ["Congreso ALAS", "2019-12-01/2019-12-06",
                                                                           "Lima, Peru"]
    journal_paper = make({**paper, "book": None, "journal": {"title": "Revista", "issn": "0188-7653"}})
    article = render(schemas, "jats", journal_paper)
    assert x(article, "//j:conference/j:conf-name/text()") == ["Congreso ALAS"]
    assert x(article, "//j:conference/j:conf-date/@iso-8601-date") == ["2019-12-01"]


def test_funding_related_identifiers_and_subject_schemes(schemas: ModuleType) -> None:
    work = make({**MULTILINGUAL,
                 "funding": [{"funder": "European Commission", "funder_id": "10.13039/501100000780",
                              "funding_stream": "Horizon Europe", "award_number": "101000000",
                              "award_uri": "https://cordis.europa.eu/project/id/101000000", "award_title": "ACT"},
                             {"funder": "ANR", "funder_id": "https://ror.org/00rbzpz17"}],
                 "related_identifiers": [{"identifier": "10.5555/data.1", "type": "doi", "relation": "isSupplementedBy"},
                                         {"identifier": "978-85-7139-820-7", "type": "ISBN", "relation": "Reviews"}],
                 "subjects": [{"value": "Social movements", "scheme": "lcsh",
                               "uri": "http://id.loc.gov/authorities/subjects/sh85123405"},
                              {"value": "305.8", "scheme": "DDC"}]})
    openaire = render(schemas, "oai_openaire", work)
    refs = x(openaire, "//oaire:fundingReference")
    assert [x(r, "string(oaire:funderIdentifier/@funderIdentifierType)") for r in refs] == ["Crossref Funder ID", "ROR"]
    assert x(refs[0], "oaire:awardNumber/@awardURI") == ["https://cordis.europa.eu/project/id/101000000"]
    assert x(refs[0], "oaire:fundingStream/text()") == ["Horizon Europe"]
    related = [(r.get("relatedIdentifierType"), r.get("relationType"), r.text)
               for r in x(openaire, "//datacite:relatedIdentifier")]
    assert ("DOI", "IsSupplementedBy", "10.5555/data.1") in related and ("ISBN", "Reviews", "978-85-7139-820-7") in related
    lcsh = x(openaire, "//datacite:subject[@subjectScheme='LCSH']")[0]
    assert (lcsh.get("schemeURI"), lcsh.get("valueURI")) == ("http://id.loc.gov/authorities/subjects",
                                                            "http://id.loc.gov/authorities/subjects/sh85123405")
    record = render(schemas, "marcxml", work)
    assert marc(record, "650") == [{"ind": " 0", "a": ["Social movements"],
                                    "0": ["http://id.loc.gov/authorities/subjects/sh85123405"]}]
    assert marc(record, "082") == [{"ind": "04", "a": ["305.8"]}]
    assert [f["i"] for f in marc(record, "787")] == [["IsSupplementedBy"], ["Reviews"]]
    mods = render(schemas, "mods", work)
    assert x(mods, "mods:relatedItem[@type='reviewOf']/mods:identifier[@type='isbn']/text()") == ["978-85-7139-820-7"]
    assert x(mods, "mods:classification[@authority='ddc']/text()") == ["305.8"]
    article = render(schemas, "jats", work)
    assert x(article, "//j:funding-source//j:institution-id[@institution-id-type='doi']/text()") == ["10.13039/501100000780"]
    datacite = render(schemas, "oai_datacite", work)
    assert x(datacite, "//dck:funderIdentifier/text()") == ["https://doi.org/10.13039/501100000780", "https://ror.org/00rbzpz17"]


@pytest.mark.parametrize(("kind", "version", "term"), [
    ("journal_article", None, "publishedVersion"), ("book", None, "publishedVersion"), ("preprint", None, "draft"),
    ("image", "NA", "publishedVersion"), ("journal_article", "AM", "acceptedVersion"),
    ("preprint", "SMUR", "submittedVersion"), ("journal_article", "CVoR", "updatedVersion"),
])
def test_exactly_one_version_term_in_oai_dc(schemas: ModuleType, kind: str, version: str | None, term: str) -> None:
    """LA Referencia's rule: exactly one version term on every record (the repository's default
    when the deposit says nothing: the version of record, or the author's original for a preprint)."""
    metadata = {**MULTILINGUAL, **({"version": version} if version else {})}
    dc = render(schemas, "oai_dc", make(metadata, type=kind))
    versions = [t for t in x(dc, "//dc:type/text()") if t.endswith("Version") or t.endswith("/draft")]
    assert versions == [f"info:eu-repo/semantics/{term}"]
    openaire = render(schemas, "oai_openaire", make(metadata, type=kind))
    assert len(x(openaire, "//oaire:version/@uri")) == 1


def test_stored_documents_of_any_shape_never_break_a_record(schemas: ModuleType) -> None:
    """A document written outside the API: wrong types everywhere, XML-illegal characters,
    malformed URIs and dates. Every format still renders a valid record."""
    nasty = "Tí\x01tu\x0blo\ufffe"
    doc = {
        "titles": [{"value": nasty, "lang": ["spa"], "type": ["main"]}, {"value": 3}, "x", {"value": "  "}],
        "creators": [{"family": "Pé\x02rez", "given": 5, "orcid": "not-an-orcid", "role": {"x": 1},
                      "affiliations": [{"name": "U\x03", "ror": "ror?", "country": ["AR"]}, None]}, {"given": "only"}],
        "contributors": "nobody", "abstracts": [{"value": "R\x04", "lang": "es es"}],
        "subjects": [{"value": "s\x05", "scheme": "JEL", "scheme_uri": "not a uri", "uri": ["x"], "lang": 1}],
        "languages": ["xx1", 5, "spa"], "publication_date": "2021-13-45", "publisher": ["P"], "place": "Lima\x06",
        "journal": {"title": "Revista\x0c", "issn": 7, "pages": "1-2", "volume": ["3"]},
        "book": [], "series": {"title": None}, "conference": {"name": "C", "start": "20190101", "country": 3},
        "related_identifiers": [{"identifier": "x y", "type": ["DOI"], "relation": "IsPartOf"},
                                {"identifier": "10.1/x", "type": "DOI", "relation": "Nope"}],
        "funding": [{"funder": "F\x07", "funder_id": "https://doi.org/ bad", "award_uri": "::"}],
        "license": "https://creativecommons.org/licenses/by/4.0/\x00", "version": ["VoR"],
        "extent": {"pages": "12", "duration": 5}, "countries": ["ZZ", "AR", 4], "isbn": "978", "urls": [1, "nope"],
        "doi": {"x": 1}, "notes": "N\x08",
    }
    for kind in ("journal_article", "book", "book_part", "doctoral_thesis", "sound", "video", "image", "lecture"):
        work = make(doc, type=kind, validate=False, files=(pdf("a\x01.pdf"),))
        work.issn_l = "0188-7653"  # as if the journal's ISSN-L had been promoted earlier
        for prefix, fmt in REGISTRY.items():
            if fmt.applies_to(work):
                element = render(schemas, prefix, work)
                assert "\x01" not in etree.tostring(element, encoding="unicode")


def test_records_carry_the_works_data_once(schemas: ModuleType) -> None:
    """What a harvester parses in every record is the work's data, each item once: no field of
    constants that the MARC Leader, 007 and 008 already say, no relator label beside its code,
    no namespace prefix repeated on every element where the record's default namespace does."""
    work = make(PEOPLE, type="book")
    record = render(schemas, "marcxml", work)
    tags = x(record, "marc:datafield/@tag")
    assert not {"300", "336", "337", "338"} & set(tags)  # no page count: an online resource, by 007 "cr"
    assert x(record, "marc:datafield/marc:subfield[@code='e']") == []  # the relator's $4 code alone
    assert x(record, "marc:controlfield[@tag='007']/text()") == ["cr |||||||||||"] and record.findtext(
        f"{{{NS['marc']}}}leader")[6] == "a"  # what 336–338 said: text, computer, online resource
    assert x(record, "marc:datafield[@tag='856']/marc:subfield/@code") == ["u"]
    keywords = {**PEOPLE, "subjects": [{"value": "protesta", "lang": "spa"}, {"value": "protest", "lang": "eng"},
                                       {"value": "Social movements", "scheme": "lcsh"}]}
    assert marc(render(schemas, "marcxml", make(keywords, type="book")), "653") == [
        {"ind": "  ", "a": ["protesta", "protest"]}]  # one field, a repeated $a per keyword
    assert marc(render(schemas, "marcxml", make({**PEOPLE, "extent": {"pages": 312}}, type="book")), "300") == [
        {"ind": "  ", "a": ["1 online resource (312 pages)"]}]

    mods = render(schemas, "mods", work)
    assert [len(role) for role in x(mods, "mods:name/mods:role")] == [1] * 5
    assert x(mods, "mods:name/mods:role/mods:roleTerm/text()") == ["aut"] * 4 + ["edt"]

    openaire = REGISTRY["oai_openaire"].to_element(work, RenderContext(SETTINGS, NOW))
    data = etree.tostring(openaire)
    assert b"<datacite:" not in data and data.startswith(b"<oaire:resource ")
    assert data.count(b"xmlns") == 4  # declared once, on the root (DataCite's as the default)
    assert len(x(render(schemas, "oai_openaire", work), "//datacite:creator")) == 4
