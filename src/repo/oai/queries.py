"""The queries that find OAI records: the keyset list query, the embargo probe, identifiers.

OAI-PMH is served from SQL, never from the search index, so a lagging index cannot make a
harvester miss a record. None of this shapes a record's bytes (that is :mod:`repo.oai.records`),
so changing it leaves stored records fresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache, partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

from repo.config import Settings
from repo.db import Answer, Prepared, UTCDateTime
from repo.files.models import File
from repo.oai import cache as cache_module
from repo.oai.models import CachedRecord, Generation
from repo.oai.records import HEADER_COLUMNS
from repo.works import visibility
from repo.works.models import Work
from repo.works.vocabularies import Status


def id_from_identifier(settings: Settings, identifier: str) -> int | None:
    """The work id an ``oai:<repositoryIdentifier>:<id>`` identifier names, if it is one."""
    prefix = f"oai:{settings.oai_repository_identifier}:"
    local = identifier[len(prefix):] if identifier.startswith(prefix) else ""
    if not (local.isascii() and local.isdigit()) or local.startswith("0") or len(local) > 19:
        return None
    value = int(local)
    return value if value < 2**63 else None  # work ids are 64-bit (migration 0901)


class not_indexed(sa.sql.expression.ColumnElement[bool]):  # noqa: N801 (reads like a function)
    """A filter the SQLite planner must not drive the query with.

    Without statistics SQLite prefers an equality index (``ix_works_status``, ``ix_works_centre_id``)
    and then sorts the whole match for ``ORDER BY datestamp, id LIMIT n`` — a cost that grows with
    the repository. Rendered as ``+(…)`` on SQLite (the documented way to disqualify a term from
    index use), the filter is checked row by row along ``ix_works_datestamp_id_status_version``
    instead (from the index alone: it holds the status), so every page is a short range scan.
    PostgreSQL plans from statistics and gets the plain condition.
    """

    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [("clause", InternalTraversal.dp_clauseelement)]

    def __init__(self, clause: sa.ColumnElement[bool]) -> None:
        self.clause = clause


@compiles(not_indexed)
def _plain(element: not_indexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clause, **kw))


@compiles(not_indexed, "sqlite")
def _unary_plus(element: not_indexed, compiler: Any, **kw: Any) -> str:
    return f"+({compiler.process(element.clause, **kw)})"


def in_range(lower: datetime | None, upper: datetime) -> sa.ColumnElement[bool]:
    """Datestamps within ``[lower, upper]`` (§2.7.1: both bounds inclusive)."""
    if lower is None:
        return Work.datestamp <= upper
    return sa.and_(Work.datestamp >= lower, Work.datestamp <= upper)


def _due() -> sa.ColumnElement[bool]:
    # Aliases: inside a query over works the probe must not be correlated with the outer row.
    works, files = sa.orm.aliased(Work, name="due_works"), sa.orm.aliased(File, name="due_files")
    today = sa.bindparam("today", type_=sa.Date)
    return sa.or_(sa.exists().where(works.embargo_pending.is_(True), works.embargo_end <= today),
                  sa.exists().where(files.embargo_pending.is_(True), files.embargo_end <= today)).label("due")


#: Whether an embargo (a work's, or a file's own) ended by ``today`` and is not lifted yet: two
#: index probes, uncorrelated, so that a query may carry it as a column at no extra round trip
#: (:meth:`repo.oai.service.Provider.lifted`).
DUE = _due()

#: The record generation (:class:`repo.oai.models.Generation`) as the query saw it: a column of a
#: list page's first query, beside :data:`DUE`, so that the page and the number are of one
#: snapshot (:mod:`repo.oai.readahead`).
GENERATION = sa.select(Generation.value).where(Generation.id == 1).scalar_subquery().label("generation")


# The datestamp as the driver returns it (text on SQLite, a naive datetime on PostgreSQL): only the
# last row's is ever needed (the resume point), so the others are not converted.
_RAW_DATESTAMP = sa.type_coerce(Work.datestamp, sa.String).label("raw_datestamp")


def instant(raw: Any) -> datetime:
    """A :data:`_RAW_DATESTAMP` value as an aware UTC datetime."""
    value = datetime.fromisoformat(raw) if raw.__class__ is str else raw
    return value.replace(tzinfo=UTC)


#: Columns that lead an index ``(column, datestamp, id)`` (migration 1002): a list whose records
#: all have one value of such a column (a journal's, a centre's or a type's set; a format's types)
#: walks that index, so that it reads its own records, not the rest of the repository.
DRIVING_COLUMNS = ("issn_l", "type", "centre_id")
#: The driver of the works in a journal (``issn_l`` set): the partial index
#: ``ix_works_in_journal_datestamp_id_status_type_version_issn_l`` (migrations 1002, 1801), for the
#: formats that need one (JATS); it covers the walk.
IN_JOURNAL = "in_journal"


@dataclass(frozen=True, eq=False)
class Membership:
    """Which works are records of a list, datestamps aside (``condition``), and how the keyset
    walk finds them: along ``ix_works_datestamp_id_status_version`` when ``driver`` is ``None``;
    along the index ``(driver, datestamp, id)`` once per value in ``values``, the walks merged;
    or, for :data:`IN_JOURNAL`, along the datestamp index of the works in a journal.

    Walking the datestamp index visits every work and keeps those in the list: a page of a list
    holding a fraction *f* of the works reads about 1/*f* rows per record (a format for articles
    only, a journal's set of ten works: the whole table for one page). Walking the driver's index
    reads only the rows of its values. ``condition`` need not repeat what the driver implies.
    One object per list (compared by identity): the list's query is built once per shape
    (:func:`keyset`).
    """

    condition: sa.ColumnElement[bool]
    driver: str | None = None
    values: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.driver in (None, IN_JOURNAL):
            assert not self.values
        else:
            assert self.driver in DRIVING_COLUMNS and self.values


def equality(condition: sa.ColumnElement[bool] | None) -> tuple[str, Any] | None:
    """``(column, value)`` when ``condition`` is ``Work.<column> == value`` on a driving column."""
    if not isinstance(condition, sa.BinaryExpression) or condition.operator is not sa.sql.operators.eq:
        return None
    column, value = condition.left, condition.right
    if (getattr(column, "table", None) is not Work.__table__ or column.key not in DRIVING_COLUMNS
            or not isinstance(value, sa.BindParameter) or value.value is None):
        return None
    return column.key, value.value


def _walk(membership: Membership, columns: Sequence[Any], value: Any, lower: bool, after: bool,
          ordered: bool) -> Any:
    """One keyset walk: the list's rows from ``after`` in ``(datestamp, id)`` order, up to ``limit``."""
    at = partial(sa.bindparam, type_=UTCDateTime())
    query = sa.select(*columns).where(not_indexed(membership.condition), Work.datestamp <= at("upper"))
    if membership.driver == IN_JOURNAL:
        query = query.where(Work.issn_l.is_not(None))  # plain: it selects the partial index
    elif membership.driver is not None:
        # plain (indexable): the driving term
        query = query.where(getattr(Work, membership.driver) == sa.literal(value))
    if lower:
        query = query.where(Work.datestamp >= at("lower"))
    if after:
        # A row-value comparison: both SQLite and PostgreSQL seek the index with it (the expanded
        # ``a > x OR (a = x AND b > y)`` form makes SQLite merge two scans and sort).
        query = query.where(sa.tuple_(Work.datestamp, Work.id) > sa.tuple_(at("after_at"), sa.bindparam("after_id")))
    return query.order_by(Work.datestamp, Work.id).limit(sa.bindparam("limit")) if ordered else query


@lru_cache(maxsize=512)
def _keyset_query(membership: Membership, lower: bool, after: bool, stored: bool, probe: bool) -> Any:
    """The keyset query of a list, built once per shape (values are bound at execution)."""
    at = partial(sa.bindparam, type_=UTCDateTime())
    due = (DUE, GENERATION) if probe else ()
    if stored:
        columns: tuple[Any, ...] = (Work.id, _RAW_DATESTAMP, CachedRecord.xml.label("stored"), *due)
    else:
        columns = (*HEADER_COLUMNS, *due)
    if len(membership.values) > 1:
        # One walk per value, each at most a page long, merged: the page is the first ``limit``
        # of their union (every walk is a range seek of its own index).
        walks = [_walk(membership, (Work.id.label("id"), Work.datestamp.label("at")), value, lower, after,
                       True).subquery() for value in membership.values]
        merged = sa.union_all(*(sa.select(walk.c.id, walk.c.at) for walk in walks)).subquery("merged")
        # the page's keys first, then their rows and stored bytes (a LIMIT keeps SQLite from
        # pushing the joins into every walk: each would read a page of bytes)
        keys = (sa.select(merged.c.id).order_by(merged.c.at, merged.c.id).limit(sa.bindparam("limit"))
                .subquery("keys"))
        query = sa.select(*columns).select_from(keys).join(Work, Work.id == keys.c.id)
    else:
        value = membership.values[0] if membership.values else None
        query = _walk(membership, columns, value, lower, after, False).select_from(Work)
    if stored:
        query = query.outerjoin(CachedRecord, cache_module.fresh(sa.bindparam("prefix"), sa.bindparam("variant"),
                                                                 at("now")))
    return query.order_by(Work.datestamp, Work.id).limit(sa.bindparam("limit"))


def keyset(
    connection: Session | sa.Connection,
    membership: Membership,
    lower: datetime | None,
    upper: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
    *,
    stored: tuple[str, str, datetime] | None = None,
    today: date | None = None,
    probe: bool = False,
) -> Sequence[sa.Row[Any]]:
    """Up to ``limit`` records after ``after`` in ``(datestamp, id)`` order: a range scan on
    ``ix_works_datestamp_id_status_version``, or on the membership's driving index, whatever the
    depth (never OFFSET).

    Without ``stored``: the header columns (:func:`load` makes records of them). With ``stored``
    (prefix, variant, now): ``id``, ``raw_datestamp`` (:func:`instant`) and ``stored``, the bytes of
    the record's fresh stored entry or ``None`` (then :func:`get_many` loads it to render it).
    ``membership`` must be the same object for the same list (the query is built once per shape);
    ``today`` is the value of the ``today`` parameter of the open sets' condition and of ``probe``:
    with it each row also has ``due`` (:data:`DUE`) and ``generation`` (:data:`GENERATION`).
    """
    values: dict[str, Any] = {"upper": upper, "limit": limit, "today": today or upper.date()}
    if lower is not None:
        values["lower"] = lower
    if after is not None:
        values["after_at"], values["after_id"] = after
    if stored is not None:
        values["prefix"], values["variant"], values["now"] = stored
    query = _keyset_query(membership, lower is not None, after is not None, stored is not None, probe)
    return connection.execute(query, values).all()


def _earliest() -> Any:
    # min() over an IN list scans the index; one min() per status is one lookup each.
    parts = sa.union_all(*(sa.select(sa.func.min(Work.datestamp).label("at")).where(Work.status == status)
                           for status in (Status.published, Status.withdrawn))).subquery()
    return sa.select(sa.func.min(parts.c.at))


_EARLIEST = Prepared(_earliest())
# PostgreSQL: one walk of the datestamp index, from its start, to the first record. The index
# carries status (ix_works_datestamp_id_status_version, migration 1702), so the walk reads no
# row, and drafts (the only works that are no records) carry no datestamp until published, so
# the first entry is a record: 19 µs of execution against the union's 53 (generic plans, 100k
# works). Were there drafts with earlier datestamps (set by hand), it would read past them: the
# value stays exact. SQLite's planner would rather scan the (status, datestamp) index for the IN.
_EARLIEST_WALK = Prepared(sa.select(sa.func.min(Work.datestamp)).where(visibility.public_or_tombstone()))


def _earliest_for(connection: sa.Connection) -> Prepared:
    return _EARLIEST_WALK if connection.dialect.name == "postgresql" else _EARLIEST


def earliest_datestamp(connection: sa.Connection) -> datetime | None:
    """The earliest datestamp of any record (published or withdrawn work)."""
    return _earliest_for(connection).scalar(connection)  # type: ignore[no-any-return]


_EARLIEST_SEEN = "repo.oai.earliest"  # key of the remembered value in a SQLite connection's info


def current_earliest_datestamp(connection: sa.Connection) -> Answer:
    """:func:`earliest_datestamp`, as of now: an answer whose ``scalar()`` is the value.

    On PostgreSQL the query is sent and read when asked (:meth:`repo.db.Prepared.sent`: the
    request makes its envelope meanwhile). On SQLite each connection remembers the value with what
    the database's state was when it was read: ``PRAGMA data_version`` (it changes whenever
    *another* connection, of this process or any other, commits) and the connection's own
    ``total_changes`` (rows it wrote itself). While both are unchanged nothing was committed since,
    so the value holds; the check costs a few microseconds, the query and its statement machinery
    some eighty. The state is read before the value, so a commit between the two only makes the
    next request read again. (On PostgreSQL no such check costs less than the query: both are a
    round trip.)
    """
    if connection.dialect.name != "sqlite":
        return _earliest_for(connection).sent(connection, {})
    pooled = connection.connection
    raw = pooled.dbapi_connection
    # fetchall: the statement runs to its end (no read left open on the kept connection)
    state = (raw.execute("PRAGMA data_version").fetchall()[0][0], raw.total_changes)  # type: ignore[union-attr]
    seen = pooled.info.get(_EARLIEST_SEEN)
    if seen is not None and seen[0] == state:
        return _EARLIEST.ready(connection, [(seen[1],)])
    answer = _EARLIEST.sent(connection, {})  # SQLite: read at once
    pooled.info[_EARLIEST_SEEN] = (state, answer.scalar())
    return answer
