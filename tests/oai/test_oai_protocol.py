"""The acceptance matrix of OAI-PMH.md §1.10, over GET and POST, on SQLite and PostgreSQL.

Every response is validated against the official XSDs by the ``oai`` fixture (see conftest).
"""

from __future__ import annotations

import gzip
import zlib
from datetime import datetime, timedelta

import pytest

from oai_harness import NS, OAIClient, identifier

BAD_VERB = ["", "verb=", "verb=junk", "verb=Identify&verb=Identify", "verb=identify", "junk",
            "verb=ListRecords&verb=ListIdentifiers&metadataPrefix=oai_dc"]


def test_identify(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    first = corpus.work("Primera")
    reply = oai(verb="Identify")
    assert reply.errors == []
    assert reply.request.attrib == {"verb": "Identify"}
    assert reply.request.text == "http://testserver/oai"
    assert reply.xpath("string(//o:baseURL)") == "http://testserver/oai"
    assert reply.xpath("string(//o:protocolVersion)") == "2.0"
    assert reply.xpath("string(//o:deletedRecord)") == "persistent"
    assert reply.xpath("string(//o:granularity)") == "YYYY-MM-DDThh:mm:ssZ"
    assert reply.xpath("//o:compression/text()") == ["gzip", "deflate"]
    assert reply.xpath("string(//*[local-name()='repositoryIdentifier'])") == "repo.example.org"
    # the true earliest datestamp: that of the first work, not the oldest possible
    record = oai(verb="GetRecord", identifier=identifier(first), metadataPrefix="oai_dc")
    assert reply.xpath("string(//o:earliestDatestamp)") == record.xpath("string(//o:datestamp)")


def test_identify_of_an_empty_repository(oai: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    reply = oai(verb="Identify")
    assert reply.xpath("string(//o:earliestDatestamp)") == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def test_bad_verb(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    for query in BAD_VERB:
        reply = oai.query(query)
        assert reply.errors == ["badVerb"], query
        assert reply.request.attrib == {} and reply.request.text == "http://testserver/oai"


BAD_ARGUMENT = [
    "verb=Identify&foo=1",
    "verb=Identify&metadataPrefix=oai_dc",
    "verb=GetRecord&identifier=oai:repo.example.org:1&metadataPrefix=oai_dc&set=x",
    "verb=GetRecord&metadataPrefix=oai_dc",
    "verb=GetRecord&identifier=oai:repo.example.org:1",
    "verb=GetRecord&identifier=&metadataPrefix=oai_dc",
    "verb=GetRecord&identifier=oai:repo.example.org:1&metadataPrefix=oai_dc&resumptionToken=x",
    "verb=ListRecords",
    "verb=ListIdentifiers&set=centre:centre-a",
    "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc",
    "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=other",
    "verb=ListRecords&resumptionToken=abc&metadataPrefix=oai_dc",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01&until=2024-01-01T00:00:00Z",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2024-02-01&until=2024-01-01",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-02T00:00:00Z&until=2024-01-01T23:59:59Z",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01T00:00:00",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01T00:00:00%2B02:00",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01T00:00:00.5Z",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2024-1-1",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2024-02-30",
    "verb=ListRecords&metadataPrefix=oai_dc&from=",
    "verb=ListRecords&metadataPrefix=oai_dc&from=yesterday",
    "verb=ListRecords&metadataPrefix=oai_dc&until=2024-13-01",
    "verb=ListRecords&metadataPrefix=oai_dc&set=bad%20spec",
    "verb=ListRecords&metadataPrefix=oai_dc&set=",
    "verb=ListRecords&metadataPrefix=oai_dc&set=a::b",
    "verb=ListRecords&metadataPrefix=oai%20dc",
    "verb=ListRecords&metadataPrefix=",
    "verb=ListRecords&metadataPrefix=oai_dc&from_=2024-01-01",
    "verb=ListSets&set=x",
    "verb=ListMetadataFormats&metadataPrefix=oai_dc",
    "verb=ListMetadataFormats&identifier=a&identifier=a",
    "verb=ListIdentifiers&metadataPrefix=%3Coai_dc%3E",
    "verb=GetRecord&identifier=oai:repo.example.org:1%00&metadataPrefix=oai_dc",
    "verb=Identify&%01=1",
]


def test_bad_argument(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    corpus.work()
    for query in BAD_ARGUMENT:
        reply = oai.query(query)
        assert reply.errors == ["badArgument"], query
        assert reply.request.attrib == {}
        assert reply.xpath("string(//o:error)")  # a message for the human reader


def test_list_metadata_formats(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work()
    reply = oai(verb="ListMetadataFormats")
    prefixes = reply.xpath("//o:metadataPrefix/text()")
    assert "oai_dc" in prefixes and len(set(prefixes)) == len(prefixes)
    for path in ("//o:schema/text()", "//o:metadataNamespace/text()"):
        values = reply.xpath(path)
        assert len(set(values)) == len(values)
    dc = reply.xpath("//o:metadataFormat[o:metadataPrefix='oai_dc']")[0]
    assert dc.findtext("o:metadataNamespace", namespaces=NS) == "http://www.openarchives.org/OAI/2.0/oai_dc/"
    assert dc.findtext("o:schema", namespaces=NS) == "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
    item = oai(verb="ListMetadataFormats", identifier=identifier(work))
    assert item.errors == [] and "oai_dc" in item.xpath("//o:metadataPrefix/text()")
    assert item.request.get("identifier") == identifier(work)
    corpus.withdraw(work)  # persistent deletes: the item keeps its formats (GetRecord gives its header)
    assert "oai_dc" in oai(verb="ListMetadataFormats", identifier=identifier(work)).xpath("//o:metadataPrefix/text()")
    for unknown in (identifier(work + 1000), "oai:other.org:1", 'invalid"id<x>&', "oai:repo.example.org:99999999999"):
        reply = oai(verb="ListMetadataFormats", identifier=unknown)
        assert reply.errors == ["idDoesNotExist"]
        assert reply.request.get("identifier") == unknown  # echoed (escaped) for this error


def test_no_metadata_formats(oai: OAIClient, corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An item no registered format can disseminate (every format declines it)."""
    from dataclasses import replace

    from repo.oai.formats import REGISTRY

    work = corpus.work()
    for prefix, fmt in list(REGISTRY.items()):
        monkeypatch.setitem(REGISTRY, prefix, replace(fmt, types=frozenset()))
    assert oai(verb="ListMetadataFormats", identifier=identifier(work)).errors == ["noMetadataFormats"]
    reply = oai(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc")
    assert reply.errors == ["cannotDisseminateFormat"]


def test_a_format_for_some_types_lists_only_their_records(oai_get: OAIClient, corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A format that applies to some work types (as JATS to articles): its lists, GetRecord and
    ListMetadataFormats agree on which items it has, deleted records included."""
    from dataclasses import replace

    from repo.oai.formats import REGISTRY

    article, book = corpus.work("Artículo"), corpus.work("Libro", type="book")
    gone_article, gone_book = corpus.work("Retirado"), corpus.work("Libro retirado", type="book")
    corpus.withdraw(gone_article)
    corpus.withdraw(gone_book)
    monkeypatch.setitem(REGISTRY, "books", replace(REGISTRY["oai_dc"], prefix="books", types=frozenset({"book"})))
    for verb in ("ListIdentifiers", "ListRecords"):
        assert sorted(oai_get(verb=verb, metadataPrefix="books").identifiers) == [identifier(book), identifier(gone_book)]
        assert oai_get(verb=verb, metadataPrefix="books", set="type:journal_article").errors == ["noRecordsMatch"]
    assert oai_get(verb="GetRecord", identifier=identifier(article), metadataPrefix="books").errors == [
        "cannotDisseminateFormat"]
    assert oai_get(verb="GetRecord", identifier=identifier(book), metadataPrefix="books").errors == []
    assert "books" not in oai_get(verb="ListMetadataFormats", identifier=identifier(article)).xpath(
        "//o:metadataPrefix/text()")
    assert "books" in oai_get(verb="ListMetadataFormats", identifier=identifier(gone_book)).xpath(
        "//o:metadataPrefix/text()")


def test_list_sets(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    reply = oai(verb="ListSets")
    specs = reply.xpath("//o:set/o:setSpec/text()")
    assert len(specs) == len(set(specs))
    for spec in ("openaire", "driver", "centre", "centre:centre-a", "collection", "collection:biblioteca",
                 "collection:biblioteca:libros", "collection:biblioteca:libros:clasicos", "type",
                 "type:journal_article"):
        assert spec in specs
    assert reply.xpath("string(//o:set[o:setSpec='centre:centre-a']/o:setName)") == "Centro A de Estudios"
    assert reply.xpath("string(//o:set[o:setSpec='collection:tesis']//dc:description)") == "Colección tesis"
    assert reply.token is None
    assert oai(verb="ListSets", resumptionToken="anything").errors == ["badResumptionToken"]


def test_list_records_pages(oai: OAIClient, corpus, settings) -> None:  # type: ignore[no-untyped-def]
    settings.oai_page_size = 3
    ids = [corpus.work(f"Obra {i}") for i in range(7)]
    first = oai(verb="ListRecords", metadataPrefix="oai_dc")
    assert len(first.xpath("//o:record")) == 3
    token = first.token
    assert token is not None and token.text
    assert token.get("cursor") == "0" and token.get("completeListSize") == "7"
    assert token.get("expirationDate")
    pages, found = oai.harvest("ListRecords", metadataPrefix="oai_dc")
    assert found == [identifier(i) for i in ids]
    assert [p.token.get("cursor") for p in pages] == ["0", "3", "6"]
    last = pages[-1].token
    assert last.text is None and last.get("completeListSize") == "7"  # §3.5: empty token ends the list
    # the harvest asked for page 1 again: its own token (signed a moment later) leads to page 2
    assert pages[1].request.attrib == {"verb": "ListRecords", "resumptionToken": pages[0].token.text}


def test_single_page_list_has_no_token(oai: OAIClient, corpus, settings) -> None:  # type: ignore[no-untyped-def]
    settings.oai_page_size = 3
    for i in range(3):  # exactly one page: no phantom token when the total is a multiple of the page size
        corpus.work(f"Obra {i}")
    for verb in ("ListRecords", "ListIdentifiers"):
        reply = oai(verb=verb, metadataPrefix="oai_dc")
        assert len(reply.headers) == 3 and reply.token is None


def test_exact_multiple_of_page_size(oai: OAIClient, corpus, settings) -> None:  # type: ignore[no-untyped-def]
    settings.oai_page_size = 2
    for i in range(4):
        corpus.work(f"Obra {i}")
    pages, found = oai.harvest("ListIdentifiers", metadataPrefix="oai_dc")
    assert len(pages) == 2 and len(found) == 4
    assert pages[-1].token is not None and pages[-1].token.text is None
    assert pages[-1].token.get("cursor") == "2" and pages[-1].token.get("completeListSize") == "4"


def test_list_errors(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    for verb in ("ListRecords", "ListIdentifiers"):
        reply = oai(verb=verb, metadataPrefix="nope")
        assert reply.errors == ["cannotDisseminateFormat"]
        assert reply.request.attrib == {"verb": verb, "metadataPrefix": "nope"}  # echoed for this error
        empty = oai(verb=verb, metadataPrefix="oai_dc")
        assert empty.errors == ["noRecordsMatch"]  # never an empty list element
        assert oai(verb=verb, resumptionToken="garbage").errors == ["badResumptionToken"]


def test_dates_and_windows(oai: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    a = corpus.work("A")
    clock.advance(days=2)
    b = corpus.work("B")
    stamp = oai(verb="GetRecord", identifier=identifier(b), metadataPrefix="oai_dc").xpath("string(//o:datestamp)")
    # from and until equal to a record's datestamp include it (inclusive bounds, §2.7.1)
    same = oai(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": stamp}, until=stamp)
    assert same.identifiers == [identifier(b)]
    # a day-granularity until covers the whole day
    day = stamp[:10]
    assert oai(verb="ListIdentifiers", metadataPrefix="oai_dc", until=day).identifiers == [identifier(a), identifier(b)]
    assert oai(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": day}).identifiers == [identifier(b)]
    earliest = datetime.strptime(oai(verb="Identify").xpath("string(//o:earliestDatestamp)"), "%Y-%m-%dT%H:%M:%SZ")
    year_before = (earliest - timedelta(days=366)).strftime("%Y-%m-%d")
    reply = oai(verb="ListRecords", metadataPrefix="oai_dc", until=year_before)
    assert reply.errors == ["noRecordsMatch"] and reply.request.get("until") == year_before
    future = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert oai(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": future}).errors == ["noRecordsMatch"]


def test_get_record(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work("Educación popular", collections=("clasicos",))
    reply = oai(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc")
    assert reply.errors == []
    assert reply.request.attrib == {"verb": "GetRecord", "identifier": identifier(work), "metadataPrefix": "oai_dc"}
    assert reply.xpath("string(//dc:title)") == "Educación popular"
    assert reply.xpath("//o:setSpec/text()") == ["centre:centre-a", "collection:biblioteca:libros:clasicos",
                                                 "type:journal_article", "openaire", "driver"]
    # the payload is the first child of <metadata> (no comment before it: sickle and scythe read [0])
    assert reply.xpath("local-name(//o:metadata/node()[1])") == "dc"
    assert oai(verb="GetRecord", identifier=identifier(work), metadataPrefix="marc21").errors == ["cannotDisseminateFormat"]
    for unknown in (identifier(work + 50), 'invalid"id', "<script>&amp;", "oai:repo.example.org:007"):
        reply = oai(verb="GetRecord", identifier=unknown, metadataPrefix="oai_dc")
        assert reply.errors == ["idDoesNotExist"] and reply.request.get("identifier") == unknown


def test_drafts_are_not_records(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    draft = corpus.work("Borrador", publish=False)
    assert oai(verb="GetRecord", identifier=identifier(draft), metadataPrefix="oai_dc").errors == ["idDoesNotExist"]
    assert oai(verb="ListIdentifiers", metadataPrefix="oai_dc").errors == ["noRecordsMatch"]


def test_deleted_records_are_persistent(oai: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    kept, gone = corpus.work("Queda"), corpus.work("Se retira")
    before = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    clock.advance(hours=5)
    corpus.withdraw(gone)
    withdrawn_at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    clock.advance(days=400)  # forever: deletions do not expire
    record = oai(verb="GetRecord", identifier=identifier(gone), metadataPrefix="oai_dc")
    assert record.xpath("string(//o:header/@status)") == "deleted"
    assert record.xpath("//o:metadata") == []
    assert record.xpath("string(//o:datestamp)") == withdrawn_at  # the withdrawal is the datestamp
    for verb in ("ListIdentifiers", "ListRecords"):
        reply = oai(verb=verb, metadataPrefix="oai_dc", **{"from": before})
        assert reply.identifiers == [identifier(kept), identifier(gone)]
        assert [h.get("status") for h in reply.headers] == [None, "deleted"]
    incremental = oai(verb="ListRecords", metadataPrefix="oai_dc", **{"from": withdrawn_at})
    assert incremental.identifiers == [identifier(gone)] and incremental.xpath("//o:metadata") == []


def test_sets_select_records(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    in_clasicos = corpus.work("Clásico", collections=("clasicos",))
    in_libros = corpus.work("Libro", collections=("libros",), type="book")
    in_revistas = corpus.work("Artículo", collections=("revistas",), centre="centre-b")
    nowhere = corpus.work("Suelto", centre="centre-b", access_right="restricted")

    def members(spec: str) -> list[str]:
        reply = oai(verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)
        assert reply.errors in ([], ["noRecordsMatch"])
        for header in reply.headers:  # every header lists the set it was selected by (or a descendant)
            specs = header.xpath("o:setSpec/text()", namespaces=NS)
            assert any(s == spec or s.startswith(spec + ":") for s in specs), (spec, specs)
        return reply.identifiers

    assert members("collection:biblioteca") == [identifier(in_clasicos), identifier(in_libros), identifier(in_revistas)]
    assert members("collection:biblioteca:libros") == [identifier(in_clasicos), identifier(in_libros)]
    assert members("collection:biblioteca:libros:clasicos") == [identifier(in_clasicos)]
    assert members("centre:centre-b") == [identifier(in_revistas), identifier(nowhere)]
    assert members("type:book") == [identifier(in_libros)]
    assert members("openaire") == members("driver") == [identifier(in_clasicos), identifier(in_libros),
                                                         identifier(in_revistas)]
    for unknown in ("collection:nope", "centre:nope", "type:poem", "nope", "collection:libros"):
        reply = oai(verb="ListRecords", metadataPrefix="oai_dc", set=unknown)
        assert reply.errors == ["noRecordsMatch"] and reply.request.get("set") == unknown


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("verb", ["ListRecords", "GetRecord", "Identify"])  # streamed; sent whole (the last two)
def test_compression(oai: OAIClient, corpus, client, encoding: str, verb: str, schemas) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work()
    query = {"ListRecords": "verb=ListRecords&metadataPrefix=oai_dc", "Identify": "verb=Identify",
             "GetRecord": f"verb=GetRecord&metadataPrefix=oai_dc&identifier={identifier(work)}"}[verb]
    headers = {"Accept-Encoding": f"{encoding}, identity;q=0.5"}
    if oai.method == "GET":
        request = client.build_request("GET", f"/oai?{query}", headers=headers)
    else:
        request = client.build_request("POST", "/oai", content=query.encode(),
                                       headers={**headers, "Content-Type": "application/x-www-form-urlencoded"})
    response = client.send(request, stream=True)
    wire = b"".join(response.iter_raw())  # the bytes as sent, not decoded by the client
    response.close()
    assert response.status_code == 200 and response.headers["content-encoding"] == encoding
    assert response.headers["content-type"] == "text/xml; charset=UTF-8"
    assert response.headers["content-length"] == str(len(wire))
    body = gzip.decompress(wire) if encoding == "gzip" else zlib.decompress(wire)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>') and len(wire) < len(body)
    assert f"<{verb}".encode() in body and b"<error" not in body
    result = schemas.validate_bytes(body)
    assert result.ok, result.errors
    plain = oai.query(query, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.http.headers
    assert plain.http.content.split(b"<responseDate>")[1][20:] == body.split(b"<responseDate>")[1][20:]  # the same answer


def test_hostile_requests_are_well_formed_errors(oai: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    # 100 KB arguments (GET through the test client is capped at 64 KB URLs: the 100 KB GET runs
    # against the live server in test_oai_harvesters.py)
    huge = "x" * (100_000 if oai.method == "POST" else 60_000)
    assert oai.query(f"verb=Identify&junk={huge}").errors == ["badArgument"]
    reply = oai.query(f"verb=GetRecord&metadataPrefix=oai_dc&identifier={huge}")
    assert reply.errors == ["idDoesNotExist"] and reply.request.get("identifier") == huge
    assert oai.query(f"verb=ListRecords&resumptionToken={huge}").errors == ["badResumptionToken"]
    assert oai.query("verb=GetRecord&metadataPrefix=oai_dc&identifier=%22%3E%3C%2Frequest%3E%3Cx%3E").errors == [
        "idDoesNotExist"]
    assert oai.query("verb=Identify&%ff%fe=1").errors == ["badArgument"]
    assert oai.query("verb=GetRecord&metadataPrefix=oai_dc&identifier=%ED%A0%80").errors == ["idDoesNotExist"]
    assert oai.query("&&&=&verb=Identify").errors == ["badArgument"]
