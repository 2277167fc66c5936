"""The unit of work: after_commit follow-ups run once the change is committed, never after a rollback."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from repo.centres.models import MemberCentre
from repo.db import _CURSOR, _PREPARED, Database, Prepared, UTCDateTime, after_commit, retried


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


def _prepared_query() -> sa.Select[Any]:
    centres = MemberCentre.__table__
    at = sa.bindparam("at", type_=UTCDateTime())
    return sa.select(
        centres.c.id, centres.c.slug, centres.c.created_at,  # a UTCDateTime read back (aware)
        sa.cast(sa.literal(b"\x00\xff<x/>"), sa.LargeBinary).label("raw"), sa.true().label("yes"),
        (centres.c.created_at <= at).label("before"),  # a UTCDateTime bound (naive UTC), with the row's
        sa.bindparam("day", type_=sa.Date).label("day"),
        sa.literal(None, sa.String).label("none_given"),
    ).where(centres.c.slug.in_([sa.bindparam("slug"), "fijo"])).order_by(centres.c.slug)  # a fixed value too


def test_a_prepared_read_returns_what_sqlalchemy_returns(database: Database, clock) -> None:  # type: ignore[no-untyped-def]
    """:class:`repo.db.Prepared` binds and converts by the statement's own types: the same rows,
    named alike, on the reader (PostgreSQL: the binary format) as the ordinary execution."""
    with database.session() as session:
        for slug in ("lectura", "fijo", "otro"):
            session.add(MemberCentre(slug=slug, name=slug, created_at=clock.now(), updated_at=clock.now()))
    query = _prepared_query()
    prepared = Prepared(query)
    cases = [{"slug": "lectura", "at": clock.now(), "day": clock.now().date()},
             {"slug": "otro", "at": clock.now() - timedelta(days=1), "day": date(2024, 2, 29)},
             {"slug": "ninguno", "at": clock.now(), "day": None}]
    with database.reader.connect() as connection:
        for values in cases:
            expected = connection.execute(query, values).all()
            rows = prepared.all(connection, values)
            assert [tuple(row) for row in rows] == [tuple(row) for row in expected] and len(rows) == len(expected)
            assert [row.slug for row in rows] == [row.slug for row in expected]  # named as SQLAlchemy names them
        assert rows[0].created_at.tzinfo is not None and rows[0].before is True
        # it ran without SQLAlchemy's execution: PostgreSQL, a prepared statement of its own; SQLite,
        # the driver's own cursor (kept with the connection)
        if connection.dialect.name == "postgresql":
            (name,) = connection.connection.info[_PREPARED].values()
            assert connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements WHERE name = %(name)s",
                                              {"name": name.decode()}).scalar() == 1
        else:
            assert connection.connection.info.get(_CURSOR) is not None
        assert Prepared(sa.select(sa.func.count()).select_from(MemberCentre)).scalar(connection) == 3


def test_a_prepared_read_is_seen_by_connection_event_listeners(database: Database, clock) -> None:  # type: ignore[no-untyped-def]
    """A listener of the statements issued (a tracer, a test) sees a prepared read: it then runs the ordinary way."""
    with database.session() as session:
        session.add(MemberCentre(slug="fijo", name="Fijo", created_at=clock.now(), updated_at=clock.now()))
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    prepared = Prepared(_prepared_query())
    sa.event.listen(database.reader, "before_cursor_execute", listen)
    try:
        with database.reader.connect() as connection:
            rows = prepared.all(connection, {"slug": "x", "at": clock.now(), "day": None})
    finally:
        sa.event.remove(database.reader, "before_cursor_execute", listen)
    assert [row.slug for row in rows] == ["fijo"] and len(seen) == 1 and "member_centres" in seen[0]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_prepared_read_on_a_cut_connection_is_read_again_on_a_new_one(database: Database, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    """A connection the database cut (a restart, an administrator) fails a prepared read as it
    fails any statement: a DBAPIError with ``connection_invalidated``, the pool's older
    connections dropped with it, so that :func:`repo.db.retried` reads again, once, on a new one."""
    with database.session() as session:
        session.add(MemberCentre(slug="fijo", name="Fijo", created_at=clock.now(), updated_at=clock.now()))
    prepared = Prepared(_prepared_query())
    values = {"slug": "fijo", "at": clock.now(), "day": None}

    def read() -> list[str]:
        with database.reader.connect() as connection:
            return [row.slug for row in prepared.all(connection, values)]

    first, second = database.reader.connect(), database.reader.connect()  # two pooled connections
    pids = [connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() for connection in (first, second)]
    assert prepared.all(first, values) and prepared.all(second, values)  # each keeps its cursor
    first.close(), second.close()
    with database.engine.connect() as admin:
        for pid in pids:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")  # type: ignore[arg-type]
    with database.reader.connect() as connection:
        with pytest.raises(sa.exc.DBAPIError) as cut:
            prepared.all(connection, values)
    assert cut.value.connection_invalidated
    with caplog.at_level(logging.INFO, logger="repo.db"):
        assert retried(read) == ["fijo"]  # the other cut connection was dropped too: no second failure
    assert "connection was cut" not in caplog.text


def test_a_prepared_read_whose_fast_path_fails_is_answered_the_ordinary_way(database: Database, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    """A failure of the fast path that the ordinary execution does not meet (PostgreSQL: its prepared
    statement deallocated behind its back; SQLite: its kept cursor closed): the read is still
    answered (by SQLAlchemy's execution), the failure is logged, and the next read prepares anew."""
    with database.session() as session:
        session.add(MemberCentre(slug="fijo", name="Fijo", created_at=clock.now(), updated_at=clock.now()))
    prepared = Prepared(_prepared_query())
    values = {"slug": "x", "at": clock.now(), "day": None}
    with database.reader.connect() as connection:
        assert [row.slug for row in prepared.all(connection, values)] == ["fijo"]
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:
            (kept,) = connection.connection.info[_PREPARED].values()
            connection.exec_driver_sql(f"DEALLOCATE {kept.decode()}")  # the database no longer knows it
        else:
            kept = connection.connection.info[_CURSOR]
            kept.close()  # the driver refuses to run anything on it now
        with caplog.at_level(logging.WARNING, logger="repo.db"):
            assert [row.slug for row in prepared.all(connection, values)] == ["fijo"]
        assert "a prepared read failed where the ordinary one did not" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="repo.db"):
            assert [row.slug for row in prepared.all(connection, values)] == ["fijo"]
        assert "failed" not in caplog.text  # the fast path again, prepared anew
        made = connection.connection.info[_PREPARED if postgresql else _CURSOR]
        assert (list(made.values()) != [kept]) if postgresql else (made is not kept)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_sent_read_runs_before_its_rows_are_read_and_leaves_the_connection_ready(database: Database) -> None:
    """:meth:`Prepared.sent`: the database runs the statement while the caller does something else
    (here: another session sees the lock the statement took, before its rows are read); rows
    left unread at the end of the block are read there, so the connection runs the next statement."""
    take = Prepared(sa.select(sa.func.pg_try_advisory_lock(sa.bindparam("key", type_=sa.BigInteger), type_=sa.Boolean)))
    with database.reader.connect() as connection, database.engine.connect() as other:
        def held() -> bool:
            return bool(other.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted").scalar())

        with take.sent(connection, {"key": 4242}) as answer:
            for _ in range(500):  # the lock appears once the database has run the statement
                if held():
                    break
                other.commit()
                time.sleep(0.01)
            assert held()
            assert [tuple(row) for row in answer.rows()] == [(True,)]  # the lock, taken
        with take.sent(connection, {"key": 4243}):
            pass  # never read
        assert connection.exec_driver_sql("SELECT pg_advisory_unlock_all(), 1").all()[0][1] == 1


def test_a_statement_with_an_in_list_is_not_prepared() -> None:
    with pytest.raises(ValueError, match="expanding parameter"):
        Prepared(sa.select(MemberCentre.id).where(MemberCentre.slug.in_(["a", "b"])))
