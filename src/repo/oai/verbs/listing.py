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

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from lxml import etree

from repo.oai import cache, envelope, records, sets, tracking
from repo.oai.arguments import ListArguments, ParsedRequest
from repo.oai.envelope import oai
from repo.oai.errors import BadResumptionToken, CannotDisseminateFormat, NoRecordsMatch
from repo.oai.formats import REGISTRY
from repo.oai.records import Disseminated, RenderContext
from repo.oai.render import serialize
from repo.oai.service import Provider, Reply
from repo.oai.tokens import Position
from repo.works import visibility

CHUNK = 250  # rows fetched per query while a page streams


def _membership(connection: sa.Connection, position: Position, now: datetime) -> sa.ColumnElement[bool]:
    """Which works are records of this list, datestamps aside: public (or tombstones), of a type
    the format applies to, in the set."""
    conditions = [visibility.public_or_tombstone()]
    if (applies := REGISTRY[position.prefix].condition()) is not None:
        conditions.append(applies)
    if position.set_spec is not None:
        in_set = sets.condition(connection, position.set_spec, now)  # type: ignore[arg-type]
        if in_set is None:
            # A well-formed setSpec naming no set: an empty list (OAI-PMH.md §1.4, a choice).
            raise NoRecordsMatch(f"There is no set {position.set_spec!r}.")
        conditions.append(in_set)
    return sa.and_(*conditions)


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
    with provider.read() as connection:
        now = provider.begin(connection)
        position, whole = _start(provider, request, now)
        condition = _membership(connection, position, now)
        if whole:
            key = sets.count_key(connection, position.set_spec)  # type: ignore[arg-type]
            if key is not None:  # the counters: §3.5 completeListSize without counting
                position = replace(position, total=tracking.size(connection, key, REGISTRY[position.prefix].types))
        stored = (position.prefix, cache.variant(provider.settings, position.prefix), now) if with_metadata else None
        rows = records.keyset(connection, condition, position.lower, position.upper, position.after, first_limit,
                              with_metadata=with_metadata, stored=stored)
        first = records.load(connection, rows, records.centre_slugs(connection), with_metadata=with_metadata)
    if not first:
        if position.after is None:
            raise NoRecordsMatch("No record matches the combination of from, until, set and metadataPrefix.")
        # Every remaining record changed after this harvest began (they are past the frozen
        # until): nothing is left for this list; the next incremental harvest has them.
        raise NoRecordsMatch("No records remain in this list; harvest again from its first responseDate.")
    context = RenderContext(provider.settings, now)
    items = _items(provider, position, condition, first, first_limit, context, with_metadata)
    return Reply(now, request.echo, request.verb, items)


def _items(
    provider: Provider,
    position: Position,
    condition: sa.ColumnElement[bool],
    chunk: list[Disseminated],
    requested: int,
    context: RenderContext,
    with_metadata: bool,
) -> Iterator[etree._Element | bytes]:
    page_size = provider.settings.oai_page_size
    fmt = REGISTRY[position.prefix]
    stored = (position.prefix, cache.variant(provider.settings, position.prefix), context.now) if with_metadata else None
    sent, more, last = 0, False, position.after
    while True:
        for work in chunk:
            if sent == page_size:
                more = True  # the look-ahead row: another page exists
                break
            if not with_metadata:
                yield records.header(work, context, sets.specs(work, context.now))
            elif work.stored is not None:
                yield work.stored
            else:
                yield serialize(work, fmt, context)
            sent += 1
            last = (work.datestamp, work.id)
        if more or len(chunk) < requested:
            break
        requested = min(CHUNK, page_size - sent + 1)
        with provider.read() as connection:
            rows = records.keyset(connection, condition, position.lower, position.upper, last, requested,
                                  with_metadata=with_metadata, stored=stored)
            chunk = records.load(connection, rows, records.centre_slugs(connection), with_metadata=with_metadata)
    token = _token(provider, position, last, sent, more, context.now)
    if token is not None:
        yield token


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
