"""GetRecord (OAI-PMH §4.1): one record; a withdrawn work answers with its deleted header.

The stored bytes when they are fresh (one indexed join); otherwise the record is rendered here.
The envelope is made while the database answers (:meth:`repo.oai.service.Provider.envelope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from repo.db import Prepared
from repo.oai import cache, queries, records
from repo.oai.arguments import GetRecordArguments, ParsedRequest
from repo.oai.errors import CannotDisseminateFormat, IdDoesNotExist
from repo.oai.formats import REGISTRY
from repo.oai.models import CachedRecord
from repo.oai.records import RenderContext
from repo.oai.render import record
from repo.oai.service import Provider, Reply
from repo.operations.metrics import OAI_RECORDS
from repo.works import visibility
from repo.works.models import Work

_STORED = Prepared(
    sa.select(Work.id, CachedRecord.xml, queries.DUE).select_from(Work)
    .outerjoin(CachedRecord, cache.fresh(sa.bindparam("prefix"), sa.bindparam("variant"), sa.bindparam("now")))
    .where(Work.id == sa.bindparam("id"), visibility.public_or_tombstone()))

_SERVED = OAI_RECORDS.labels("GetRecord")  # the counter of records served by this verb


def handle(provider: Provider, request: ParsedRequest) -> Reply:
    args = request.arguments
    assert isinstance(args, GetRecordArguments)
    fmt = REGISTRY.get(args.metadataPrefix)
    if fmt is None:
        raise CannotDisseminateFormat(f"This repository does not disseminate {args.metadataPrefix!r}.")
    work_id = queries.id_from_identifier(provider.settings, args.identifier)
    now = provider.now()
    values = {"id": work_id, "prefix": fmt.prefix, "variant": cache.variant(provider.settings, fmt.prefix),
              "now": now, "today": now.date()}
    rows: Sequence[Any] = []
    around = None
    with provider.read() as connection:
        if work_id is not None:
            with _STORED.sent(connection, values) as stored:
                around = provider.envelope(now, request.echo, "GetRecord")  # while the database answers
                rows = stored.rows()
            rows = provider.lifted(connection, now, lambda: _STORED.all(connection, values), rows)
        if rows and rows[0].xml is not None:
            _SERVED.inc()  # /metrics: records served
            return Reply(now, request.echo, "GetRecord", [rows[0].xml], around=around)
        work = records.get(connection, rows[0].id) if rows else None
    if work is None:
        raise IdDoesNotExist(f"No item has the identifier {args.identifier[:200]!r}.")
    if not fmt.applies_to(work):
        raise CannotDisseminateFormat(f"The item cannot be disseminated as {fmt.prefix!r}.")
    _SERVED.inc()  # /metrics: records served
    return Reply(now, request.echo, "GetRecord", [record(work, fmt, RenderContext(provider.settings, now))],
                 around=around)
