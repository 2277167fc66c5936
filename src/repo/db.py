"""Database: the declarative base, the engine, the session dependency and migrations.

One transaction per request: the session dependency commits when the handler succeeds and
rolls back when it raises. Services only ``flush()``.

**Readers and writers.** A unit of work is a *reader* until it asks to change something, and
readers never wait for writers: on SQLite (WAL) a reader's statements run outside any
transaction, each on the latest committed state; on PostgreSQL they run in the request's
READ COMMITTED transaction. A unit of work becomes a *writer* at its first locking read —
:func:`lock_for_write`, which :func:`repo.works.repository.get` calls for ``for_update`` and the
Idempotency-Key claim calls before its insert — or, failing that, at its first write:

* on PostgreSQL the locking read is ``SELECT … FOR UPDATE``: a row lock that concurrent writers
  of the same work queue on, after which they read the winner's version;
* on SQLite, where ``FOR UPDATE`` does not exist, :func:`lock_for_write` starts the transaction
  with ``BEGIN IMMEDIATE``: the database's single write lock, waited for up to the busy timeout
  (30 s). Everything the session had loaded is expired, so whatever the writer decides on (the
  version an If-Match is checked against, the next revision number, whether a name is taken) is
  read again under the lock, and the loser of a race sees the winner's change and answers 412
  or 409, never a constraint violation. A write without a prior locking read starts its
  transaction at that write (pysqlite's implicit ``BEGIN``), which is as safe: nothing was read
  inside it before.

Neither decision is made per request method: a GET that must write (ending an embargo) does so
in a unit of work of its own, and a long upload streams its bytes *before* its unit of work takes
the lock, so no writer queues behind a slow client. A lock that cannot be had in time becomes a
503 with ``Retry-After`` (see :mod:`repo.errors`), never a 500.
"""

from __future__ import annotations

import itertools
import logging
import select
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pydantic_core
import sqlalchemy as sa
from fastapi import Request
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger("repo.db")
T = TypeVar("T")
_AFTER_COMMIT = "repo.after_commit"
_WROTE = "repo.wrote"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A UTC instant, stored naive (UTC) so SQLite and PostgreSQL sort and compare alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


JSONDocument = sa.JSON().with_variant(JSONB(), "postgresql")
#: Work ids (and every column referring to one): 64-bit, as the API promises ids up to 2^63 - 1.
#: SQLite's INTEGER is 64-bit already, and must stay INTEGER to be the rowid (AUTOINCREMENT).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return sa.create_engine(url, **({"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20} | kwargs))


class Database:
    """The engine and session factory of one application instance (built in the lifespan)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        #: The engine of read-only requests that run again on a cut connection (:func:`retried`).
        #: On PostgreSQL a pool of its own: in autocommit (no BEGIN and ROLLBACK round trips around
        #: a request's one or two queries, each of which reads what is committed when it runs) and
        #: without :attr:`engine`'s pre-ping, a round trip on every checkout that was a third of an
        #: OAI GetRecord's time. A connection the server has closed since its last use (a restart)
        #: is found by the first statement instead ("optimistic" disconnect handling, SQLAlchemy's
        #: *Dealing with Disconnects*): SQLAlchemy then drops it and every older connection of the
        #: pool, and :func:`retried` runs the read again on a new one. SQLite: :attr:`engine`.
        #: Its results come in PostgreSQL's binary format (:func:`_binary_results`), and its queries
        #: are never run in parallel: each is an index walk of a page at most, but the planner can
        #: misjudge a deep keyset page (a row-value comparison) as ~100,000 rows and start a
        #: parallel Gather Merge, whose workers take 8-12 ms to start: 4x the page at 1,000,000
        #: works (the page alone: 1.3 ms).
        self.reader = self.engine if self.engine.dialect.name != "postgresql" else create_engine(
            url, pool_pre_ping=False, pool_size=5, max_overflow=15, isolation_level="AUTOCOMMIT",
            connect_args={"options": "-c max_parallel_workers_per_gather=0"})
        if self.reader is not self.engine:
            event.listen(self.reader, "connect", _binary_results)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        event.listen(self.sessionmaker, "after_flush", _mark_written)
        event.listen(self.sessionmaker, "do_orm_execute", _mark_dml)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on error; then its :func:`after_commit`
        follow-ups, each in a unit of work of its own."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            follow_ups: list[Callable[[Session], None]] = session.info.pop(_AFTER_COMMIT, [])
        for follow_up in follow_ups:
            try:
                with self.session() as later:
                    follow_up(later)
            except Exception:  # the change it follows is committed: log, never fail the request
                log.exception("a follow-up of a committed change failed")

    def dispose(self) -> None:
        if self.reader is not self.engine:
            self.reader.dispose()
        self.engine.dispose()


def _binary_results(dbapi_connection: Any, _record: Any) -> None:
    """Every query of this (psycopg) connection answered in PostgreSQL's binary format. A stored
    record's bytes (``bytea``) then travel as they are, not as hex text of twice their size that
    the server encodes and the driver decodes: for the query of a ListRecords page of 100 stored records,
    0.4 ms less PostgreSQL CPU, 0.4 ms less of ours and half its wall time (measured on the
    query alone; about -15 % wall for a whole page). Every column type reads back as the same
    Python value in either format."""
    dbapi_connection.cursor_factory = _binary_cursor()


@cache
def _binary_cursor() -> type:
    from psycopg import Cursor
    from psycopg.pq import Format

    class BinaryCursor(Cursor[Any]):
        def __init__(self, connection: Any, *, row_factory: Any = None) -> None:
            super().__init__(connection, row_factory=row_factory)
            self.format = Format.BINARY

    return BinaryCursor


def lock_for_write(session: Session) -> None:
    """Make ``session``'s unit of work a writer now, before it reads what it will change.

    PostgreSQL: nothing to do here (the caller's ``SELECT … FOR UPDATE`` takes row locks).
    SQLite: pending changes are flushed; if no transaction is open yet, ``BEGIN IMMEDIATE``
    takes the write lock (waiting up to the busy timeout) and everything the session loaded
    before is expired, to be read again under the lock.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    session.flush()
    connection = session.connection()
    if connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        return  # a writer already (it has written, or locked before)
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    session.expire_all()


def is_busy(exc: DBAPIError) -> bool:
    """A lock the database could not grant in time: SQLite's busy timeout, PostgreSQL's lock
    timeout, a deadlock or a serialization failure. The request may simply be sent again."""
    if getattr(exc.orig, "sqlstate", None) in ("55P03", "40P01", "40001"):
        return True
    return isinstance(exc, OperationalError) and any(
        text in str(exc.orig) for text in ("database is locked", "database table is locked", "database is busy"))


def is_unreachable(exc: DBAPIError) -> bool:
    """The database is away (restarting, down, unreachable): a connection failed or was cut, or the
    server is shutting down. The request may be sent again once it is back."""
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return bool(state.startswith("08") or state in ("57P01", "57P02", "57P03"))
    # psycopg's "connection failed"/"server closed the connection", SQLite's "unable to open"
    return isinstance(exc, (OperationalError, InterfaceError)) and not is_busy(exc)


def retried(read: Callable[[], T]) -> T:
    """``read()``, run once more if it failed on a connection the database had cut since it was
    pooled (see :attr:`Database.reader`); a database that is still away fails the second run
    too, and that error is raised. Only for reads: running one twice changes nothing."""
    try:
        return read()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.info("a pooled connection was cut (database restarted?): reading again on a new one")
    return read()


class Prepared:
    """A read-only SELECT run without SQLAlchemy's execution machinery: for the one-statement
    requests that are mostly that machinery (an OAI GetRecord or Identify on PostgreSQL: about
    90 µs of the statement's 200, its round trip included; measured in-process).

    The statement is compiled once per dialect; values are bound and results converted by the
    statement's own column types (a :class:`UTCDateTime` binds naive UTC and reads back aware).
    The rows are named tuples with the statement's column keys.

    :meth:`sent` sends the statement and leaves its rows to be read later: on PostgreSQL the
    database works on it while the caller does something else (an OAI request makes its
    envelope), so the round trip costs the request only what is left of it. With PostgreSQL on a
    core of its own (its own host, or a larger machine) that took 60-85 µs off an OAI GetRecord or
    Identify of about 1 ms, measured end to end; where the scheduler runs the database's process
    on the server's own core (the 2-core bench machine, most of the time) it starts only when the
    server waits, and nothing is gained or lost. There the statement runs as a prepared statement
    of its own on libpq's asynchronous API (psycopg's ``pgconn``, values dumped and rows loaded by
    psycopg's own adapters); on SQLite, on the driver's cursor, at once (no round trip to save).

    What the fast path leaves out is kept by falling back to :meth:`sa.Connection.execute` with
    the same statement and values:

    * on any error of the driver: the statement is run again the ordinary way (a read, so running
      it twice changes nothing), which meets the same failure and handles it as every statement
      does. A connection the database cut is then seen as such, invalidated with its pool's older
      connections, and raised as a :class:`DBAPIError` with ``connection_invalidated`` (so that
      :func:`retried` reads again on a new connection). Should the ordinary way succeed where
      this one failed, a warning says so (the statement is prepared again next time);
    * when any connection event listener is registered (a tracer, a test watching the SQL
      issued): such a listener may need SQLAlchemy's execution context, so the ordinary path runs.

    A statement with an expanding parameter (``column.in_([...])``, rendered anew at each
    execution) is refused when made (``ValueError``).
    """

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: sa.Select[Any]) -> None:
        if statement.compile().post_compile_params:
            # an IN list (expanding parameter) is rendered anew at each execution: not prepared once
            raise ValueError("Prepared cannot run a statement with an expanding parameter (IN list)")
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def all(self, connection: sa.Connection, values: dict[str, Any]) -> Sequence[Any]:
        with self.sent(connection, values) as answer:
            return answer.rows()

    def scalar(self, connection: sa.Connection, values: dict[str, Any] | None = None) -> Any:
        with self.sent(connection, values or {}) as answer:
            return answer.scalar()

    def ready(self, connection: sa.Connection, rows: Sequence[Any]) -> "Answer":
        """An answer of rows known already (remembered by the caller): nothing is sent."""
        return Answer(self, connection, {}, rows=rows)

    def sent(self, connection: sa.Connection, values: dict[str, Any]) -> "Answer":
        """The statement, sent: read its rows with ``rows()`` inside ``with``. Until then the
        connection runs nothing else; rows not read by the end of the block are read and dropped
        there, so the connection is left ready whatever happened in between."""
        if connection._has_events or connection.engine._has_events:  # as SQLAlchemy itself decides
            return Answer(self, connection, values, rows=connection.execute(self.statement, values).all())
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        pooled = connection.connection
        raw = pooled.dbapi_connection
        answer = Answer(self, connection, values, compiled)
        try:
            if compiled.numbered:  # psycopg: sent now, read in Answer.rows()
                answer.pgconn = _send(pooled.info, raw, compiled, values)
            else:
                cursor = pooled.info.get(_CURSOR)
                if cursor is None:
                    cursor = pooled.info[_CURSOR] = raw.cursor()  # type: ignore[union-attr]
                cursor.execute(compiled.sql, compiled.parameters(values))
                answer.received(cursor.fetchall())
        except dialect.loaded_dbapi.Error as exc:
            answer.failed(exc)
        return answer

    def _compile(self, dialect: sa.Dialect) -> "_Compiled":
        compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return compiled


class Answer:
    """The rows of a :class:`Prepared` statement sent (:meth:`Prepared.sent`), read by :meth:`rows`."""

    __slots__ = ("_prepared", "_connection", "_values", "_compiled", "_rows", "pgconn")

    def __init__(self, prepared: Prepared, connection: sa.Connection, values: dict[str, Any],
                 compiled: "_Compiled | None" = None, rows: Sequence[Any] | None = None) -> None:
        self._prepared, self._connection, self._values = prepared, connection, values
        self._compiled, self._rows = compiled, rows
        self.pgconn: Any = None  # while the rows are on their way (PostgreSQL)

    def __enter__(self) -> "Answer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pgconn is not None:  # sent and not read: read (and drop) them, so the connection is ready
            pgconn, self.pgconn = self.pgconn, None
            try:
                _results(pgconn)
            except Exception:  # a broken connection: its next statement meets it and invalidates it
                log.debug("rows of a prepared read left unread could not be read", exc_info=True)

    def rows(self) -> Sequence[Any]:
        if self.pgconn is not None:
            pgconn, self.pgconn = self.pgconn, None
            try:
                self.received(_received(pgconn, self._connection.connection.info))
            except self._connection.dialect.loaded_dbapi.Error as exc:
                self.failed(exc)
        assert self._rows is not None
        return self._rows

    def scalar(self) -> Any:
        """The first column of the first row (``None`` without rows)."""
        rows = self.rows()
        return rows[0][0] if rows else None

    def received(self, rows: list[Any]) -> None:
        assert self._compiled is not None
        self._rows = self._compiled.rows(rows)

    def failed(self, exc: Exception) -> None:
        """The fast path failed with ``exc``: the rows are read the ordinary way (a cut connection raises there)."""
        info = self._connection.connection.info
        info.pop(_CURSOR, None)  # made again next time
        info.pop(_PREPARED, None)  # prepared again next time, under new names
        self._rows = self._connection.execute(self._prepared.statement, self._values).all()
        log.warning("a prepared read failed where the ordinary one did not: %s", exc)


_CURSOR = "repo.db.cursor"  # a pooled connection's kept cursor (Prepared, SQLite)
_PREPARED = "repo.db.prepared"  # a pooled connection's prepared statements' names (Prepared, PostgreSQL)
_TRANSFORMER = "repo.db.transformer"  # and its psycopg adapters (values dumped, rows loaded)
_NAMES = itertools.count(1)


@cache
def _psycopg() -> Any:
    """psycopg's parts the prepared reads use (imported once, when first needed: SQLite needs none)."""
    import types

    import psycopg
    from psycopg import pq
    from psycopg.adapt import PyFormat, Transformer

    return types.SimpleNamespace(OperationalError=psycopg.OperationalError, Transformer=Transformer,
                                 TEXT=PyFormat.TEXT, BINARY=pq.Format.BINARY, COMMAND_OK=pq.ExecStatus.COMMAND_OK,
                                 TUPLES_OK=pq.ExecStatus.TUPLES_OK)


def _send(info: dict[Any, Any], raw: Any, compiled: "_Compiled", values: dict[str, Any]) -> Any:
    """Send ``compiled`` with ``values`` on the psycopg connection ``raw`` (libpq's asynchronous
    API: it returns once the message is written), preparing it first on this connection."""
    psycopg = _psycopg()
    pgconn = raw.pgconn
    names = info.get(_PREPARED)
    if names is None:
        names = info[_PREPARED] = {}
        info[_TRANSFORMER] = psycopg.Transformer(raw)
    name = names.get(compiled)
    if name is None:
        name = f"repo_{next(_NAMES)}".encode()
        pgconn.send_prepare(name, compiled.numbered)  # parameter types: the casts in the SQL
        _flush(pgconn)
        _check(_results(pgconn), psycopg.COMMAND_OK)
        names[compiled] = name
    parameters = compiled.parameters(values)
    dumped = info[_TRANSFORMER].dump_sequence(parameters, compiled.formats)
    pgconn.send_query_prepared(name, dumped, result_format=psycopg.BINARY)
    _flush(pgconn)
    return pgconn


def _received(pgconn: Any, info: dict[Any, Any]) -> list[Any]:
    """The rows of the statement sent on ``pgconn`` (:func:`_send`), waited for and loaded."""
    result = _check(_results(pgconn), _psycopg().TUPLES_OK)
    transformer = info[_TRANSFORMER]
    transformer.set_pgresult(result)
    rows: list[Any] = transformer.load_rows(0, result.ntuples, tuple)
    return rows


def _flush(pgconn: Any) -> None:
    while pgconn.flush():  # the connection is non-blocking: what the socket did not take yet
        _wait(pgconn.socket, select.POLLOUT)


def _results(pgconn: Any) -> list[Any]:
    """Every result of the command sent on ``pgconn``, waited for."""
    results = []
    while True:
        while pgconn.is_busy():  # the answer is not all here: wait for more of it
            _wait(pgconn.socket, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return results
        results.append(result)


def _wait(fd: int, events: int) -> None:
    poller = select.poll()
    poller.register(fd, events)
    poller.poll()


def _check(results: list[Any], status: Any) -> Any:
    """The one result of a command, if it has ``status``; else the driver's error, with the database's message."""
    if len(results) == 1 and results[0].status == status:
        return results[0]
    messages = [result.error_message.decode("utf-8", "replace") for result in results if result.error_message]
    raise _psycopg().OperationalError("; ".join(messages) or f"unexpected results: {[r.status for r in results]}")


class _Compiled:
    """A :class:`Prepared` statement's SQL for one dialect, its parameters' and columns' conversions."""

    def __init__(self, statement: sa.Select[Any], dialect: sa.Dialect) -> None:
        from collections import namedtuple

        # psycopg: the statement goes to libpq with $1, $2… (its own parameters, in their order)
        numbered = dialect.driver == "psycopg"
        compiled = statement.compile(dialect=type(dialect)(paramstyle="numeric_dollar") if numbered else dialect)
        self.sql = compiled.string
        self.numbered = self.sql.encode() if numbered else b""
        self._positions = compiled.positiontup if compiled.positional else None
        # psycopg: every value dumped as text (the casts in the SQL give the types)
        self.formats = [_psycopg().TEXT] * len(self._positions or ()) if numbered else []
        # (name in the SQL, key in the values, value when not given, conversion)
        self._binds = [(name, bind.key, None if bind.required else bind.effective_value,
                        bind.type.dialect_impl(dialect).bind_processor(dialect))
                       for bind, name in compiled.bind_names.items()]
        columns = list(statement.selected_columns)
        self._results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self._convert = any(process is not None for process in self._results)
        self._row = namedtuple("Row", statement.selected_columns.keys(), rename=True)  # type: ignore[misc]

    def parameters(self, values: dict[str, Any]) -> Any:
        bound = {}
        for name, key, default, process in self._binds:
            value = values[key] if key in values else default
            bound[name] = value if process is None else process(value)
        return bound if self._positions is None else tuple(bound[name] for name in self._positions)

    def rows(self, rows: list[Any]) -> list[Any]:
        row = self._row._make
        if not self._convert:
            return [row(values) for values in rows]
        results = self._results
        return [row([value if process is None or value is None else process(value)
                     for process, value in zip(results, values)]) for values in rows]


def is_unique_violation(exc: DBAPIError) -> bool:
    """Two writers created the same unique thing (a slug, a name); the later one lost."""
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def _mark_written(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


def _mark_dml(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def wrote(session: Session) -> bool:
    """Whether ``session`` flushed or executed a change (so its commit is news for the worker)."""
    return bool(session.info.get(_WROTE))


def after_commit(session: Session, follow_up: Callable[[Session], None]) -> None:
    """Run ``follow_up`` in a new unit of work once ``session``'s unit of work has committed
    (never if it rolls back). For what must happen *after* the change is visible to others."""
    session.info.setdefault(_AFTER_COMMIT, []).append(follow_up)


def insert_many(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys, named by column) into ``table`` in one executemany,
    as ``session.execute(sa.insert(table), rows)`` would, for about half its cost per row (batch
    writes: an import or a harvest inserts a page of works, revisions, outbox rows… at a time).

    Each value is put in the driver's form by its column type's own bind processor, once per
    distinct value (the rows of a batch share their times); JSON documents are serialised by
    pydantic-core's encoder (several times quicker than the json module's; on PostgreSQL handed
    over as psycopg's ``Jsonb``, as SQLAlchemy does); and the statement names a lightweight table
    of untyped columns, so SQLAlchemy does not process the values again row by row. No ORM
    events run (as with any bulk insert)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    names = list(rows[0])
    converters = [(name, _converter(table.c[name].type, dialect)) for name in names]
    plain = sa.table(table.name, *(sa.column(name) for name in names))
    session.execute(sa.insert(plain), [
        {name: row[name] if convert is None else convert(row[name]) for name, convert in converters} for row in rows])


def _converter(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    if isinstance(type_.dialect_impl(dialect), sa.JSON):
        if dialect.name == "postgresql":
            from psycopg.types.json import Jsonb

            return lambda value: Jsonb(value, dumps=_json_text)
        return _json_text
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    done: dict[Any, Any] = {}

    def once(value: Any) -> Any:
        try:
            return done[value]
        except KeyError:
            result = done[value] = process(value)
            return result
        except TypeError:  # unhashable
            return process(value)
    return once


def _json_text(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work; use with ``Depends(get_session, scope="function")``."""
    database: Database = request.app.state.db
    with database.session() as session:
        yield session
    if wrote(session):  # a read-only request wakes nobody
        for callback in getattr(request.app.state, "on_commit", ()):
            callback()  # wake the worker's jobs: e.g. the indexer drains the outbox this commit wrote


# -- migrations ---------------------------------------------------------------------------------

def migrations_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "_migrations"
    return packaged if packaged.is_dir() else here.parents[1] / "migrations"


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
