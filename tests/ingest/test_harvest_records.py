"""What happens to each record: bad input contained record by record, values that do not fit kept,
duplicates linked not duplicated, deletions and updates — through real harvests of our provider,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from ingest_support import Harvester
from oai_source import Item, dc_item
from helpers import sample, snapshot

from repo.context import Context
from repo.ingest.models import IngestRecord
from repo.works import service as works
from repo.works.models import Revision, Work
from repo.works.schemas import WorkIn

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
DC_HEAD = (b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
           b'xmlns:dc="http://purl.org/dc/elements/1.1/">')


def at(n: int) -> datetime:
    return START + timedelta(minutes=n)


def raw(n: int, body: bytes) -> Item:
    return Item(f"oai:source.example.org:{n}", at(n), raw=DC_HEAD + body + b"</oai_dc:dc>")


GOOD = (b"<dc:creator>Silva, Ana</dc:creator><dc:date>2019</dc:date><dc:language>por</dc:language>"
        b"<dc:rights>info:eu-repo/semantics/openAccess</dc:rights>")


@pytest.mark.usefixtures("where")
def test_bad_records_fail_alone_with_their_reason(harvester: Harvester, oai_source) -> None:
    huge = b"<dc:title>Huge</dc:title>" + b"<dc:description>" + b"x" * 300_000 + b"</dc:description>" + GOOD
    xxe = (b"<dc:title>XXE &xxe; &c;</dc:title>" + GOOD)
    items = [
        dc_item(1, at(1)),
        raw(2, b"<dc:title>No creator</dc:title><dc:date>2019</dc:date><dc:language>por</dc:language>"),
        Item("oai:source.example.org:3", at(3), fields=dc_item(3, at(3)).fields, header_datestamp="2024-13-45"),
        raw(4, huge),
        raw(5, b"<dc:title>Sem data</dc:title><dc:date>2019-02-30</dc:date><dc:creator>Silva, Ana</dc:creator>"
               b"<dc:language>por</dc:language>"),
        Item("oai:source.example.org:6", at(6), raw=b"<nope xmlns='urn:x'>not oai_dc</nope>"),
        raw(7, b"<dc:title>Un <i>t\xc3\xadtulo</i> &lt;script&gt;alert(1)&lt;/script&gt; con HTML</dc:title>"
               b"<dc:type>Grabado en cera</dc:type>" + GOOD),
        dc_item(8, at(8)),
    ]
    # an external entity and a "billion laughs": declared, never resolved
    doctype = (b'<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa">'
               b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    source = oai_source(items, page_size=10, doctype=doctype)
    source.items.append(Item("oai:source.example.org:9", at(9), raw=b"<oai_dc:dc xmlns:oai_dc='"
                             b"http://www.openarchives.org/OAI/2.0/oai_dc/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
                             + xxe + b"</oai_dc:dc>"))
    run = harvester.run(harvester.add(source.url), harvest_max_record_bytes=100_000)
    assert run.status == "succeeded" and run.seen == 9
    failed = {identifier.rsplit(":", 1)[1]: reason for identifier, kind, reason in harvester.problems(run.id)
              if kind == "failed"}
    assert set(failed) == {"2", "3", "4", "5", "6", "9"}, failed
    assert "a creator is required" in failed["2"]
    assert "invalid datestamp" in failed["3"]
    assert "larger than 100,000 bytes" in failed["4"]
    assert "publication date" in failed["5"]  # 2019-02-30 does not exist: no date left
    assert "no mapping for metadata" in failed["6"]
    assert "entity" in failed["9"]  # never resolved
    made = harvester.works()
    assert set(made) == {"oai:source.example.org:1", "oai:source.example.org:7", "oai:source.example.org:8"}
    html = made["oai:source.example.org:7"]
    assert html.doc["titles"][0]["value"] == "Un título con HTML"  # markup and script removed
    assert html.type == "other"  # an unknown type: 'other', and the value kept
    kept = {(u["field"], u["value"]) for u in html.origin["unmapped"]}
    assert ("dc:type", "Grabado en cera") in kept
    assert any(f == "dc:title" and "<script>" in v for f, v in kept)  # the original title, kept


@pytest.mark.usefixtures("where")
def test_values_that_do_not_fit_are_kept_not_dropped(harvester: Harvester, oai_source) -> None:
    body = (b"<dc:title xml:lang='es'>Con valores raros</dc:title>" + GOOD
            + b"<dc:identifier>urn:isbn:978-3-16-148410-9</dc:identifier>"  # bad check digit
            + b"<dc:identifier>ISBN 978-3-16-148410-0</dc:identifier>"
            + b"<dc:format>application/pdf</dc:format><dc:coverage>Atlantis</dc:coverage>"
            + b"<dc:language>klingon-ish</dc:language>")
    source = oai_source([raw(1, body)])
    run = harvester.run(harvester.add(source.url))
    assert run.created == 1
    work = harvester.works()["oai:source.example.org:1"]
    assert work.doc["isbn"] == ["978-3-16-148410-0"]
    unmapped = {(u["field"], u["value"]) for u in work.origin["unmapped"]}
    assert {("dc:identifier", "urn:isbn:978-3-16-148410-9"), ("dc:format", "application/pdf"),
            ("dc:coverage", "Atlantis"), ("dc:language", "klingon-ish")} <= unmapped


def _deposit(harvester: Harvester, **overrides: object) -> int:
    with harvester.database.session() as session:
        ctx = Context(session, harvester.context(session).principal, harvester.clock.now(), harvester.settings)
        work = works.create(ctx, WorkIn.model_validate(sample(centre="member", **overrides)))
        works.publish(ctx, work.id, None)
        return work.id


@pytest.mark.usefixtures("where")
def test_duplicates_of_deposits_and_across_sources_are_linked_not_duplicated(harvester: Harvester,
                                                                           oai_source) -> None:
    local = _deposit(harvester, metadata__doi="10.1234/shared.1")
    doi = [("identifier", "https://doi.org/10.1234/SHARED.1", None)]
    isbn = [("relation", "info:eu-repo/semantics/altIdentifier/isbn/978-3-16-148410-0", None)]
    first = oai_source([dc_item(1, at(1), more=doi), dc_item(2, at(2), more=isbn), dc_item(3, at(3), more=isbn)])
    run = harvester.run(harvester.add(first.url))
    assert (run.created, run.linked) == (1, 2)  # 1 → the deposit (DOI), 3 → 2 (same ISBN, same page)
    second = oai_source([dc_item(7, at(7), more=isbn)])
    run2 = harvester.run(harvester.add(second.url))
    assert (run2.created, run2.linked) == (0, 1)  # another source's record of the same book
    with harvester.database.session() as session:
        links = dict(session.execute(sa.select(IngestRecord.external_id, IngestRecord.work_id)
                                     .where(IngestRecord.role == "duplicate")).all())
        owner = session.scalar(sa.select(IngestRecord.work_id).where(
            IngestRecord.external_id == "oai:source.example.org:2"))
        assert session.scalar(sa.select(sa.func.count()).select_from(Work)) == 2  # the deposit and record 2
    assert links["oai:source.example.org:1"] == local
    assert links["oai:source.example.org:3"] == links["oai:source.example.org:7"] == owner
    reasons = [r for _, kind, r in harvester.problems(run.id) if kind == "duplicate"]
    assert any("10.1234/shared.1" in r and f"work {local}" in r for r in reasons)


@pytest.mark.usefixtures("where")
def test_updates_write_revisions_and_deletions_withdraw(harvester: Harvester, oai_source) -> None:
    source = oai_source([dc_item(n, at(n)) for n in range(1, 5)])
    source_id = harvester.add(source.url)
    assert harvester.run(source_id).created == 4
    later = datetime.now(UTC) - timedelta(seconds=1)  # within the next run: from = the first start - overlap
    source.items[0] = dc_item(1, later, title="Título corregido")
    source.items[1] = Item("oai:source.example.org:2", later, deleted=True)
    source.items.pop(2)  # record 3 disappears without a deletion
    run = harvester.run(source_id)
    assert (run.updated, run.withdrawn, run.unchanged) == (1, 1, 0)
    made = harvester.works()
    assert made["oai:source.example.org:1"].doc["titles"][0]["value"] == "Título corregido"
    assert made["oai:source.example.org:2"].status == "withdrawn"
    assert made["oai:source.example.org:2"].withdrawal_reason == "deleted at source"
    with harvester.database.session() as session:
        actions = session.scalars(sa.select(Revision.action).where(
            Revision.work_id == made["oai:source.example.org:1"].id).order_by(Revision.version)).all()
    assert actions == ["create", "update"]
    full = harvester.run(source_id, full=True)  # only a full run can see what is gone
    assert full.missing == 1 and made["oai:source.example.org:3"].status == "published"
    missing = [(i, r) for i, kind, r in harvester.problems(full.id) if kind == "missing"]
    assert missing and missing[0][0] == "oai:source.example.org:3" and "not withdrawn" in missing[0][1]
    assert harvester.works()["oai:source.example.org:3"].status == "published"  # reported, not withdrawn


@pytest.mark.usefixtures("where")
def test_a_record_failing_later_damages_nothing_already_harvested(harvester: Harvester, oai_source) -> None:
    source = oai_source([dc_item(n, at(n)) for n in range(1, 4)])
    source_id = harvester.add(source.url)
    harvester.run(source_id)
    before = snapshot(harvester.database)
    source.items[0] = raw(1, b"<dc:title>Lost its creator</dc:title><dc:date>2019</dc:date>")
    source.items[0].datestamp = datetime.now(UTC) - timedelta(seconds=1)
    run = harvester.run(source_id)
    assert run.failed == 1 and run.updated == 0
    after = snapshot(harvester.database)
    bookkeeping = {"harvest_sources", "harvest_runs", "ingest_records", "ingest_problems"}  # the run's own
    for table in set(before) - bookkeeping:
        assert before[table] == after[table], table


def test_a_pages_works_and_its_position_are_committed_together(harvester: Harvester, oai_source,
                                                              monkeypatch) -> None:
    """A run that dies after applying a page but before moving past it keeps none of that page:
    no work without the position that says it was harvested (on SQLite, a savepoint released
    outside a transaction would have committed the page's works on their own)."""
    from repo.ingest import harvester as module

    source = oai_source([dc_item(n, at(n)) for n in range(1, 13)], page_size=5)
    source_id = harvester.add(source.url)
    keep = module._problems
    pages = iter(range(100))

    def dies_on_the_second_page(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if next(pages) == 1:
            raise RuntimeError("killed after applying page 2")
        keep(*args, **kwargs)

    monkeypatch.setattr(module, "_problems", dies_on_the_second_page)
    run = harvester.run(source_id)
    assert run.status == "failed" and "killed" in run.last_error
    assert (run.pages, run.created) == (1, 5) and run.token
    assert len(harvester.works()) == 5  # the second page's five works went with its transaction
    monkeypatch.setattr(module, "_problems", keep)
    run = harvester.run(source_id)  # resumed from the token: the rest, each once
    assert run.status == "succeeded" and (run.pages, run.created) == (3, 12)
    assert set(harvester.works()) == {f"oai:source.example.org:{n}" for n in range(1, 13)}
