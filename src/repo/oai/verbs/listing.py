"""ListIdentifiers and ListRecords (OAI-PMH §4.3, §4.5): selective harvesting with keyset paging.

The first page freezes ``until`` at its responseDate, counts the list once (completeListSize) and
fetches the first chunk before answering (an empty list is noRecordsMatch, never an empty
element: the XSD needs one item). The rest of the page is fetched in chunks by the response
generator, each chunk in a short session of its own, and serialized item by item, so memory
stays flat whatever the page size or the repository size (§3.5 flow control).

ListRecords reads through the dissemination cache (:mod:`repo.oai.cache`): the keyset query
brings each work's fresh cache entry with it; those bytes are written as they are, the other
records are rendered, written and stored back after their chunk, in a unit of work of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from lxml import etree

from repo.oai import cache, envelope, records, sets
from repo.oai.arguments import ListArguments, ParsedRequest
from repo.oai.envelope import oai
from repo.oai.errors import BadResumptionToken, CannotDisseminateFormat, NoRecordsMatch
from repo.oai.formats import REGISTRY
from repo.oai.records import Disseminated, RenderContext
from repo.oai.service import Provider, Reply
from repo.oai.tokens import Position
from repo.oai.verbs.get_record import record
from repo.works import visibility
from repo.works.models import Work

CHUNK = 250  # rows fetched per query while a page streams


def _membership(session: sa.orm.Session, position: Position, now: datetime) -> sa.ColumnElement[bool]:
    """Which works are records of this list, datestamps aside: public (or tombstones), of a type
    the format applies to, in the set."""
    conditions = [visibility.public_or_tombstone()]
    if (applies := REGISTRY[position.prefix].condition()) is not None:
        conditions.append(applies)
    if position.set_spec is not None:
        in_set = sets.condition(session, position.set_spec, now)
        if in_set is None:
            # A well-formed setSpec naming no set: an empty list (OAI-PMH.md §1.4, a choice).
            raise NoRecordsMatch(f"There is no set {position.set_spec!r}.")
        conditions.append(in_set)
    return sa.and_(*conditions)


def _start(provider: Provider, request: ParsedRequest, now: datetime) -> Position:
    args = request.arguments
    assert isinstance(args, ListArguments)
    if args.resumptionToken is not None:
        position = provider.tokens.decode(args.resumptionToken, request.verb, now)
        if position.prefix not in REGISTRY:
            raise BadResumptionToken("The resumptionToken names a format no longer offered.")
        return position
    assert args.metadataPrefix is not None
    if args.metadataPrefix not in REGISTRY:
        raise CannotDisseminateFormat(f"This repository does not disseminate {args.metadataPrefix!r}.")
    upper = min(args.upper, now) if args.upper is not None else now
    if args.lower is not None and args.lower > upper:
        raise NoRecordsMatch("No record has a datestamp in that range (from is in the future).")
    return Position(request.verb, args.metadataPrefix, args.set, args.lower, upper, None, 0, 0)


def handle(provider: Provider, request: ParsedRequest, *, with_metadata: bool) -> Reply:
    now = provider.begin()
    position = _start(provider, request, now)
    page_size = provider.settings.oai_page_size
    first_limit = min(CHUNK, page_size + 1)
    with provider.db.session() as session:
        condition = _membership(session, position, now)
        if position.after is None:
            total = session.scalar(sa.select(sa.func.count()).select_from(Work).where(
                condition, records.in_range(position.lower, position.upper))) or 0
            if total == 0:
                raise NoRecordsMatch("No record matches the combination of from, until, set and metadataPrefix.")
            position = replace(position, total=total)
        centres = records.centre_slugs(session)
        rows = records.keyset(session, condition, position.lower, position.upper, position.after, first_limit,
                              with_metadata=with_metadata,
                              cache=(position.prefix, cache.variant(provider.settings, position.prefix)))
        first = records.load(session, rows, centres, with_metadata=with_metadata)
    if not first:
        # Every remaining record changed after this harvest began (they are past the frozen
        # until): nothing is left for this list; the next incremental harvest has them.
        raise NoRecordsMatch("No records remain in this list; harvest again from its first responseDate.")
    context = RenderContext(provider.settings, now)
    items = _items(provider, position, condition, first, first_limit, centres, context, with_metadata)
    return Reply(now, request.echo, request.verb, items)


def _items(
    provider: Provider,
    position: Position,
    condition: sa.ColumnElement[bool],
    chunk: list[Disseminated],
    requested: int,
    centres: dict[int, str],
    context: RenderContext,
    with_metadata: bool,
) -> Iterator[etree._Element | bytes]:
    page_size = provider.settings.oai_page_size
    fmt = REGISTRY[position.prefix]
    variant = cache.variant(provider.settings, position.prefix)
    sent, more, last = 0, False, position.after
    while True:
        rendered: list[cache.Entry] = []
        for work in chunk:
            if sent == page_size:
                more = True  # the look-ahead row: another page exists
                break
            if not with_metadata:
                yield records.header(work, context, sets.specs(work, context.now))
            elif work.cached is not None:
                yield work.cached
            else:
                data = etree.tostring(record(work, fmt, context), encoding="UTF-8", xml_declaration=False)
                rendered.append((work.id, work.datestamp, work.version, data))
                yield data
            sent += 1
            last = (work.datestamp, work.id)
        cache.write_back(provider.db, position.prefix, variant, rendered)
        if more or len(chunk) < requested:
            break
        requested = min(CHUNK, page_size - sent + 1)
        with provider.db.sessionmaker() as session:
            rows = records.keyset(session, condition, position.lower, position.upper, last, requested,
                                  with_metadata=with_metadata, cache=(position.prefix, variant))
            chunk = records.load(session, rows, centres, with_metadata=with_metadata)
    token = _token(provider, position, last, sent, more, context.now)
    if token is not None:
        yield token


def _token(
    provider: Provider, position: Position, last: tuple[datetime, int] | None, sent: int, more: bool, now: datetime
) -> etree._Element | None:
    """§3.5: a token while the list goes on; an empty one on the last page of a multi-page list;
    none at all when the list fits in one response."""
    total = max(position.total, position.cursor + sent + (1 if more else 0))
    attrib = {"completeListSize": str(total), "cursor": str(position.cursor)}
    if more:
        assert last is not None
        attrib["expirationDate"] = envelope.datestamp(provider.tokens.expiration(now))
        return oai("resumptionToken", provider.tokens.encode(position.advance(last, sent), now), attrib)
    if position.cursor > 0:
        return oai("resumptionToken", None, attrib)
    return None
