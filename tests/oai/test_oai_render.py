"""Render on write: stored bytes equal fresh rendering after every kind of change, the set
counters equal the lists they size, and harvest requests write nothing (asserted on the SQL issued).

The property test applies random sequences of changes through the real services (deposit,
publish, edit, access changes, files and their own embargoes, withdrawal, time passing, the
restamp after a commit, the background embargo lift) and after each sequence checks, on both
databases: the next harvest shows every record exactly as a fresh rendering does (before the
renderer has caught up), then, once the renderer has drained its queue, that every record's
stored bytes are fresh and equal a fresh rendering, and that every set's counter equals a count
of its list, for every format.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import etree
from oai_harness import OAIClient, identifier

from repo.errors import ProblemError
from repo.files.models import File
from repo.files.schemas import FileAccessIn
from repo.files.service import set_access
from repo.oai import cache, records, render, sets, tracking
from repo.oai.formats import REGISTRY
from repo.oai.models import CachedRecord
from repo.oai.records import RenderContext
from repo.works import service as works
from repo.works import visibility
from repo.works.models import Work

OAI = "{http://www.openarchives.org/OAI/2.0/}"
def background(thread: threading.Thread) -> bool:
    """The worker's threads (``repo.worker.runner``: one per job, and the lease heartbeat)."""
    return thread.name.startswith("job-") or thread.name == "worker-heartbeat"
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _drain(corpus: Any) -> None:
    while render.render_pending(corpus.database, corpus.settings, corpus.clock):
        pass


def _canonical(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True)


def _record_ids(session: Any) -> list[int]:
    return list(session.scalars(sa.select(Work.id).where(visibility.public_or_tombstone()).order_by(Work.id)))


# -- the checks ------------------------------------------------------------------------------------

def check_harvest_is_fresh(oai: OAIClient, corpus: Any) -> None:
    """The next full harvest shows each record exactly as rendering it now does."""
    reply = oai(verb="ListRecords", metadataPrefix="oai_dc")
    if reply.errors:
        assert reply.errors == ["noRecordsMatch"]
        harvested: dict[str, bytes] = {}
    else:
        assert reply.token is None  # the page size holds the whole corpus
        harvested = {str(r.findtext(f"{OAI}header/{OAI}identifier")): _canonical(r) for r in reply.xpath("//o:record")}
    context = RenderContext(corpus.settings, corpus.clock.now())
    with corpus.database.session() as session:  # only the format harvested (rendering all six is slow)
        fresh = records.get_many(session, _record_ids(session))
    expected = {identifier(w.id): _canonical(etree.fromstring(render.serialize(w, REGISTRY["oai_dc"], context)))
                for w in fresh}
    assert harvested == expected


def check_stored_is_fresh(corpus: Any) -> None:
    """Once the renderer has drained its queue: every record has fresh stored bytes in every
    format that applies, equal to a fresh rendering, and nothing else is stored."""
    _drain(corpus)
    now = corpus.clock.now()
    with corpus.database.session() as session:
        ids = _record_ids(session)
        expected = {(e["work_id"], e["prefix"]): e for e in render.render_works(session, ids, corpus.settings, now)}
        stored = {(r.work_id, r.prefix): r for r in session.execute(sa.select(
            CachedRecord.work_id, CachedRecord.prefix, CachedRecord.datestamp, CachedRecord.version,
            CachedRecord.variant, CachedRecord.valid_until, CachedRecord.xml))}
        current = {w.id: w for w in session.execute(sa.select(Work.id, Work.datestamp, Work.version))}
    assert set(stored) == set(expected)
    for key, entry in expected.items():
        got, work = stored[key], current[key[0]]
        assert cache.is_fresh(got, work.datestamp, work.version, entry["variant"], now), key
        assert (got.xml, got.valid_until) == (entry["xml"], entry["valid_until"]), key


def check_counts_are_exact(corpus: Any) -> None:
    """Every set's counter equals a count of its list, for every format (and a format for books)."""
    now = corpus.clock.now()
    with corpus.database.session() as session:
        specs: list[str | None] = [None, *(info.spec for info in sets.all_sets(session))]
        for spec in specs:
            key = sets.count_key(session, spec)
            assert key is not None, spec
            members = sa.select(Work.type, sa.func.count()).where(visibility.public_or_tombstone())
            if spec is not None:
                members = members.where(sets.condition(session, spec, now))  # type: ignore[arg-type]
            by_type = dict(session.execute(members.group_by(Work.type)).all())
            for types in [fmt.types for fmt in REGISTRY.values()] + [frozenset({"book"})]:
                expected = sum(n for t, n in by_type.items() if types is None or t in types)
                assert tracking.size(session.connection(), key, types) == expected, (spec, types)


# -- random changes ----------------------------------------------------------------------------------

TYPES = st.sampled_from(["journal_article", "book", "doctoral_thesis"])
ACCESS = st.sampled_from(["open", "embargoed", "restricted", "metadata_only"])
DAYS = st.integers(min_value=1, max_value=12)
PICK = st.integers(min_value=0, max_value=1_000)
CHANGES = st.lists(st.one_of(
    st.tuples(st.just("deposit"), TYPES, ACCESS, DAYS, st.booleans(), st.sampled_from([(), ("libros",), ("clasicos", "tesis")])),
    st.tuples(st.just("edit"), PICK, st.sampled_from(["Otra forma", "Título nuevo", "Tercera versión"])),
    st.tuples(st.just("access"), PICK, ACCESS, DAYS),
    st.tuples(st.just("publish"), PICK),
    st.tuples(st.just("withdraw"), PICK),
    st.tuples(st.just("file"), PICK, st.sampled_from([None, "open", "embargoed", "restricted"]), DAYS),
    st.tuples(st.just("file_access"), PICK, st.sampled_from([None, "open", "embargoed", "restricted"]), DAYS),
    st.tuples(st.just("time"), st.integers(min_value=1, max_value=15 * 24)),
    st.tuples(st.just("restamp"), PICK),
    st.tuples(st.just("lift"),),
), min_size=1, max_size=10)


def _embargo(access: str | None, days: int, now: datetime) -> str | None:
    return (now + timedelta(days=days)).date().isoformat() if access == "embargoed" else None


def apply(corpus: Any, change: tuple[Any, ...]) -> None:
    """One change through the services; a change the services refuse (409, 422) changes nothing."""
    kind, *args = change
    clock = corpus.clock
    with corpus.database.session() as session:
        ids = list(session.scalars(sa.select(Work.id).order_by(Work.id)))
    work = ids[args[0] % len(ids)] if ids and kind not in ("deposit", "time", "lift") else None
    if work is None and kind not in ("deposit", "time", "lift"):
        return
    try:
        if kind == "deposit":
            type_, access, days, publish, collections = args
            corpus.work("Depósito", type=type_, access_right=access, publish=publish, collections=collections,
                        embargo_end=_embargo(access, days, clock.now()))
        elif kind == "edit":
            corpus.edit(work, metadata={"titles": [{"value": args[1], "lang": "spa"}]})
        elif kind == "access":
            corpus.edit(work, access_right=args[1], embargo_end=_embargo(args[1], args[2], clock.now()))
        elif kind == "publish":
            corpus.publish(work)
        elif kind == "withdraw":
            corpus.withdraw(work)
        elif kind in ("file", "file_access"):
            _file(corpus, work, kind == "file", args[1], args[2])
        elif kind == "time":
            clock.advance(hours=args[0])
        elif kind == "restamp":
            clock.advance(seconds=1)
            with corpus.database.session() as session:
                works.restamp(session, {work}, clock.now())
        elif kind == "lift":
            with corpus.database.session() as session:
                works.lift_embargoes(session, clock.now())
    except ProblemError:
        pass


def _file(corpus: Any, work_id: int, new: bool, access: str | None, days: int) -> None:
    embargo = _embargo(access, days, corpus.clock.now())
    data = FileAccessIn.model_validate({"access_right": access, "embargo_end": embargo})
    with corpus.database.session() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(File).where(File.work_id == work_id))
    if new or not count:
        def attach(ctx: Any) -> None:  # what files.service does for an upload, without the bytes
            work = works.get_editable(ctx, work_id)
            if work.status == "withdrawn":
                return
            ctx.session.add(File(work_id=work_id, name=f"f{count}.pdf", media_type="application/pdf", size=10,
                                 sha256="0" * 64, md5="0" * 32, text_state="skipped", has_thumbnail=False,
                                 created_at=ctx.now, updated_at=ctx.now))
            works.touch(ctx, work, "files", [{"field": f"files.f{count}.pdf", "old": None, "new": "added"}])
        corpus.run(attach)
    corpus.run(lambda ctx: set_access(ctx, work_id, "f0.pdf", data, None))


@pytest.fixture
def wide_pages(settings: Any) -> None:
    settings.oai_page_size = 1000  # one page holds the whole corpus of the property test


@hypothesis_settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=CHANGES)
def test_stored_bytes_and_counters_follow_every_change(oai_get: OAIClient, corpus, wide_pages, changes) -> None:  # type: ignore[no-untyped-def]
    # The database lives across examples: each sequence starts from what the earlier ones left.
    for change in changes:
        apply(corpus, change)
    check_harvest_is_fresh(oai_get, corpus)  # before the renderer ran (and after time passed)
    check_stored_is_fresh(corpus)
    check_harvest_is_fresh(oai_get, corpus)  # from stored bytes
    check_counts_are_exact(corpus)


# -- harvests write nothing ----------------------------------------------------------------------------

@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL that requests (not the background threads) send while the block runs."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not background(threading.current_thread()):
            seen.append(" ".join(statement.split()))

    engines = {app.state.db.engine, app.state.db.reader}  # (on PostgreSQL, requests read through a pool of their own)
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", listen)


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.split(" ", 1)[0].upper() in WRITES]


def test_no_harvest_request_writes(oai: OAIClient, app, corpus, clock, database) -> None:  # type: ignore[no-untyped-def]
    end = (clock.now() + timedelta(days=5)).date()
    embargoed = corpus.work("Embargada", access_right="embargoed", embargo_end=end.isoformat(), collections=("libros",))
    gone = corpus.work("Retirada")
    corpus.withdraw(gone)
    for n in range(4):
        corpus.work(f"Obra {n}", type="book")
    corpus.settings.oai_page_size = 2
    _drain(corpus)
    with database.session() as session:  # some records without stored bytes: rendered by the request
        session.execute(sa.delete(CachedRecord).where(CachedRecord.work_id == embargoed))
    with statements(app) as seen:
        assert oai(verb="Identify").errors == []
        assert oai(verb="ListMetadataFormats", identifier=identifier(embargoed)).errors == []
        assert oai(verb="ListSets").errors == []
        for work in (embargoed, gone):
            assert oai(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc").errors == []
        for verb in ("ListIdentifiers", "ListRecords"):
            for arguments in ({}, {"set": "openaire"}, {"set": "collection:biblioteca"},
                              {"from": clock.now().date().isoformat()}):
                pages, found = oai.harvest(verb, metadataPrefix="oai_dc", **arguments)
                assert found
        assert oai(verb="ListRecords", metadataPrefix="oai_dc", set="type:video").errors == ["noRecordsMatch"]
        assert oai(verb="GetRecord", identifier="oai:repo.example.org:999", metadataPrefix="oai_dc").errors == [
            "idDoesNotExist"]
        assert oai(verb="Nothing").errors == ["badVerb"]
    assert len(seen) > 20
    assert writes(seen) == []
    # The rare case: an embargo ended a moment ago and no background run has lifted it yet. The
    # next request that shows records lifts it first (so its datestamp is the moment it ended)...
    clock.set(datetime.combine(end, time(0), tzinfo=UTC) + timedelta(seconds=30))
    with statements(app) as seen:
        assert oai(verb="Identify").errors == []  # (Identify shows no record: it lifts nothing)
        assert writes(seen) == []
        reply = oai(verb="GetRecord", identifier=identifier(embargoed), metadataPrefix="oai_dc")
        assert reply.xpath("string(//o:datestamp)") == f"{end.isoformat()}T00:00:00Z"
        lifted = writes(seen)
        assert lifted and all(s.split()[:3] in (["UPDATE", "works", "SET"], ["INSERT", "INTO", "search_outbox"],
                                                ["INSERT", "INTO", "oai_render_queue"], ["INSERT", "INTO", "oai_set_counts"],
                                                ["UPDATE", "oai_generation", "SET"])
                              for s in lifted), lifted
        # ... and only once: the requests after it write nothing again.
        seen.clear()
        oai.harvest("ListRecords", metadataPrefix="oai_dc", set="openaire")
        assert writes(seen) == []


def test_repo_oai_render_all_renders_only_what_is_stale(client, corpus, database, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``repo oai render --all`` after a deploy: the records whose bytes are missing or of another
    variant are rendered, fresh ones are skipped (so a second run, or one resumed after a stop,
    renders nothing more)."""
    from typer.testing import CliRunner

    from repo.cli import app as cli_app

    # Only the command may render here: the app's background renderer, sharing the queue with
    # `_drain`, could otherwise store a batch it read before the edits below after them.
    client.app.state.worker.pause("oai.render")
    works_ = [corpus.work(f"Obra {n}") for n in range(3)]
    _drain(corpus)
    with database.session() as session:
        session.execute(sa.update(CachedRecord).where(CachedRecord.work_id == works_[0])
                        .values(variant="of the previous release"))
        session.execute(sa.delete(CachedRecord).where(CachedRecord.work_id == works_[1]))
    for name, value in (("DATA_DIR", settings.data_dir), ("DATABASE_URL", settings.resolved_database_url),
                        ("SECRET_KEY", settings.secret), ("BASE_URL", settings.base_url),
                        ("OAI_REPOSITORY_IDENTIFIER", settings.oai_repository_identifier)):
        monkeypatch.setenv(f"REPO_{name}", str(value))

    def run() -> str:
        result = CliRunner().invoke(cli_app, ["oai", "render", "--all"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "2 records rendered" in run()
    assert "0 records rendered" in run()
    with database.session() as session:
        assert render.stale_ids(session, works_, settings, datetime.now(UTC)) == []


def test_an_embargo_end_at_the_second(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    """A harvest one second before an embargo's end, exactly at it and one second after; an
    incremental harvest from before it. Stored bytes made before the end are not served after it."""
    end = (clock.now() + timedelta(days=2)).date()
    ended = datetime.combine(end, time(0), tzinfo=UTC)
    work = corpus.work("Tesis embargada", access_right="embargoed", embargo_end=end.isoformat(),
                       type="doctoral_thesis")
    _drain(corpus)
    clock.advance(minutes=1)
    last_harvest = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc").response_date

    def rights(reply: Any) -> str:
        return str(reply.xpath("string(//dc:rights)"))

    clock.set(ended - timedelta(seconds=1))
    before = oai_get(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc")
    assert rights(before) == "info:eu-repo/semantics/embargoedAccess"
    assert oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", set="openaire").errors == ["noRecordsMatch"]
    assert oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": last_harvest}).errors == [
        "noRecordsMatch"]

    clock.set(ended)  # exactly at the end
    at = oai_get(verb="ListRecords", metadataPrefix="oai_dc", **{"from": last_harvest})
    assert at.identifiers == [identifier(work)]
    assert at.xpath("string(//o:datestamp)") == ended.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rights(at) == "info:eu-repo/semantics/openAccess"
    assert {"openaire", "driver"} <= set(at.xpath("//o:setSpec/text()"))

    clock.set(ended + timedelta(seconds=1))  # just after: from stored bytes once rendered again
    _drain(corpus)
    after = oai_get(verb="ListRecords", metadataPrefix="oai_dc", set="openaire", **{"from": last_harvest})
    assert after.identifiers == [identifier(work)] and rights(after) == "info:eu-repo/semantics/openAccess"
    assert _canonical(after.xpath("//o:record")[0]) == _canonical(at.xpath("//o:record")[0])
    assert oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": ended.strftime(
        "%Y-%m-%dT%H:%M:%SZ")}).identifiers == [identifier(work)]
    assert oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": (ended + timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")}).errors == ["noRecordsMatch"]


def test_a_whole_list_carries_its_exact_size_and_a_window_only_on_its_last_page(oai_get: OAIClient, corpus,
                                                                               settings) -> None:  # type: ignore[no-untyped-def]
    settings.oai_page_size = 2
    for n in range(5):
        corpus.work(f"Obra {n}", type="book" if n % 2 else "journal_article")
    corpus.withdraw(corpus.work("Retirada"))
    pages, found = oai_get.harvest("ListIdentifiers", metadataPrefix="oai_dc")
    assert [p.token.get("completeListSize") for p in pages] == ["6"] * 3 and len(found) == 6
    pages, found = oai_get.harvest("ListIdentifiers", metadataPrefix="oai_dc", set="type:journal_article")
    assert [p.token.get("completeListSize") for p in pages] == ["4", "4"] and len(found) == 4
    pages, found = oai_get.harvest("ListIdentifiers", metadataPrefix="oai_dc", set="openaire")
    assert [p.token.get("completeListSize") for p in pages] == ["6"] * 3
    window = {"from": "2000-01-01"}
    pages, found = oai_get.harvest("ListIdentifiers", metadataPrefix="oai_dc", **window)
    assert [p.token.get("completeListSize") for p in pages] == [None, None, "6"]


def test_a_request_costs_one_query_and_a_first_page_one_more(oai_get: OAIClient, app, corpus) -> None:  # type: ignore[no-untyped-def]
    """What the lean path promises, counted in statements: the embargo probe rides on the query
    that reads (no round trip of its own), stored records need no other query, and the first page
    of a list, in a set or not, adds only the set-size lookup (no count of the list). (Without the
    read-ahead, which would make the second page in the background: see test_oai_readahead.)"""
    for n in range(3):
        corpus.work(f"Obra {n}")
    corpus.settings.oai_page_size = 2
    corpus.settings.oai_read_ahead = False
    _drain(corpus)
    with statements(app) as seen:
        first = oai_get(verb="ListRecords", metadataPrefix="oai_dc", set="openaire")
        assert len(seen) == 2 and "oai_set_counts" in seen[1]
        seen.clear()
        oai_get(verb="ListRecords", resumptionToken=first.token.text)
        assert len(seen) == 1
        seen.clear()
        oai_get(verb="GetRecord", identifier=first.identifiers[0], metadataPrefix="oai_dc")
        assert len(seen) == 1
        seen.clear()
        oai_get(verb="Identify")
        assert len(seen) == 1
