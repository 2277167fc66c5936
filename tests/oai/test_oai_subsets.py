"""Lists of a subset of the works (a format for some types only, a journal's, a centre's or a
type's set, and their combinations) walk an index of their own works (``repo.oai.queries.Membership``),
on SQLite and PostgreSQL.

* paged with small pages, ListIdentifiers and ListRecords give exactly the subset's records in
  ``(datestamp, id)`` order, with or without ``from``, tombstones included and drafts left out,
  whichever index drives the walk (one value, several merged, the works in a journal);
* the query plans: each such list seeks its own index and needs no sort of the list (the
  datestamp index for the whole repository), so a page costs what its records cost however
  large the repository is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from oai_harness import Corpus, OAIClient, identifier

from repo.oai import envelope, queries, sets
from repo.oai.formats import REGISTRY
from repo.oai.tokens import Position
from repo.oai.verbs import listing
from repo.works import visibility
from repo.works.models import Work

IN_JOURNAL_INDEX = "ix_works_in_journal_datestamp_id_status_type_version_issn_l"
COVERING = ("ix_works_datestamp_id_status_version", IN_JOURNAL_INDEX)  # the walks that read no work's row


@pytest.fixture
def subsets(corpus: Corpus, clock: Any, monkeypatch: Any) -> Corpus:
    """A journal of five records (one a tombstone, one a report) and a draft, an article without a journal,
    a synthetic corpus of every type around them (with its own journals); and a format for two
    types, ``texts`` (one walk per type, merged)."""
    monkeypatch.setitem(REGISTRY, "texts", replace(REGISTRY["oai_dc"], prefix="texts",
                                                   types=frozenset({"book", "report"})))
    corpus.synthetic(60, seed=5)
    small = {"title": "Revista Pequeña", "issn": "0034-8597"}
    for n in range(3):
        corpus.work(f"Artículo {n}", centre="centre-b", journal=small, type="review" if n == 1 else "journal_article")
    gone = corpus.work("Retirado", centre="centre-b", journal=small)
    corpus.withdraw(gone)
    corpus.work("Borrador", centre="centre-b", journal=small, publish=False)
    corpus.work("Sin revista", centre="centre-b")
    corpus.work("Informe en una revista", centre="centre-b", journal=small, type="report")  # not JATS
    corpus.synthetic(40, seed=6)
    return corpus


def _expected(database: Any, prefix: str, spec: str | None, now: datetime, lower: datetime | None = None) -> list[str]:
    """The list's records by SQL over every work and the format's rule in Python, in (datestamp, id) order."""
    fmt = REGISTRY[prefix]
    with database.session() as session:
        query = sa.select(Work.id, Work.type, Work.issn_l).where(visibility.public_or_tombstone())
        if spec is not None:
            query = query.where(sets.condition(session, spec, now))
        if lower is not None:
            query = query.where(Work.datestamp >= lower)
        rows = session.execute(query.order_by(Work.datestamp, Work.id)).all()
    return [identifier(row.id) for row in rows if fmt.applies_to(row)]  # type: ignore[arg-type]


LISTS = [("jats", None), ("texts", None), ("texts", "openaire"), ("oai_dc", "journal:0034-8597"), ("jats", "journal:0034-8597"), ("oai_dc", "centre:centre-b"),
         ("jats", "centre:centre-b"), ("oai_dc", "type:book"), ("mods", "type:review"), ("jats", "type:review"),
         ("jats", "openaire"), ("oai_dc", None)]


def test_subset_lists_page_through_exactly_their_records(oai_get: OAIClient, subsets: Corpus, database: Any,
                                                        settings: Any, clock: Any) -> None:
    settings.oai_page_size = 3
    now = clock.now()
    for prefix, spec in LISTS:
        expected = _expected(database, prefix, spec, now)
        assert len(expected) >= 2, (prefix, spec)  # a list of several pages, or a page and its look-ahead
        arguments = {"metadataPrefix": prefix, **({"set": spec} if spec else {})}
        for verb in ("ListIdentifiers", "ListRecords"):
            _, listed = oai_get.harvest(verb, **arguments)
            assert listed == expected, (verb, prefix, spec)
        # from a datestamp in the middle of the list: a seek on the same index
        with database.session() as session:
            middle = session.scalar(sa.select(Work.datestamp).where(
                Work.id == int(expected[len(expected) // 2].rsplit(":", 1)[1])))
        _, listed = oai_get.harvest("ListIdentifiers", **arguments, from_=envelope.datestamp(middle))
        assert listed == _expected(database, prefix, spec, now, middle.replace(microsecond=0)), (prefix, spec)
    # a type the format does not apply to: no walk at all
    reply = oai_get(verb="ListIdentifiers", metadataPrefix="jats", set="type:book")
    assert reply.errors == ["noRecordsMatch"]


def _plan(connection: sa.Connection, membership: queries.Membership, after: tuple[datetime, int] | None) -> str:
    """The keyset query's plan, as text (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN, with
    sequential scans and sorts priced out, so that it shows what the indexes allow on a table
    too small for the planner to care)."""
    now = datetime.now(UTC)
    query = queries._keyset_query(membership, False, after is not None, True, True)
    compiled = query.compile(dialect=connection.dialect)
    values = {"upper": now, "limit": 11, "today": now.date(), "prefix": "oai_dc", "variant": "v", "now": now}
    if after is not None:
        values["after_at"], values["after_id"] = after
    parameters = compiled.construct_params(values)
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}",
                                          tuple(parameters[name] for name in compiled.positiontup or ()))
        return "\n".join(str(row[3]) for row in rows)
    connection.exec_driver_sql("ANALYZE works")  # the same statistics whether autovacuum came by or not
    for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
        connection.exec_driver_sql(f"SET LOCAL {setting} = off")
    return "\n".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {compiled}", parameters))


@pytest.mark.parametrize(("prefix", "spec", "index"), [
    ("oai_dc", None, "ix_works_datestamp_id_status_version"),
    ("oai_dc", "journal:0034-8597", "ix_works_issn_l_datestamp_id"),
    ("oai_dc", "centre:centre-b", "ix_works_centre_id_datestamp_id"),
    ("oai_dc", "type:book", "ix_works_type_datestamp_id"),
    # A type's JATS list: the type's index, or the journal works' (which covers the walk), as the
    # planner's statistics say: both hold every record of the list, in the walk's order (at 1M
    # works PostgreSQL takes the covering one, 0.2 ms for a page's works against 2.0).
    ("jats", "type:review", ("ix_works_type_datestamp_id", IN_JOURNAL_INDEX)),
    ("jats", None, IN_JOURNAL_INDEX),
    ("texts", None, "ix_works_type_datestamp_id"),
    ("jats", "journal:0034-8597", "ix_works_issn_l_datestamp_id"),
])
def test_each_list_walks_an_index_of_its_own_records(subsets: Corpus, database: Any, clock: Any, prefix: str,
                                                     spec: str | None, index: str | tuple[str, str]) -> None:
    listing._MEMBERSHIPS.clear()  # (a centre's id differs from one test database to the next)
    with database.engine.connect() as connection:
        position = Position("ListRecords", prefix, spec, None, clock.now(), None, 0, 0)
        membership = listing._membership(connection, position, clock.now())
        after = connection.execute(sa.select(Work.datestamp, Work.id).order_by(Work.datestamp, Work.id).limit(1)).one()
        connection.rollback()
        for resume in (None, (after.datestamp, after.id)):
            plan = _plan(connection, membership, resume)
            connection.rollback()
            if isinstance(index, tuple):
                index = next((name for name in index if f"{name} " in plan), index[0])
            assert index in plan, plan
            if connection.dialect.name == "sqlite":
                # the driving index is searched with its leading column (or the datestamp) bound,
                # and only the merge of several walks sorts (each walk at most a page long)
                # the whole repository's walk and the journal works' read the works' index alone
                # (status, version; type, issn_l)
                using = "USING COVERING INDEX" if index in COVERING else "USING INDEX"
                assert f"{using} {index} (" in plan, plan
                if len(membership.values) <= 1:
                    assert "TEMP B-TREE" not in plan, plan
            else:
                assert "Sort" not in plan or len(membership.values) > 1, plan
                if index in COVERING:
                    assert f"Index Only Scan using {index}" in plan, plan
            if membership.driver is None:
                assert index == "ix_works_datestamp_id_status_version"
                # each work's stored entry through the index in the walk's order (1704), not the
                # primary key (work_id, prefix), whose lookups fall all over it. (PostgreSQL plans
                # the join from statistics: on this empty table it scans it once; on the benchmark's
                # 100,000 works it takes this index.)
                if connection.dialect.name == "sqlite":
                    assert "USING INDEX ix_oai_records_prefix_datestamp_work_id (" in plan, plan
            else:
                for other in ("ix_works_datestamp_id_status_version", "ix_works_status"):
                    assert not _walks(plan, other), plan


def _walks(plan: str, index: str) -> bool:
    """Whether ``plan`` searches ``index`` with a condition (a keyset walk along it): SQLite's
    ``SEARCH … INDEX name (condition)``, PostgreSQL's scan of it with an ``Index Cond``. PostgreSQL
    may also scan a small table's covering index whole to join the page's keys to their rows (the
    test's table holds about a hundred works), which walks nothing."""
    lines = plan.splitlines()
    for line, below in zip(lines, [*lines[1:], ""], strict=True):
        if f"INDEX {index} (" in line or (f"using {index} on" in line and "Index Cond" in below):
            return True
    return False
