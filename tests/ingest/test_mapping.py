"""The mappings alone (no database): oai_dc and oai_openaire records as other repositories write them."""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from repo.ingest.mapping import MAPPERS
from repo.ingest.pipeline import validate

SCHEMAS = Path(os.environ.get("REPO_OFFICIAL_SCHEMAS") or Path(__file__).parents[3] / "shared" / "schemas")
OAIRE = "http://namespace.openaire.eu/schema/oaire/"


def _payload(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    return next(e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).namespace in MAPPERS)


def test_oai_openaire_of_another_provider(schemas) -> None:  # type: ignore[no-untyped-def]
    sample = (SCHEMAS / "samples" / "valid_getrecord_oai_openaire.xml").read_bytes()
    record = sample.replace(b'<datacite:date dateType="Accepted">', b'<datacite:date dateType="Issued">2018-03-01'
                            b'</datacite:date><datacite:date dateType="Accepted">')
    draft = MAPPERS[OAIRE](_payload(record))
    data, removed, error = validate({**draft.record(), "centre": "member"})
    assert error is None and removed == [], (error, removed)
    m = data.metadata
    assert data.type == "journal_article" and data.access_right == "open"
    assert m.doi == "10.1002/chem.201701589" and m.publication_date == "2018-03-01"
    assert m.creators[3].orcid == "0000-0003-1983-9378" and m.creators[0].family == "Pettersson"
    assert m.journal.title == "Chemistry" and m.journal.issn == "0947-6539" and m.journal.eissn == "1521-3765"
    assert (m.journal.volume, m.journal.issue, m.journal.pages.start, m.journal.pages.end) == ("23", "31", "7444", "7447")
    assert m.funding[0].award_number == "660668" and m.version == "SMUR"
    assert m.license == "https://creativecommons.org/licenses/by-nc/4.0/"
    kept = {u["field"] for u in draft.unmapped_values}
    assert {"datacite:alternateIdentifiers", "oaire:file", "datacite:date[Accepted]"} <= kept  # kept, not dropped


def test_oai_dc_in_the_ways_repositories_write_it() -> None:
    record = """<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
        xmlns:dc="http://purl.org/dc/elements/1.1/">
      <dc:title xml:lang="pt-BR">Trabalho &amp; cuidado</dc:title><dc:creator>Souza, Ana</dc:creator>
      <dc:creator>Instituto de Pesquisa</dc:creator><dc:contributor>Lima, Rui</dc:contributor>
      <dc:date>2019-03-01T12:00:00Z</dc:date><dc:date>info:eu-repo/date/embargoEnd/2031-01-01</dc:date>
      <dc:type>Tese de doutorado</dc:type><dc:type>info:eu-repo/semantics/acceptedVersion</dc:type>
      <dc:rights>info:eu-repo/semantics/embargoedAccess</dc:rights><dc:language>Português</dc:language>
      <dc:identifier>hdl:10183/12345</dc:identifier><dc:coverage>Brasil</dc:coverage>
      <dc:relation>info:eu-repo/grantAgreement/CNPq//301234%2F2019-0</dc:relation>
    </oai_dc:dc>""".encode()
    draft = MAPPERS["http://www.openarchives.org/OAI/2.0/oai_dc/"](etree.fromstring(record))
    data, removed, error = validate({**draft.record(), "centre": "member"})
    assert error is None and removed == []
    m = data.metadata
    assert data.type == "doctoral_thesis" and m.version == "AM"
    assert data.access_right == "embargoed" and str(data.embargo_end) == "2031-01-01"
    assert m.publication_date == "2019-03-01" and m.languages == ["por"] and m.countries == ["BR"]
    assert m.titles[0].value == "Trabalho & cuidado" and m.titles[0].lang == "por"
    assert m.creators[1].name == "Instituto de Pesquisa" and m.contributors[0].role == "other"
    assert m.handle == "10183/12345" and m.funding[0].award_number == "301234/2019-0"
