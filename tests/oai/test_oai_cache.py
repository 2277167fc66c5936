"""The dissemination cache (``oai_records``): used when fresh, never stale.

Each test first harvests so that the records are cached, then changes the work through the real
services and checks that the next ListRecords shows the change. ``test_fresh_entries_are_served``
proves that entries are really read (a tampered entry is what the harvester gets while it is
fresh), so the other tests would fail if a changed work kept its entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from lxml import etree
from oai_harness import OAIClient, identifier

from repo.files.models import File
from repo.files.schemas import FileAccessIn
from repo.files.service import set_access
from repo.oai import cache
from repo.oai.models import CachedRecord

OAI = "{http://www.openarchives.org/OAI/2.0/}"


def _records(oai: OAIClient) -> dict[str, etree._Element]:
    """Every record of a full ListRecords oai_dc harvest, by identifier."""
    pages, _ = oai.harvest("ListRecords", metadataPrefix="oai_dc")
    return {str(r.findtext(f"{OAI}header/{OAI}identifier")): r
            for page in pages for r in page.xpath("//o:record")}


def _entries(database) -> dict[int, bytes]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return dict(session.execute(sa.select(CachedRecord.work_id, CachedRecord.xml)).all())  # type: ignore[arg-type]


def test_fresh_entries_are_served_and_splice_byte_for_byte(oai_get: OAIClient, corpus, database) -> None:  # type: ignore[no-untyped-def]
    corpus.synthetic(260)  # more than a chunk (250) and several pages (100)
    withdrawn = corpus.work("Retirada")
    corpus.withdraw(withdrawn)
    cold = _records(oai_get)
    entries = _entries(database)
    assert cold[identifier(withdrawn)].find(f"{OAI}header").get("status") == "deleted"
    assert len(cold) > 250
    assert {identifier(work) for work in entries} == set(cold)  # deleted headers too
    # Half the entries gone: a page mixes entries and fresh renders; the output is the same bytes.
    with database.session() as session:
        session.execute(sa.delete(CachedRecord).where(CachedRecord.work_id % 2 == 0))
    mixed = _records(oai_get)
    warm = _records(oai_get)
    assert {identifier(work) for work in _entries(database)} == set(cold)
    for key, element in cold.items():
        assert etree.tostring(mixed[key]) == etree.tostring(element) == etree.tostring(warm[key])

    # A fresh entry is served as stored (here: tampered with, to see that it is read).
    work = min(entries)
    tampered = entries[work].replace(b"</dc:title>", b" (de la cach\xc3\xa9)</dc:title>", 1)
    assert tampered != entries[work]
    with database.session() as session:
        session.execute(sa.update(CachedRecord).where(CachedRecord.work_id == work).values(xml=tampered))
    title = _records(oai_get)[identifier(work)].xpath("string(.//dc:title)", namespaces={
        "dc": "http://purl.org/dc/elements/1.1/"})
    assert title.endswith("(de la caché)")


def test_edit_without_clock_moving_is_not_served_stale(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work("Título primero")
    assert "Título primero" in _records(oai_get)[identifier(work)].xpath("string(.//*[local-name()='title'])")
    corpus.edit(work, metadata={"titles": [{"value": "Título corregido", "lang": "spa"}]})  # same datestamp
    record = _records(oai_get)[identifier(work)]
    assert record.xpath("string(.//*[local-name()='title'])") == "Título corregido"
    clock.advance(hours=1)
    corpus.edit(work, access_right="restricted")
    rights = _records(oai_get)[identifier(work)].xpath(".//*[local-name()='rights']/text()")
    assert rights[0] == "info:eu-repo/semantics/restrictedAccess"


def test_withdrawal_turns_a_cached_record_into_a_deleted_header(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work("Por retirar")
    assert _records(oai_get)[identifier(work)].find(f"{OAI}metadata") is not None
    clock.advance(minutes=5)
    corpus.withdraw(work)
    record = _records(oai_get)[identifier(work)]
    assert record.find(f"{OAI}header").get("status") == "deleted"
    assert record.find(f"{OAI}metadata") is None


def test_embargo_end_is_not_hidden_by_the_cache(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    end = (clock.now() + timedelta(days=3)).date()
    work = corpus.work("Embargada", access_right="embargoed", embargo_end=end.isoformat())
    before = _records(oai_get)[identifier(work)]
    assert before.xpath(".//*[local-name()='rights']/text()")[0] == "info:eu-repo/semantics/embargoedAccess"
    clock.set(datetime.combine(end, time(9), tzinfo=UTC))
    after = _records(oai_get)[identifier(work)]
    assert after.xpath(".//*[local-name()='rights']/text()")[0] == "info:eu-repo/semantics/openAccess"
    assert {"openaire", "driver"} <= set(after.xpath(".//*[local-name()='setSpec']/text()"))


def test_file_access_changes_are_not_hidden_by_the_cache(oai_get: OAIClient, corpus, database, clock) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work("Con archivo")
    now = clock.now()
    with database.session() as session:
        session.add(File(work_id=work, name="texto.pdf", media_type="application/pdf", size=10, sha256="0" * 64,
                         md5="0" * 32, access_right="restricted", text_state="skipped", has_thumbnail=False,
                         created_at=now, updated_at=now))
    link = f"{corpus.settings.base_url}/works/{work}/files/texto.pdf"

    def identifiers() -> list[str]:
        return [str(x) for x in _records(oai_get)[identifier(work)].xpath(".//*[local-name()='identifier']/text()")]

    assert link not in identifiers()
    corpus.run(lambda ctx: set_access(ctx, work, "texto.pdf", FileAccessIn(access_right="open"), None))
    assert link in identifiers()
    clock.advance(hours=1)
    end = (clock.now() + timedelta(days=2)).date()
    corpus.run(lambda ctx: set_access(ctx, work, "texto.pdf",
                                      FileAccessIn(access_right="embargoed", embargo_end=end), None))
    assert link not in identifiers()
    clock.set(datetime.combine(end, time(1), tzinfo=UTC))  # the file's own embargo ends
    assert link in identifiers()


def test_variant_follows_settings_and_format(settings) -> None:  # type: ignore[no-untyped-def]
    moved = settings.model_copy(update={"base_url": "https://elsewhere.example.org"})
    renamed = settings.model_copy(update={"oai_repository_identifier": "other.example.org"})
    variants = {cache.variant(settings, "oai_dc"), cache.variant(moved, "oai_dc"),
                cache.variant(renamed, "oai_dc"), cache.variant(settings, "marcxml")}
    assert len(variants) == 4
    assert cache.variant(settings, "oai_dc") == cache.variant(settings.model_copy(), "oai_dc")


def test_a_failed_write_back_does_not_break_the_harvest(database, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    # A work purged between rendering and storing: the foreign key rejects the entry; the
    # response must go on (the entry is simply not stored).
    cache.write_back(database, "oai_dc", "variant", [(2**31 - 1, clock.now(), 1, b"<record/>")])
    assert _entries(database) == {}
