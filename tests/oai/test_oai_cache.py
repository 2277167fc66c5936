"""Stored records (``oai_records``): served when fresh, never when stale, made by the renderer.

Each change test renders everything, changes a work through the real services and then looks at
the next harvest twice: before the renderer has caught up (the request renders the record
itself) and after (the stored bytes): both must show the change, byte for byte the same.
``test_fresh_entries_are_served`` proves that entries are really read (a tampered entry is what
the harvester gets while it is fresh), so the other tests would fail if a changed work kept its
entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

import pytest
import sqlalchemy as sa
from lxml import etree
from oai_harness import OAIClient, identifier

from repo.files.models import File
from repo.files.schemas import FileAccessIn
from repo.files.service import set_access
from repo.oai import cache, render
from repo.oai.models import CachedRecord

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = {"dc": "http://purl.org/dc/elements/1.1/"}


@pytest.fixture(autouse=True)
def _rendering_by_hand(client) -> None:  # type: ignore[no-untyped-def]
    """These tests render when they choose (``_drain``): the worker's renderer must not run meanwhile
    (woken by any job that did something, it would store entries behind the tests' backs)."""
    client.app.state.worker.pause("oai.render")


def _records(oai: OAIClient) -> dict[str, etree._Element]:
    """Every record of a full ListRecords oai_dc harvest, by identifier."""
    pages, _ = oai.harvest("ListRecords", metadataPrefix="oai_dc")
    return {str(r.findtext(f"{OAI}header/{OAI}identifier")): r
            for page in pages for r in page.xpath("//o:record")}


def _entries(database) -> dict[int, bytes]:  # type: ignore[no-untyped-def]
    """The stored oai_dc entries (the renderer stores every format), by work id."""
    with database.session() as session:
        return dict(session.execute(sa.select(CachedRecord.work_id, CachedRecord.xml)  # type: ignore[arg-type]
                                    .where(CachedRecord.prefix == "oai_dc")).all())


def _drain(corpus) -> None:  # type: ignore[no-untyped-def]
    while render.render_pending(corpus.database, corpus.settings, corpus.clock):
        pass


def _harvest_twice(oai: OAIClient, corpus) -> dict[str, etree._Element]:  # type: ignore[no-untyped-def]
    """The records of a harvest before the renderer ran and after: the same, byte for byte."""
    before = _records(oai)
    _drain(corpus)
    after = _records(oai)
    assert {key: etree.tostring(e) for key, e in before.items()} == {key: etree.tostring(e) for key, e in after.items()}
    return after


def test_fresh_entries_are_served_and_splice_byte_for_byte(oai_get: OAIClient, corpus, database) -> None:  # type: ignore[no-untyped-def]
    corpus.synthetic(260)  # more than a chunk (250) and several pages (100); bulk inserts queue nothing
    withdrawn = corpus.work("Retirada")
    corpus.withdraw(withdrawn)
    cold = _records(oai_get)  # nothing stored yet: every record rendered by the request, none stored
    assert _entries(database) == {}
    assert render.render_all(database, corpus.settings, corpus.clock) == len(cold)
    entries = _entries(database)
    assert cold[identifier(withdrawn)].find(f"{OAI}header").get("status") == "deleted"
    assert len(cold) > 250
    assert {identifier(work) for work in entries} == set(cold)  # deleted headers too
    assert render.render_all(database, corpus.settings, corpus.clock) == 0  # all fresh: nothing to redo
    # Half the entries gone: a page mixes entries and fresh renders; the output is the same bytes,
    # and the harvest stores nothing back.
    with database.session() as session:
        session.execute(sa.delete(CachedRecord).where(CachedRecord.work_id % 2 == 0))
    mixed = _records(oai_get)
    assert len(_entries(database)) < len(entries)
    warm = _records(oai_get)
    for key, element in cold.items():
        assert etree.tostring(mixed[key]) == etree.tostring(element) == etree.tostring(warm[key])

    # A fresh entry is served as stored (here: tampered with, to see that it is read).
    work = min(_entries(database))
    tampered = entries[work].replace(b"</dc:title>", b" (de la cach\xc3\xa9)</dc:title>", 1)
    assert tampered != entries[work]
    with database.session() as session:
        session.execute(sa.update(CachedRecord).where(CachedRecord.work_id == work, CachedRecord.prefix == "oai_dc").values(xml=tampered))
    title = _records(oai_get)[identifier(work)].xpath("string(.//dc:title)", namespaces={
        "dc": "http://purl.org/dc/elements/1.1/"})
    assert title.endswith("(de la caché)")


def test_edit_without_clock_moving_is_not_served_stale(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work("Título primero")
    assert "Título primero" in _harvest_twice(oai_get, corpus)[identifier(work)].xpath(
        "string(.//*[local-name()='title'])")
    corpus.edit(work, metadata={"titles": [{"value": "Título corregido", "lang": "spa"}]})  # same datestamp
    record = _harvest_twice(oai_get, corpus)[identifier(work)]
    assert record.xpath("string(.//*[local-name()='title'])") == "Título corregido"
    clock.advance(hours=1)
    corpus.edit(work, access_right="restricted")
    rights = _harvest_twice(oai_get, corpus)[identifier(work)].xpath(".//*[local-name()='rights']/text()")
    assert rights[0] == "info:eu-repo/semantics/restrictedAccess"


def test_withdrawal_turns_a_stored_record_into_a_deleted_header(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work("Por retirar")
    assert _harvest_twice(oai_get, corpus)[identifier(work)].find(f"{OAI}metadata") is not None
    clock.advance(minutes=5)
    corpus.withdraw(work)
    record = _harvest_twice(oai_get, corpus)[identifier(work)]
    assert record.find(f"{OAI}header").get("status") == "deleted"
    assert record.find(f"{OAI}metadata") is None


def test_embargo_end_is_not_hidden_by_stored_bytes(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    end = (clock.now() + timedelta(days=3)).date()
    work = corpus.work("Embargada", access_right="embargoed", embargo_end=end.isoformat())
    before = _harvest_twice(oai_get, corpus)[identifier(work)]
    assert before.xpath(".//*[local-name()='rights']/text()")[0] == "info:eu-repo/semantics/embargoedAccess"
    clock.set(datetime.combine(end, time(9), tzinfo=UTC))
    after = _harvest_twice(oai_get, corpus)[identifier(work)]
    assert after.xpath(".//*[local-name()='rights']/text()")[0] == "info:eu-repo/semantics/openAccess"
    assert {"openaire", "driver"} <= set(after.xpath(".//*[local-name()='setSpec']/text()"))


def test_stored_bytes_expire_when_an_embargo_ends_even_before_it_is_lifted(oai_get: OAIClient, corpus, clock,
                                                                           database) -> None:  # type: ignore[no-untyped-def]
    """``valid_until``: bytes made while an embargo ran are not served once it has ended, whatever
    the lifting did (here the lift is held back: its flag is cleared by hand, as if lifted late)."""
    end = (clock.now() + timedelta(days=3)).date()
    work = corpus.work("Embargada", access_right="embargoed", embargo_end=end.isoformat())
    _drain(corpus)
    with database.session() as session:
        entry = session.scalars(sa.select(CachedRecord).where(CachedRecord.work_id == work, CachedRecord.prefix == "oai_dc")).one()
        assert entry.valid_until == datetime.combine(end, time(0), tzinfo=UTC)
        session.execute(sa.text("UPDATE works SET embargo_pending = false WHERE id = :id"), {"id": work})
    clock.set(datetime.combine(end, time(0), tzinfo=UTC) - timedelta(seconds=1))
    assert _records(oai_get)[identifier(work)].xpath(".//*[local-name()='rights']/text()")[0].endswith("embargoedAccess")
    clock.advance(seconds=1)
    assert _records(oai_get)[identifier(work)].xpath(".//*[local-name()='rights']/text()")[0].endswith("openAccess")


def test_file_access_changes_are_not_hidden_by_stored_bytes(oai_get: OAIClient, corpus, database, clock) -> None:  # type: ignore[no-untyped-def]
    work = corpus.work("Con archivo")
    now = clock.now()
    with database.session() as session:
        session.add(File(work_id=work, name="texto.pdf", media_type="application/pdf", size=10, sha256="0" * 64,
                         md5="0" * 32, access_right="restricted", text_state="skipped", has_thumbnail=False,
                         created_at=now, updated_at=now))
    link = f"{corpus.settings.base_url}/works/{work}/files/texto.pdf"

    def identifiers() -> list[str]:
        return [str(x) for x in _harvest_twice(oai_get, corpus)[identifier(work)].xpath(
            ".//*[local-name()='identifier']/text()")]

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


def test_a_new_base_url_or_code_makes_every_entry_stale(oai_get: OAIClient, corpus, database, settings,
                                                        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A settings change or a deploy (another variant): nothing stored is served, everything is
    rendered again (``repo oai render --all``)."""
    work = corpus.work("Obra")
    _drain(corpus)
    assert _records(oai_get)[identifier(work)].xpath(".//dc:identifier/text()", namespaces=DC)[0] == (
        f"{settings.base_url}/works/{work}")
    settings.base_url = "https://elsewhere.example.org"
    moved = _harvest_twice(oai_get, corpus)  # (the queue is empty: the drain renders nothing)
    assert moved[identifier(work)].xpath(".//dc:identifier/text()", namespaces=DC)[0] == (
        f"https://elsewhere.example.org/works/{work}")
    assert render.render_all(database, settings, corpus.clock) == 1
    assert render.render_all(database, settings, corpus.clock) == 0
    monkeypatch.setattr(cache, "_code_digest", lambda prefix: b"the next release")  # a crosswalk changed
    monkeypatch.setattr(cache, "_variant", lru_cache(cache._variant.__wrapped__))  # (the real one is restored)
    assert render.render_all(database, settings, corpus.clock) == 1


def test_variant_follows_settings_and_format(settings) -> None:  # type: ignore[no-untyped-def]
    moved = settings.model_copy(update={"base_url": "https://elsewhere.example.org"})
    renamed = settings.model_copy(update={"oai_repository_identifier": "other.example.org"})
    variants = {cache.variant(settings, "oai_dc"), cache.variant(moved, "oai_dc"),
                cache.variant(renamed, "oai_dc"), cache.variant(settings, "marcxml")}
    assert len(variants) == 4
    assert cache.variant(settings, "oai_dc") == cache.variant(settings.model_copy(), "oai_dc")


def test_a_format_changing_leaves_the_others_fresh(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A new or changed format makes its own records stale, not the other formats' (a deploy that
    adds a format re-renders that format only); a change of what they share makes both stale: the
    modules every format uses, and a module of ``repo.oai.formats`` that both import."""
    from dataclasses import replace

    from repo.oai.formats import REGISTRY

    def crosswalk(work, context):  # type: ignore[no-untyped-def]
        raise AssertionError("not rendered here")

    crosswalk.__module__ = "repo.oai.formats.fake"
    monkeypatch.setitem(REGISTRY, "fake", replace(REGISTRY["oai_dc"], prefix="fake", crosswalk=crosswalk))
    sources = dict(cache._sources())
    fake = b"from repo.oai.formats.base import MetadataFormat\nfrom . import helper\n"

    def variants(**changed: bytes) -> tuple[str, str]:
        monkeypatch.setattr(cache, "_sources", lambda: {**sources, "repo.oai.formats.helper": b"", **changed})
        monkeypatch.setattr(cache, "_code_digest", lru_cache(cache._code_digest.__wrapped__))
        monkeypatch.setattr(cache, "_variant", lru_cache(cache._variant.__wrapped__))
        return cache.variant(settings, "oai_dc"), cache.variant(settings, "fake")

    def changed(**sources: bytes) -> tuple[bool, bool]:
        (dc, fake_variant) = variants(**{"repo.oai.formats.fake": fake})
        (dc2, fake2) = variants(**{"repo.oai.formats.fake": fake, **sources})
        return dc2 != dc, fake2 != fake_variant

    assert changed(**{"repo.oai.formats.fake": fake + b"# v2"}) == (False, True)
    assert changed(**{"repo.oai.formats.helper": b"# v2"}) == (False, True)  # imported by fake only
    assert changed(**{"repo.oai.formats": sources["repo.oai.formats"] + b"# fake"}) == (False, False)  # the registry
    assert changed(**{"repo.oai.formats.base": b"# v2"}) == (True, True)  # imported by both
    assert changed(**{"repo.oai.records": b"# v2"}) == (True, True)  # shared by every format


def test_bytes_of_an_older_state_never_replace_newer_ones(database, corpus) -> None:  # type: ignore[no-untyped-def]
    """Two renderers that raced over a work: whichever stores last, the newer state's bytes stay."""
    work = corpus.work("Obra")
    at = corpus.clock.now()
    newer = {"work_id": work, "prefix": "oai_dc", "datestamp": at, "version": 3, "variant": "v",
             "valid_until": None, "xml": b"<record>newer</record>"}
    older = {**newer, "version": 2, "xml": b"<record>older</record>"}
    earlier = {**newer, "datestamp": at - timedelta(seconds=1), "xml": b"<record>earlier</record>"}
    for entries in ([newer], [older], [earlier]):
        with database.session() as session:
            cache.store(session, entries)
    assert _entries(database) == {work: b"<record>newer</record>"}
    with database.session() as session:
        cache.store(session, [{**older, "variant": "w"}])  # another variant (a deploy): replaced
    assert _entries(database) == {work: b"<record>older</record>"}


def _physical_order(database) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """``(prefix, work_id)`` of every stored entry in the order the table holds them: SQLite's rowid
    (the table's b-tree), PostgreSQL's ctid (the heap's block and line)."""
    position = "rowid" if database.engine.dialect.name == "sqlite" else "ctid"
    with database.engine.connect() as connection:
        return [(row[0], row[1]) for row in connection.exec_driver_sql(
            f"SELECT prefix, work_id FROM oai_records ORDER BY {position}")]


def _harvest_order(database) -> list[int]:  # type: ignore[no-untyped-def]
    from repo.works import visibility
    from repo.works.models import Work

    with database.session() as session:
        return list(session.scalars(sa.select(Work.id).where(visibility.public_or_tombstone())
                                    .order_by(Work.datestamp, Work.id)))


def _jumps(database, order: list[int]) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """The steps of an oai_dc harvest (works in ``order``) that are not in sequence in the table:
    the next entry is not a few rows ahead of the one before."""
    rank = {entry: index for index, entry in enumerate(_physical_order(database))}
    read = [rank["oai_dc", work] for work in order]  # where a harvest's successive reads fall
    return [(a, b) for a, b in zip(read, read[1:], strict=False) if not 0 < b - a <= 3]


def test_entries_are_stored_format_by_format_in_the_order_harvests_read_them(corpus, database) -> None:  # type: ignore[no-untyped-def]
    """A harvest reads one format in datestamp order: stored in that order, one format's entries
    lie together, so a harvest from a cold page cache reads in sequence (migration 1702)."""
    corpus.synthetic(120)
    order = _harvest_order(database)
    assert order != sorted(order)  # datestamps are not in id order: the check below could fail
    assert render.render_all(database, corpus.settings, corpus.clock, batch=50) == len(order)
    # Only the steps from one batch of 50 to the next are out of sequence, and on PostgreSQL the
    # few entries that filled room left in an earlier page of the batch.
    jumps = _jumps(database, order)
    assert len(jumps) <= len(order) // 10, jumps
    if database.engine.dialect.name == "sqlite":
        assert len(jumps) == 2  # three batches, each in one run


def test_the_layout_migration_orders_stored_entries_and_keeps_every_one(corpus, database, database_url) -> None:  # type: ignore[no-untyped-def]
    """Entries stored work by work (before 1702) are rewritten format by format in datestamp
    order, each one kept byte for byte."""
    from alembic import command

    from repo.db import alembic_config, upgrade

    corpus.synthetic(40)
    render.render_all(database, corpus.settings, corpus.clock)
    every = sa.select(CachedRecord.__table__).order_by(CachedRecord.work_id, CachedRecord.prefix)
    with database.engine.begin() as connection:  # as before 1702: work by work, every format
        rows = connection.execute(every).all()
        connection.execute(sa.delete(CachedRecord))
        connection.execute(sa.insert(CachedRecord), [dict(row._mapping) for row in rows])
    order = _harvest_order(database)
    assert len(_jumps(database, order)) > len(order) // 2  # a harvest would read out of sequence
    database.engine.dispose()
    command.downgrade(alembic_config(database_url), "1701")
    upgrade(database_url)
    stored = _physical_order(database)
    rank = {work: index for index, work in enumerate(order)}
    assert stored == sorted(stored, key=lambda entry: (entry[0], rank[entry[1]]))
    with database.engine.connect() as connection:
        assert connection.execute(every).all() == rows
