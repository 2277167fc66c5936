"""Harvesting real OAI-PMH servers: another instance of this repository (round trip: harvest it,
expose the works again, compare the records; then creates, updates and deletes between runs), and
oai_repo (an independent server library from PyPI) over a fixed corpus."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from ingest_support import Harvester, Peer
from lxml import etree

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _records(http, url: str) -> dict[str, etree._Element]:  # type: ignore[no-untyped-def]
    """identifier → <record> of a whole oai_dc ListRecords."""
    found, params = {}, {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    while True:
        root = etree.fromstring(http.get(url, params=params).content)
        for record in root.iterfind(".//o:record", NS):
            found[record.findtext("o:header/o:identifier", namespaces=NS)] = record
        token = root.findtext(".//o:resumptionToken", namespaces=NS)
        if not token:
            return found
        params = {"verb": "ListRecords", "resumptionToken": token}


def _dc(record: etree._Element) -> Counter[tuple[str, str, str | None]]:
    return Counter((etree.QName(e).localname, e.text, e.get(XML_LANG)) for e in record.iterfind(".//dc:*", NS))


def _fill(peer: Peer) -> dict[str, int]:
    c = peer.corpus
    return {
        "article": c.work("Educación popular en América Latina", doi="10.1234/edu.1", subjects=[
            {"value": "educación", "lang": "spa"}], countries=["AR", "BR"], version="VoR",
            journal={"title": "Crítica Jurídica", "issn": "0188-7653", "volume": "3", "issue": "1",
                     "pages": {"start": "45", "end": "71"}},
            abstracts=[{"value": "Un estudio.", "lang": "spa"}, {"value": "A study.", "lang": "eng"}]),
        "book": c.work("O livro", lang="por", type="book", isbn=["978-3-16-148410-0"], publisher="CLACSO",
                       collections=("libros",)),
        "chapter": c.work("Un capítulo", type="book_part", book={"title": "El libro", "isbn": "9789877230321",
                                                                  "pages": {"start": "12", "end": "30"}}),
        "paper": c.work("Documento", type="working_paper", series={"title": "Documentos de trabajo", "number": "12"},
                        funding=[{"funder": "CONICET", "award_number": "PIP-123"}], handle="10.5555/77"),
        "thesis": c.work("Tese embargada", lang="por", type="doctoral_thesis", access_right="embargoed",
                         embargo_end="2099-01-01"),
        "gone": c.work("Retirado"),
    }


def test_round_trip_then_creates_updates_and_deletes(peer: Peer, harvester: Harvester, client, oai_get,
                                                     clock) -> None:
    made = _fill(peer)
    peer.corpus.withdraw(made["gone"])
    source_id = harvester.add(peer.oai)
    first = harvester.run(source_id)
    assert (first.status, first.created, first.skipped, first.failed) == ("succeeded", 5, 1, 0), first.last_error
    with harvester.database.engine.connect() as connection:  # the OAI set counters count them (batch insert)
        from repo.oai import tracking

        assert tracking.size(connection, ("all", ""), None) == 5
        assert tracking.size(connection, ("open", ""), None) == 4  # the embargoed thesis is not open
        assert tracking.size(connection, ("journal", "0188-7653"), None) == 1  # the article's journal set (ISSN-L)
        assert tracking.size(connection, ("journal", ""), None) == 1

    import httpx

    theirs = _records(httpx, peer.oai)
    clock.set(datetime.now(UTC) + timedelta(seconds=2))  # our server's clock: after the harvest
    oai_get.harvest("ListRecords", metadataPrefix="oai_dc")  # every page valid against the schemas
    ours = _records(client, "/oai")
    by_origin = {w.origin["identifier"]: w.id for w in harvester.works().values()}
    assert len(ours) == 5
    for identifier, record in theirs.items():
        if record.find("o:header", NS).get("status") == "deleted":
            continue
        mine = ours[f"oai:repo.example.org:{by_origin[identifier]}"]
        expected, got = _dc(record), _dc(mine)
        landing = [t for (e, t, _) in expected if e == "identifier"][0]
        assert ("identifier", landing, None) in got  # their landing page is one of our identifiers
        same = lambda c: Counter({k: n for k, n in c.items() if k[0] != "identifier"})  # noqa: E731
        assert same(got) == same(expected), (identifier, same(expected) - same(got), same(got) - same(expected))

    # our records of harvested works say where they come from (valid against provenance.xsd: oai_get checks)
    article = by_origin[f"oai:peer.example.org:{made['article']}"]
    got = oai_get(verb="GetRecord", metadataPrefix="oai_dc", identifier=f"oai:repo.example.org:{article}")
    P = {"p": "http://www.openarchives.org/OAI/2.0/provenance"}
    origin = got.root.find(".//o:about/p:provenance/p:originDescription", {**NS, **P})
    assert origin is not None and origin.get("altered") == "true" and origin.get("harvestDate")
    assert origin.findtext("p:baseURL", namespaces=P) == peer.oai
    assert origin.findtext("p:identifier", namespaces=P) == f"oai:peer.example.org:{made['article']}"
    assert origin.findtext("p:datestamp", namespaces=P) == theirs[f"oai:peer.example.org:{made['article']}"] \
        .findtext("o:header/o:datestamp", namespaces=NS)
    assert origin.findtext("p:metadataNamespace", namespaces=P) == "http://www.openarchives.org/OAI/2.0/oai_dc/"
    listed = _records(client, "/oai")[f"oai:repo.example.org:{article}"]  # the cached bytes carry it too
    assert listed.find("o:about", NS) is not None

    # between runs, the peer creates a work, edits one and withdraws one
    added = peer.corpus.work("Obra nueva", type="report")
    peer.corpus.edit(made["book"], metadata={"titles": [{"value": "O livro, segunda edição", "lang": "por"}]})
    peer.corpus.withdraw(made["paper"])
    second = harvester.run(source_id)
    assert (second.created, second.updated, second.withdrawn, second.failed) == (1, 1, 1, 0), second.last_error
    works = harvester.works()
    assert works[f"oai:peer.example.org:{added}"].status == "published"
    assert works[f"oai:peer.example.org:{made['book']}"].doc["titles"][0]["value"] == "O livro, segunda edição"
    gone = works[f"oai:peer.example.org:{made['paper']}"]
    assert gone.status == "withdrawn" and gone.withdrawal_reason == "deleted at source"
    # the withdrawal reaches our own harvesters as a deletion
    clock.set(datetime.now(UTC) + timedelta(seconds=2))
    deleted = oai_get(verb="GetRecord", metadataPrefix="oai_dc", identifier=f"oai:repo.example.org:{gone.id}")
    assert deleted.xpath("//o:header/@status") == ["deleted"]


# -- oai_repo (MSU Libraries), an independent OAI-PMH server library (oai_repo_peer.py) --------------------

def test_an_independent_server_library_is_harvested_and_a_vanished_record_reported(harvester: Harvester,
                                                                                  oai_repo_server) -> None:
    url, rows = oai_repo_server
    source_id = harvester.add(url)
    run = harvester.run(source_id)
    assert (run.status, run.created, run.failed, run.pages) == ("succeeded", 23, 0, 3), run.last_error
    works = harvester.works()
    assert works["oai:peer.example.org:3"].type == "journal_article"
    assert works["oai:peer.example.org:4"].type == "book"
    assert works["oai:peer.example.org:4"].doc["creators"] == [{"family": "Pérez", "given": "Juan 4",
                                                                "affiliations": [], "role": "author"}]
    rows.pop(5)  # oai_repo cannot say "deleted" (deletedRecord=no): the record just vanishes
    full = harvester.run(source_id, full=True)
    assert (full.status, full.missing, full.withdrawn) == ("succeeded", 1, 0)
    assert harvester.works()["oai:peer.example.org:6"].status == "published"  # reported, never withdrawn


# -- oai_openaire: harvest our own OpenAIRE 4 output and get the same deposit records back -----------------

#: What the OpenAIRE 4 crosswalk does not write, so no harvester can read it back (field → why).
NOT_IN_OPENAIRE = {
    "series": "only a series' ISSN is written (IsPartOf), not its title or number",
    "conference.acronym": "no OpenAIRE 4 element", "conference.number": "no OpenAIRE 4 element",
    "journal.issn_l": "no OpenAIRE 4 element (the ISSN and eISSN are written)",
}


def _rich(peer: Peer) -> dict[str, int]:
    """Works that use every field the OpenAIRE 4 crosswalk writes."""
    c = peer.corpus
    person = {"family": "Gómez", "given": "Ana", "orcid": "0000-0002-1825-0097",
              "affiliations": [{"name": "Universidad de Buenos Aires", "ror": "https://ror.org/0081fs513"}]}
    return {
        "article": c.work(
            "Educación popular en América Latina", doi="10.1234/edu.1", handle="10.5555/edu.1",
            creators=[person, {"name": "Colectivo Sur"}], version="VoR",
            contributors=[{"family": "Souza", "given": "João", "role": "editor"}],
            titles=[{"value": "Educación popular en América Latina", "lang": "spa"},
                    {"value": "Popular education in Latin America", "lang": "eng", "type": "translated"}],
            subjects=[{"value": "educación", "lang": "spa"},
                      {"value": "Education", "scheme": "LCSH", "uri": "http://id.loc.gov/authorities/subjects/sh85040989"},
                      {"value": "I21", "scheme": "JEL"}],
            abstracts=[{"value": "Un estudio.", "lang": "spa"}, {"value": "A study.", "lang": "eng"}],
            countries=["AR", "BR"], languages=["spa", "eng"], publisher="CLACSO",
            journal={"title": "Crítica Jurídica", "issn": "0188-7653", "eissn": "2007-9516", "volume": "3",
                     "issue": "1", "pages": {"start": "45", "end": "71"}},
            funding=[{"funder": "European Commission", "funder_id": "https://ror.org/00k4n6c32",
                      "funding_stream": "Horizon Europe", "award_number": "101000001",
                      "award_uri": "https://cordis.europa.eu/project/id/101000001", "award_title": "EDU"},
                     {"funder": "CONICET", "award_number": "PIP-123"}],
            related_identifiers=[{"type": "DOI", "relation": "IsSupplementedBy", "identifier": "10.5281/zenodo.1"}],
            urls=["https://example.org/edu"], extent={"pages": 27}),
        "chapter": c.work("Un capítulo", type="book_part", book={"title": "El libro", "isbn": "9789877230321",
                                                                  "pages": {"start": "12", "end": "30"}},
                          edition="2"),
        "book": c.work("O livro", lang="por", type="book", isbn=["978-3-16-148410-0"], publisher="CLACSO",
                       edition="3"),
        "paper": c.work("Ponencia", type="conference_paper", version="AM",
                        conference={"name": "Congreso ALAS", "place": "Montevideo", "country": "UY",
                                    "start": "2019-12-01", "end": "2019-12-06"}),
        "thesis": c.work("Tese embargada", lang="por", type="doctoral_thesis", access_right="embargoed",
                         embargo_end="2099-01-01",
                         contributors=[{"family": "Lima", "given": "Rosa", "role": "supervisor"}]),
    }


def _without(doc: dict, paths) -> dict:  # type: ignore[no-untyped-def,type-arg]
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
    for path in paths:
        head, _, tail = path.partition(".")
        if tail and isinstance(doc.get(head), dict):
            doc[head].pop(tail, None)
        elif not tail:
            doc.pop(head, None)
    return doc


def test_oai_openaire_round_trips(peer: Peer, harvester: Harvester) -> None:
    """The peer's works → its oai_openaire records → our mapping: the same deposit records (type,
    access, embargo and every metadata field the format carries), nothing left unmapped."""
    from repo.works.models import Work
    from repo.works.vocabularies import effective_version

    made = _rich(peer)
    run = harvester.run(harvester.add(peer.oai, prefix="oai_openaire"))
    assert (run.status, run.created, run.failed) == ("succeeded", len(made), 0), run.last_error
    with peer.database.session() as session:
        theirs = {f"oai:peer.example.org:{w.id}": w for w in session.query(Work)}
        expected = {k: (w.type, w.access_right, w.embargo_end, _without(w.doc, NOT_IN_OPENAIRE))
                    for k, w in theirs.items()}
    for identifier, (kind, *_, doc) in expected.items():
        doc["urls"] = [*doc.get("urls", []), f"{peer.url}/works/{identifier.rpartition(':')[2]}"]  # their landing page
        doc["version"] = effective_version(kind, doc.get("version")).value  # the record states the default
    got = {identifier: (work.type, work.access_right, work.embargo_end, work.doc)
           for identifier, work in harvester.works().items()}
    # kept, not dropped: the day the peer made the embargoed thesis public (ours is our own)
    thesis = f"oai:peer.example.org:{made['thesis']}"
    unmapped = {identifier: [u for u in work.origin.get("unmapped", [])
                             if (identifier, u["field"]) != (thesis, "datacite:date[Accepted]")]
                for identifier, work in harvester.works().items()}
    assert [u["field"] for u in harvester.works()[thesis].origin["unmapped"]] == ["datacite:date[Accepted]"]
    assert not any(unmapped.values()), "\n".join(f"{k}: {u}" for k, v in unmapped.items() for u in v)
    differences = {identifier: (_diff(expected[identifier], mine), _diff(mine, expected[identifier]))
                   for identifier, mine in got.items() if mine != expected[identifier]}
    assert not differences, differences


def _diff(a, b):  # type: ignore[no-untyped-def]
    """What of ``a`` is not in ``b`` (field by field): for a readable failure."""
    if isinstance(a, tuple):
        return [d for x, y in zip(a, b) if (d := _diff(x, y))]
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _diff(v, b.get(k)) for k, v in a.items() if v != b.get(k)}
    return a
