"""The OAI-PMH data provider: dispatches a parsed request to its verb and shapes the reply.

Verbs never see HTTP: they get a :class:`Provider` (database, settings, clock, token codec) and
their validated arguments, and return a :class:`Reply` whose items the envelope serializes; an
:class:`OAIError` raised anywhere before the first byte becomes an error reply (HTTP 200, §3.6).

**Requests write nothing** in the common case. The one thing a read could find undone is an
embargo that ended a moment ago and that no background run has lifted yet (the lift gives the
work the datestamp of that moment, so that an incremental harvest from before it returns the
record). A request that shows records therefore takes the response's moment and reads with a
probe of two indexes for an embargo that ended by then and is not lifted yet (a column of its
query: :meth:`Provider.lifted`); only in that rare case it lifts it (and commits) and reads
again: every record a response shows is as of its responseDate, datestamp included. Record bytes
stored earlier cannot show an embargo as running after its end either: they are only trusted
until then (``valid_until``, :mod:`repo.oai.cache`).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from lxml import etree

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database, retried
from repo.oai import arguments, envelope, queries
from repo.oai.errors import OAIError
from repo.oai.readahead import ReadAhead
from repo.oai.tokens import TokenCodec
from repo.works.service import lift_embargoes

MEDIA_TYPE = "text/xml; charset=UTF-8"  # §3.1.2.1

_DUE = sa.select(queries.DUE)
_ON_LOOP: ContextVar[bool] = ContextVar("oai_on_loop", default=False)
_AHEAD: ContextVar[bool] = ContextVar("oai_ahead", default=False)


class Deferred(Exception):
    """A request answered on the event loop (:func:`on_loop`) would have to write: the endpoint
    answers it in a worker thread instead (a page made ahead, :func:`ahead`, is not made)."""


class on_loop:  # noqa: N801 (used as a function: ``with on_loop():``)
    """The reads inside run on the event loop: a write is refused (:class:`Deferred`). (A class,
    not a generator: it is entered on every one-row OAI-PMH request.)"""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _ON_LOOP.set(True)

    def __exit__(self, *exc_info: object) -> None:
        _ON_LOOP.reset(self._token)


@contextmanager
def ahead() -> Iterator[None]:
    """The reads inside make a list page before it is asked for (:mod:`repo.oai.readahead`): a
    write is refused (:class:`Deferred`: the page is then not made ahead), and its records are
    counted as served only when the page is (:func:`counted`)."""
    made_ahead = _AHEAD.set(True)
    try:
        yield
    finally:
        _AHEAD.reset(made_ahead)


def counted() -> bool:
    """Whether the records read now are served now (not made ahead: :func:`ahead`)."""
    return not _AHEAD.get()


class LoopConnection:
    """The reader connection of the reads answered on the event loop (:func:`on_loop`), kept
    checked out between requests.

    Such reads run one at a time, each from its first statement to its last without yielding to
    the loop, so one connection serves them all; taking one from the pool and giving it back
    (reset included) cost more than running a GetRecord's statement on it (about 35 µs against 25
    on SQLite, measured). Each statement still reads what is committed when it runs: on PostgreSQL
    the reader is in autocommit; on SQLite a read opens no transaction (pysqlite begins one only
    before a write, and nothing writes on this connection). On another thread than the one that
    made it, a read takes a connection from the pool as before. Dropped after a database error (a
    cut connection: :func:`repo.db.retried` then reads again on a new one); closed with the
    provider (:meth:`Provider.close`, at the application's end). No engine event watches for the
    disposal: any listener of the engine's connection events makes every statement dispatch its
    events (7 µs, measured).
    """

    def __init__(self) -> None:
        self._connection: sa.Connection | None = None
        self._thread = 0

    def connection(self, db: Database) -> sa.Connection | None:
        """The kept connection (made on first use), or ``None`` on another thread than its own."""
        if self._connection is None:
            self._connection = db.reader.connect()
            self._thread = threading.get_ident()
        elif self._thread != threading.get_ident():
            return None
        return self._connection

    def drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


@dataclass(frozen=True, eq=False)
class Provider:
    db: Database
    settings: Settings
    clock: Clock
    tokens: TokenCodec
    pages: ReadAhead  # list pages made ahead (when settings.oai_read_ahead)
    loop_reads: LoopConnection = field(default_factory=LoopConnection)

    @classmethod
    def of(cls, state: Any) -> "Provider":
        """The provider of an application (``app.state``), built once and kept there."""
        provider = getattr(state, "oai_provider", None)
        if provider is None or provider.db is not state.db:
            settings: Settings = state.settings
            provider = cls(state.db, settings, state.clock,
                           TokenCodec(settings.secret, settings.oai_token_ttl_seconds),
                           ReadAhead())
            state.oai_provider = provider
        return provider

    def close(self) -> None:
        """End the provider's own reads: the page being made ahead, the kept loop connection."""
        self.pages.close()
        self.loop_reads.drop()

    def now(self) -> datetime:
        return self.clock.now()

    def read(self) -> "contextlib.AbstractContextManager[sa.Connection]":
        """A connection for the reads of one request: no ORM session (nothing to flush), each
        statement reading what is committed when it runs, from :attr:`repo.db.Database.reader`
        (on PostgreSQL: autocommit, no pre-ping). A read that meets a connection the database cut
        since it was pooled (a restart) is run again by :func:`respond` (or, for the later chunks
        of a page, by :func:`repo.db.retried`)."""
        held = self.loop_reads.connection(self.db) if _ON_LOOP.get() else None
        if held is None:
            return self.db.reader.connect()  # given back to the pool at the end of the block
        return _Held(self.loop_reads, held)

    @property
    def base_url(self) -> str:
        """The endpoint's own URL, as ``<request>`` gives it (§3.2)."""
        return self.settings.base_url + "/oai"

    def envelope(self, response_date: datetime, echo: dict[str, str] | None, verb: str | None) -> tuple[bytes, bytes]:
        """The envelope of a reply (its date, arguments and verb as :class:`Reply` has them), made
        ahead (:attr:`Reply.around`): while the database answers the verb's query
        (:meth:`repo.db.Prepared.sent`), so that the round trip costs the request only what is left
        of it. The bytes before the items and after them, the same as
        :func:`repo.oai.envelope.render` makes (:class:`_Envelopes`)."""
        return _ENVELOPES.around(self.base_url, response_date, echo, verb)

    def lifted(self, connection: sa.Connection, now: datetime, read: Callable[[], Sequence[Any]],
               rows: Sequence[Any] | None = None) -> Sequence[Any]:
        """What ``read`` returns once every embargo ended by ``now`` is lifted (``rows``: what it
        returned already, when the caller read them ahead of the call).

        ``read`` runs a query whose rows carry :data:`repo.oai.queries.DUE` (bound to ``now``'s
        day), so the probe costs no round trip of its own; only when it answers no row does the
        probe run alone. If an embargo is due (rarely: the background lifts them every minute), it
        is lifted in a unit of work of its own and ``read`` runs again.
        """
        if rows is None:
            rows = read()
        if rows[0].due if rows else due(connection, now.date()):
            if _ON_LOOP.get() or _AHEAD.get():
                raise Deferred  # the loop never waits for a write, and a page made ahead writes nothing
            with self.db.session() as session:
                lift_embargoes(session, now)  # works' and files' own embargoes
            rows = read()
        return rows


class _Held:
    """The kept loop connection, for one request's reads (:meth:`Provider.read`): dropped if a
    read failed on it, so that the next starts afresh whatever the error left it in."""

    __slots__ = ("_reads", "_connection")

    def __init__(self, reads: LoopConnection, connection: sa.Connection) -> None:
        self._reads, self._connection = reads, connection

    def __enter__(self) -> sa.Connection:
        return self._connection

    def __exit__(self, kind: type[BaseException] | None, *exc_info: object) -> None:
        if kind is not None and issubclass(kind, DBAPIError):
            self._reads.drop()


def due(connection: sa.Connection, today: date) -> bool:
    """Whether some embargo ended by ``today`` (00:00Z) and is not lifted yet."""
    return bool(connection.scalar(_DUE, {"today": today}))


class _Shape(NamedTuple):
    """An envelope's shape (:class:`_Envelopes`): its tree, and its bytes cut where the values go."""
    root: Any  # the tree, made by render (the escaping path)
    stamp: Any  # its <responseDate>
    request: Any  # its <request>
    pieces: list[bytes]  # the declaration and the envelope up to the items, cut at each value
    order: list[int]  # which value goes at each cut: 0 the date, 1… the arguments in echo's order
    after: bytes  # what follows the items


class _Envelopes(threading.local):
    """Envelopes made from pieces of bytes cut once per shape, one set per thread.

    :func:`repo.oai.envelope.render` builds each envelope's small tree anew (about three quarters
    of its 20 µs, measured). Here the tree of a shape (the base URL, the verb, the names of the
    arguments echoed) is made once, by ``render`` itself around a comment where the items go and
    parsed back, then serialized once more with a marker for the response date and for each
    argument's value and cut at the markers. A reply joins the pieces with its date (formatted
    once per second) and its values when none of them needs escaping (:data:`_PLAIN`: every
    identifier, prefix, date and token this service makes): 3.7 µs against 11 for filling in the
    tree and serializing it in-process, 30-40 µs less in a live server. Any other value (``<``,
    ``&``, quotes, controls, non-ASCII) is set in the tree and lxml serializes it, escaped as
    ``render``'s tree would be. Either way the bytes are ``render``'s.
    """

    def __init__(self) -> None:
        self.shapes: dict[tuple[str, tuple[str, ...], str | None], _Shape] = {}
        self.stamped: tuple[datetime, bytes] | None = None  # the last response date, formatted

    def around(self, base_url: str, response_date: datetime, echo: dict[str, str] | None,
               verb: str | None) -> tuple[bytes, bytes]:
        echo = echo or {}
        key = (base_url, tuple(echo), verb)
        shape = self.shapes.get(key)
        if shape is None:
            shape = self.shapes[key] = self._shape(base_url, response_date, echo, verb)
        values = echo.values()
        if all(map(_PLAIN.fullmatch, values)):
            stamped = self.stamped
            if stamped is None or stamped[0] != response_date:
                stamped = self.stamped = (response_date, envelope.datestamp(response_date).encode("ascii"))
            slots = [stamped[1], *(value.encode("ascii") for value in values)]
            parts = [shape.pieces[0]]
            for slot, piece in zip(shape.order, shape.pieces[1:]):
                parts += (slots[slot], piece)
            return b"".join(parts), shape.after
        shape.stamp.text = envelope.datestamp(response_date)
        for name, value in echo.items():
            shape.request.set(name, envelope.text(value))
        before, _, after = etree.tostring(shape.root, encoding="UTF-8").partition(_ITEMS)
        return envelope.DECLARATION + before, after

    @staticmethod
    def _shape(base_url: str, response_date: datetime, echo: dict[str, str], verb: str | None) -> _Shape:
        (whole,) = envelope.render(response_date=response_date, base_url=base_url, arguments=echo, verb=verb,
                                   items=[_ITEMS])
        root = etree.fromstring(whole)
        stamp, request = root.find(_RESPONSE_DATE), root.find(_REQUEST)
        stamp.text = _MARK % 0
        for slot, name in enumerate(echo, 1):
            request.set(name, _MARK % slot)
        cut = _CUT.split(etree.tostring(root, encoding="UTF-8"))
        pieces, order = cut[0::2], [int(slot) for slot in cut[1::2]]
        assert sorted(order) == list(range(len(echo) + 1)), "a marker of _Envelopes met in the envelope itself"
        pieces[0] = envelope.DECLARATION + pieces[0]
        pieces[-1], items, after = pieces[-1].partition(_ITEMS)  # the items come after <request>: in the last piece
        assert items, "the items' place is not after the last value"
        return _Shape(root, stamp, request, pieces, order, after)


_ITEMS = b"<!--items-->"  # where a reply's items go in an envelope tree (_Envelopes); escaped in any value
_MARK = "ENVELOPE-SLOT-6c1f-%d"  # where the date and each value go in a shape's pieces (_Envelopes)
_CUT = re.compile(rb"ENVELOPE-SLOT-6c1f-(\d+)")
# Values serialized as they are, in an attribute as in text: nothing lxml would escape or drop
_PLAIN = re.compile(r"[A-Za-z0-9_.:/+=~-]*")
_RESPONSE_DATE, _REQUEST = f"{{{envelope.OAI_NS}}}responseDate", f"{{{envelope.OAI_NS}}}request"
_ENVELOPES = _Envelopes()


@dataclass
class Reply:
    response_date: datetime
    arguments: dict[str, str] | None  # None: no attributes on <request> (badVerb, badArgument)
    verb: str | None  # None: the items go directly under <OAI-PMH> (errors, one-element verbs)
    items: Iterable[etree._Element | bytes]  # bytes: an element lxml serialized earlier (stored records)
    listing: Any = None  # a list's page (repo.oai.verbs.listing): once sent, its next token, for the read-ahead
    around: tuple[bytes, bytes] | None = None  # the envelope, made ahead (Provider.envelope)

    def body(self, base_url: str) -> Iterator[bytes]:
        whole = self.whole()
        if whole is None:
            return envelope.render(response_date=self.response_date, base_url=base_url,
                                   arguments=self.arguments, verb=self.verb, items=self.items)
        return iter((whole,))

    def whole(self) -> bytes | None:
        """The whole body at once, when the envelope was made ahead (one record, one Identify)."""
        if self.around is None:
            return None
        items = [item if item.__class__ is bytes else etree.tostring(item, encoding="UTF-8") for item in self.items]
        return b"".join([self.around[0], *items, self.around[1]])  # type: ignore[list-item]


def error_reply(provider: Provider, exc: OAIError, echo: dict[str, str] | None) -> Reply:
    return Reply(provider.now(), echo if exc.echo_arguments else None, None,
                 [envelope.error(exc.code, exc.message)])


def respond(provider: Provider, pairs: list[tuple[str, str]] | None) -> Reply:
    """The reply to one OAI-PMH request given as its raw ``(key, value)`` pairs (``None``: a
    request too large to read, answered with badArgument)."""
    from repo.oai.verbs import HANDLERS

    echo: dict[str, str] | None = None
    try:
        request = arguments.parse(pairs)
        echo = request.echo
        handler: Callable[[Provider, arguments.ParsedRequest], Reply] = HANDLERS[request.verb]
        return retried(lambda: handler(provider, request))  # a read: run again once on a cut connection
    except OAIError as exc:
        return error_reply(provider, exc, echo)
