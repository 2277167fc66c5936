"""ListIdentifiers and ListRecords (OAI-PMH §4.3, §4.5): selective harvesting with keyset paging.

The first page freezes ``until`` at its responseDate and fetches the first chunk before answering
(an empty list is noRecordsMatch, never an empty element: the XSD needs one item). The rest of the
page is fetched in chunks by the response generator, each chunk on a connection of its own, and
serialized item by item, so memory stays flat whatever the page size or the repository size
(§3.5 flow control).

``completeListSize`` (§3.5, optional) comes from the set counters (:mod:`repo.oai.tracking`): exact
for a whole list (no ``from`` or ``until``) in any set and format, counted once, on the first page,
at the cost of one indexed lookup. A list with ``from`` or ``until`` carries it only on its last
page (where it is simply the number of items sent): counting a datestamp window exactly would
take a scan of the window on its first page, growing with the repository.

ListRecords writes the stored bytes of each record (:mod:`repo.oai.cache`), which the keyset query
brings along when they are fresh; any other record is rendered here and stored nowhere (rendering
on write is the renderer's job: a harvest writes nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

import sqlalchemy as sa
from lxml import etree

from repo.db import retried
from repo.oai import cache, envelope, queries, records, sets, tracking
from repo.oai.arguments import ListArguments, ParsedRequest
from repo.oai.envelope import oai
from repo.oai.errors import BadResumptionToken, CannotDisseminateFormat, NoRecordsMatch
from repo.oai.formats import REGISTRY
from repo.oai.formats.base import MetadataFormat
from repo.oai.records import RenderContext
from repo.oai.render import serialize
from repo.oai.service import Provider, Reply, counted
from repo.oai.tokens import Position
from repo.operations.metrics import OAI_RECORDS
from repo.works import visibility
from repo.works.models import Work

CHUNK = 250  # rows fetched per query while a page streams


_MEMBERSHIPS: dict[tuple[str, str | None], queries.Membership] = {}


def _membership(connection: sa.Connection, position: Position, now: datetime) -> queries.Membership:
    """Which works are records of this list, datestamps aside: public (or tombstones), of a type
    the format applies to, in the set; and the index its keyset walk drives (see
    :class:`repo.oai.queries.Membership`). One object per format and set, made once: the list's
    query is then built once too (:func:`repo.oai.queries.keyset`)."""
    found = _MEMBERSHIPS.get((position.prefix, position.set_spec))
    if found is not None:
        return found
    fmt = REGISTRY[position.prefix]
    in_set = None
    if position.set_spec is not None:
        in_set = sets.condition(connection, position.set_spec, now)
        if in_set is None:
            # A well-formed setSpec naming no set: an empty list (OAI-PMH.md §1.4, a choice).
            raise NoRecordsMatch(f"There is no set {position.set_spec!r}.")
    driver, values = _driver(connection, position.set_spec, queries.equality(in_set), fmt)
    conditions = [visibility.public_or_tombstone()]
    if driver in ("type", queries.IN_JOURNAL) and fmt.types is not None:
        # What the walk does not imply of the format's condition (MetadataFormat.condition): the
        # types along the journals' index, the journal along the types' (_driver). Repeating an
        # implied term would make PostgreSQL take it for a second, independent filter, misjudge
        # the rows and sort instead of walking the index.
        if driver == queries.IN_JOURNAL:
            conditions.append(Work.type.in_([sa.literal(t) for t in sorted(fmt.types)]))
        elif fmt.needs_issn_l:
            conditions.append(Work.issn_l.is_not(None))
    elif (applies := fmt.condition()) is not None:
        conditions.append(applies)
    if in_set is not None:
        conditions.append(in_set)
    # (Set names are never renamed nor deleted, so what a set holds is fixed but for the day.)
    found = _MEMBERSHIPS[(position.prefix, position.set_spec)] = queries.Membership(sa.and_(*conditions), driver,
                                                                                     values)
    return found


def _driver(connection: sa.Connection, spec: str | None, by_set: tuple[str, Any] | None,
            fmt: MetadataFormat) -> tuple[str | None, tuple[Any, ...]]:
    """The index a list's keyset walk drives: the set's own (a journal, a centre, a type) or the
    format's (the works in a journal for JATS, else its types), whichever holds fewer works by
    the counters; the datestamp index when neither narrows the list."""
    if fmt.needs_issn_l:
        by_format: tuple[str, tuple[Any, ...]] | None = (queries.IN_JOURNAL, ())
    else:
        by_format = ("type", tuple(sorted(fmt.types))) if fmt.types is not None else None
    if by_set is None or by_format is None:
        return (by_set[0], (by_set[1],)) if by_set is not None else by_format or (None, ())
    if by_set[0] == "type":
        if fmt.types is not None and by_set[1] not in fmt.types:
            raise NoRecordsMatch(f"No work of the set {spec!r} has a record in this format.")
        if by_format[0] == "type":
            return by_set[0], (by_set[1],)
    in_set = sets.count_key(connection, spec)
    set_size = tracking.size(connection, in_set, None) if in_set is not None else 0
    walked = ("journal", "") if by_format[0] == queries.IN_JOURNAL else ("all", "")
    format_size = tracking.size(connection, walked, None if walked[0] == "journal" else fmt.types)
    return (by_set[0], (by_set[1],)) if set_size <= format_size else by_format


def _counted(key: sets.CountKey | None, fmt: MetadataFormat) -> sets.CountKey | None:
    """The counter of a list in ``fmt``: the set's, by work type; for a format that applies only
    to works in a journal (JATS), the journals' counter, which holds the whole list or one
    journal's; other sets are not counted by journal, so such lists say their size at the end."""
    if key is None or not fmt.needs_issn_l or key[0] == "journal":
        return key
    return ("journal", "") if key == ("all", "") else None


def _start(provider: Provider, request: ParsedRequest, now: datetime) -> tuple[Position, bool]:
    """Where the list stands, and whether it is a whole list (no ``from``, no ``until``)."""
    args = request.arguments
    assert isinstance(args, ListArguments)
    if args.resumptionToken is not None:
        position = provider.tokens.decode(args.resumptionToken, request.verb, now)
        if position.prefix not in REGISTRY:
            raise BadResumptionToken("The resumptionToken names a format no longer offered.")
        return position, False
    assert args.metadataPrefix is not None
    if args.metadataPrefix not in REGISTRY:
        raise CannotDisseminateFormat(f"This repository does not disseminate {args.metadataPrefix!r}.")
    upper = min(args.upper, now) if args.upper is not None else now
    if args.lower is not None and args.lower > upper:
        raise NoRecordsMatch("No record has a datestamp in that range (from is in the future).")
    position = Position(request.verb, args.metadataPrefix, args.set, args.lower, upper, None, 0, 0)
    return position, args.lower is None and args.upper is None


def handle(provider: Provider, request: ParsedRequest, *, with_metadata: bool) -> Reply:
    page_size = provider.settings.oai_page_size
    first_limit = min(CHUNK, page_size + 1)
    now = provider.now()
    position, whole = _start(provider, request, now)
    with provider.read() as connection:
        condition = _membership(connection, position, now)
        page = _Page(provider, position, condition, now, with_metadata)
        first = provider.lifted(connection, now, lambda: page.fetch(connection, position.after, first_limit, probe=True))
        if whole:
            key = _counted(sets.count_key(connection, position.set_spec), REGISTRY[position.prefix])  # type: ignore[arg-type]
            if key is not None:  # the counters: §3.5 completeListSize without counting
                page.position = replace(position, total=tracking.size(connection, key, REGISTRY[position.prefix].types))
    if not first:
        if position.after is None:
            raise NoRecordsMatch("No record matches the combination of from, until, set and metadataPrefix.")
        # Every remaining record changed after this harvest began (they are past the frozen
        # until): nothing is left for this list; the next incremental harvest has them.
        raise NoRecordsMatch("No records remain in this list; harvest again from its first responseDate.")
    return Reply(now, request.echo, request.verb, page.items(first, first_limit), page)


class _Item(NamedTuple):
    raw_datestamp: Any
    id: int
    item: Any  # bytes (stored), a Disseminated to render, or None
    due: bool  # an embargo is due to be lifted (with the probe: the first page's first query)


class _Page:
    """One page of a list: fetched in chunks of keyset rows, each on a connection of its own.

    Once its items are all out: ``sent`` (records and headers), ``next_token`` (the token it ends
    with, if the list goes on) and ``generation``, the record generation its first query read
    (:data:`repo.oai.queries.GENERATION`): what :mod:`repo.oai.readahead` needs."""

    sent = 0
    next_token: str | None = None
    generation: int | None = None

    def __init__(self, provider: Provider, position: Position, condition: queries.Membership, now: datetime,
                 with_metadata: bool) -> None:
        self.provider, self.position, self.condition = provider, position, condition
        self.context = RenderContext(provider.settings, now)
        self.format = REGISTRY[position.prefix]
        self.stored = (position.prefix, cache.variant(provider.settings, position.prefix), now) if with_metadata else None

    def fetch(self, connection: sa.Connection, after: tuple[datetime, int] | None, limit: int,
              probe: bool = False) -> list[Any]:
        """The next rows, each ``(datestamp, id, item, due)`` with an item ready to send: stored
        bytes, or the loaded record or header to serialize (what is not stored is rendered here
        and stored nowhere); ``due``: :data:`repo.oai.queries.DUE` with ``probe``."""
        position = self.position
        rows = queries.keyset(connection, self.condition, position.lower, position.upper, after, limit,
                              stored=self.stored, today=self.context.now.date(), probe=probe)
        due = False
        if probe and rows:
            due, self.generation = bool(rows[0].due), rows[0].generation
        if self.stored is None:  # ListIdentifiers: headers
            headers = records.load(connection, rows, records.centre_slugs(connection), with_metadata=False)
            return [_Item(work.datestamp, work.id, work, due) for work in headers]
        entries: Sequence[Any] = rows  # (id, raw datestamp, stored bytes or None[, due])
        missing = [entry[0] for entry in entries if entry[2] is None]
        loaded = {work.id: work for work in records.get_many(connection, missing)} if missing else {}
        return [_Item(entry[1], entry[0], entry[2] if entry[2] is not None else loaded.get(entry[0]), due)
                for entry in entries]

    def _fetch_alone(self, after: tuple[datetime, int] | None, limit: int) -> list[Any]:
        with self.provider.read() as connection:
            return self.fetch(connection, after, limit)

    def items(self, chunk: Sequence[Any], requested: int) -> Iterator[etree._Element | bytes]:
        page_size = self.provider.settings.oai_page_size
        context = self.context
        sent, more, last = 0, False, None
        while True:
            for raw, work_id, item, _ in chunk:
                if sent == page_size:
                    more = True  # the look-ahead row: another page exists
                    break
                if item.__class__ is bytes:
                    yield item
                elif item is not None:  # (None: no longer a record since the keyset read: skipped)
                    yield (serialize(item, self.format, context) if self.stored is not None
                           else records.header(item, context, sets.specs(item, context.now)))
                sent += 1
                last = (raw, work_id)
            if more or len(chunk) < requested:
                break
            requested = min(CHUNK, page_size - sent + 1)
            chunk = retried(partial(self._fetch_alone, _resume(last), requested))
        self.sent = sent
        if counted():
            OAI_RECORDS.labels(self.position.verb).inc(sent)  # /metrics: records and headers served
        token = _token(self.provider, self.position, _resume(last), sent, more, context.now)
        if token is not None:
            self.next_token = token.text if more else None
            yield token


def _resume(last: tuple[Any, int] | None) -> tuple[datetime, int] | None:
    """The ``(datestamp, id)`` a page ends at (a raw datestamp from the keyset query converted)."""
    if last is None:
        return None
    raw, work_id = last
    return (raw if raw.__class__ is datetime and raw.tzinfo is not None else queries.instant(raw)), work_id


def _token(
    provider: Provider, position: Position, last: tuple[datetime, int] | None, sent: int, more: bool, now: datetime
) -> etree._Element | None:
    """§3.5: a token while the list goes on; an empty one on the last page of a multi-page list;
    none at all when the list fits in one response. completeListSize when known (see above):
    never below what was sent (§3.5: an estimate may be revised during the list)."""
    attrib = {"cursor": str(position.cursor)}
    if position.total or not more:
        attrib["completeListSize"] = str(max(position.total, position.cursor + sent + (1 if more else 0)))
    if more:
        assert last is not None
        attrib["expirationDate"] = envelope.datestamp(provider.tokens.expiration(now))
        return oai("resumptionToken", provider.tokens.encode(position.advance(last, sent), now), attrib)
    if position.cursor > 0:
        return oai("resumptionToken", None, attrib)
    return None
