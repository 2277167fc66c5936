"""oai_dc crosswalk: the DRIVER / OpenAIRE-3 profile, file links by access, hostile stored text."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from oai_harness import OAIClient, identifier
from repo.files.models import File
from repo.works.models import Work


def _record(oai: OAIClient, work: int):  # type: ignore[no-untyped-def]
    reply = oai(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc")
    assert reply.errors == []
    return reply


def test_driver_profile(oai_get: OAIClient, corpus) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work(
        "Derechos indígenas y consulta previa", collections=("revistas",),
        titles=[{"value": "Derechos indígenas y consulta previa", "lang": "spa"},
                {"value": "Indigenous rights and prior consultation", "lang": "eng", "type": "translated"}],
        abstracts=[{"value": "Resumen en español.", "lang": "spa"}, {"value": "Résumé.", "lang": "fra"}],
        journal={"title": "Crítica Jurídica", "issn": "0188-7653", "volume": "18", "issue": "2",
                 "pages": {"start": "45", "end": "71"}},
        doi="10.1234/cj.2022.045", version="VoR", publication_date="2022-07",
        funding=[{"funder": "ANPCyT", "award_number": "PICT-2019-01234"}],
        subjects=[{"value": "consulta previa", "lang": "spa"}], countries=["PE", "BO"],
    )
    dc = _record(oai_get, work)
    assert dc.xpath("//dc:title/text()") == ["Derechos indígenas y consulta previa", "Indigenous rights and prior consultation"]
    assert dc.xpath("//dc:title/@xml:lang") == ["es", "en"]
    assert dc.xpath("//dc:description/@xml:lang") == ["es", "fr"]
    assert dc.xpath("//dc:type/text()") == ["info:eu-repo/semantics/article", "info:eu-repo/semantics/publishedVersion"]
    assert dc.xpath("//dc:rights/text()") == ["info:eu-repo/semantics/openAccess",
                                               "https://creativecommons.org/licenses/by/4.0/"]
    identifiers = dc.xpath("//dc:identifier/text()")
    assert identifiers[0] == f"http://testserver/works/{work}"  # the landing page first
    assert "https://doi.org/10.1234/cj.2022.045" in identifiers
    relations = dc.xpath("//dc:relation/text()")
    assert "info:eu-repo/semantics/altIdentifier/doi/10.1234/cj.2022.045" in relations
    assert "info:eu-repo/semantics/altIdentifier/issn/0188-7653" in relations
    assert "info:eu-repo/grantAgreement/ANPCyT//PICT-2019-01234" in relations
    assert dc.xpath("//dc:language/text()") == ["spa"]  # ISO 639-3
    assert dc.xpath("string(//dc:source)") == "Crítica Jurídica; Vol. 18, No. 2 (2022): 45-71; ISSN 0188-7653"
    assert dc.xpath("//dc:date/text()") == ["2022-07"]
    assert dc.xpath("//dc:creator/text()") == ["Freire, Paulo"]
    assert dc.xpath("//dc:coverage/text()") == ["Peru", "Bolivia, Plurinational State of"]


def test_access_terms(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    end = (clock.now() + timedelta(days=30)).date()
    expected = {
        corpus.work("Restringida", access_right="restricted"): "restrictedAccess",
        corpus.work("Solo metadatos", access_right="metadata_only"): "closedAccess",
        corpus.work("Embargada", access_right="embargoed", embargo_end=end.isoformat()): "embargoedAccess",
    }
    for work, term in expected.items():
        dc = _record(oai_get, work)
        assert dc.xpath("//dc:rights/text()")[0] == f"info:eu-repo/semantics/{term}"
        assert "openaire" not in dc.xpath("//o:setSpec/text()")


def _file(session, work_id: int, name: str, now, access=None, embargo_end=None, media_type="application/pdf") -> None:  # type: ignore[no-untyped-def]
    session.add(File(work_id=work_id, name=name, media_type=media_type, size=10, sha256="0" * 64, md5="0" * 32,
                     access_right=access, embargo_end=embargo_end, text_state="skipped", has_thumbnail=False,
                     created_at=now, updated_at=now))
    # A change of a work's files is a new version of the work (works.touch, as the files service
    # does): records stored before it (the worker renders after every commit) are stale.
    session.get(Work, work_id).version += 1


def test_file_links_only_when_open_now(oai_get: OAIClient, corpus, database, clock) -> None:  # type: ignore[no-untyped-def]
    open_work = corpus.work("Abierta")
    closed_work = corpus.work("Cerrada", access_right="restricted")
    now = clock.now()
    with database.session() as session:
        _file(session, open_work, "texto completo.pdf", now)
        _file(session, open_work, "anexo-restringido.pdf", now, access="restricted")
        _file(session, open_work, "capitulo-embargado.pdf", now, access="embargoed",
              embargo_end=(now + timedelta(days=5)).date())
        _file(session, open_work, "datos.csv", now, access="embargoed", embargo_end=(now - timedelta(days=1)).date(),
              media_type="text/csv")
        _file(session, closed_work, "privado.pdf", now)
        _file(session, closed_work, "resumen-abierto.pdf", now, access="open")
    links = [i for i in _record(oai_get, open_work).xpath("//dc:identifier/text()") if "/files/" in i]
    assert links == [f"http://testserver/works/{open_work}/files/texto%20completo.pdf",
                     f"http://testserver/works/{open_work}/files/datos.csv"]
    assert _record(oai_get, open_work).xpath("//dc:format/text()") == ["application/pdf", "text/csv"]
    closed = [i for i in _record(oai_get, closed_work).xpath("//dc:identifier/text()") if "/files/" in i]
    assert closed == [f"http://testserver/works/{closed_work}/files/resumen-abierto.pdf"]
    clock.advance(days=6)  # the file's own embargo ended
    later = [i for i in _record(oai_get, open_work).xpath("//dc:identifier/text()") if "/files/" in i]
    assert f"http://testserver/works/{open_work}/files/capitulo-embargado.pdf" in later


def test_xml_illegal_characters_in_stored_metadata(oai_get: OAIClient, corpus, database) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work("Limpia")
    nasty = "Tí\x01tu\x0blo\x1f con \ufffe control\x08es"
    if database.engine.dialect.name == "sqlite":
        nasty += "\x00"  # PostgreSQL's jsonb refuses NUL itself; SQLite stores it
    with database.session() as session:
        doc = dict(session.get(Work, work).doc)
        doc["titles"] = [{"value": nasty, "lang": "s p a"}, {"value": 42}, "not an object"]
        doc["creators"] = [{"family": "Pé\x02rez"}, None]
        doc["subjects"] = "not a list"
        doc["journal"] = {"title": "Revista\x0c", "pages": "1-2"}
        session.execute(sa.update(Work).where(Work.id == work).values(doc=doc, version=Work.version + 1))  # an edit: a new version (else stored bytes stay fresh)
    for reply in (_record(oai_get, work), oai_get(verb="ListRecords", metadataPrefix="oai_dc")):
        assert reply.xpath("//dc:title/text()") == ["Título con  controles"]
        assert reply.xpath("//dc:title/@xml:lang") == []  # not a language tag: left out
        assert reply.xpath("//dc:creator/text()") == ["Pérez"]
        assert reply.xpath("string(//dc:source)") == "Revista (2021)"
