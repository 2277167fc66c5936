"""The unit of work: after_commit follow-ups run once the change is committed, never after a rollback."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from repo.centres.models import MemberCentre
from repo.db import Database, after_commit


def _centres(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(sa.select(MemberCentre.slug)))


def test_a_follow_up_runs_after_the_commit_in_its_own_unit_of_work(database: Database, clock) -> None:  # type: ignore[no-untyped-def]
    seen: list[set[str]] = []
    with database.session() as session:
        session.add(MemberCentre(slug="nuevo", name="Nuevo", created_at=clock.now(), updated_at=clock.now()))
        after_commit(session, lambda later: seen.append(set(later.scalars(sa.select(MemberCentre.slug)))))
        session.flush()
        assert seen == []  # not before the commit
    assert seen == [{"nuevo"}]  # the committed change is visible to it


def test_no_follow_up_after_a_rollback_and_a_failing_one_is_logged(database: Database, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    ran: list[str] = []
    with pytest.raises(RuntimeError), database.session() as session:
        session.add(MemberCentre(slug="nunca", name="Nunca", created_at=clock.now(), updated_at=clock.now()))
        after_commit(session, lambda later: ran.append("rolled back"))
        raise RuntimeError("the request failed")
    assert ran == [] and "nunca" not in _centres(database)

    def broken(later: object) -> None:
        raise ValueError("follow-up failed")

    with caplog.at_level(logging.ERROR, logger="repo.db"), database.session() as session:
        session.add(MemberCentre(slug="hecho", name="Hecho", created_at=clock.now(), updated_at=clock.now()))
        after_commit(session, broken)
    assert "hecho" in _centres(database)  # the change stays committed
    assert "follow-up of a committed change failed" in caplog.text


def test_the_reader_reads_back_what_the_engine_reads(database: Database, clock) -> None:  # type: ignore[no-untyped-def]
    """``Database.reader`` (OAI requests: on PostgreSQL a pool of its own, results in the binary
    format) reads every value back as the main engine does: text, instants, numbers, booleans, bytes."""
    with database.session() as session:
        session.add(MemberCentre(slug="lectura", name="Lectura ñ <&>", created_at=clock.now(), updated_at=clock.now()))
    centres = MemberCentre.__table__
    query = sa.select(centres, sa.cast(sa.literal(b"\x00\xff<x/>"), sa.LargeBinary).label("raw"),
                      sa.true().label("yes"), sa.literal(1.5).label("half")).where(centres.c.slug == "lectura")
    with database.engine.connect() as connection:
        expected = connection.execute(query).one()
    with database.reader.connect() as connection:
        assert connection.execute(query).one() == expected
        if database.reader.dialect.name == "postgresql":
            assert database.reader is not database.engine
            assert connection.connection.dbapi_connection.cursor().format == 1  # binary: what was compared
            # a page's index walk is never planned in parallel (worker start-up: 4x a deep page at 1M works)
            assert connection.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() == "0"
    assert expected.raw == b"\x00\xff<x/>" and expected.name == "Lectura ñ <&>"
