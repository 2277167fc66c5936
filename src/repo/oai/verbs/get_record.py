"""GetRecord (OAI-PMH §4.1): one record; a withdrawn work answers with its deleted header."""

from __future__ import annotations

from lxml import etree

from repo.oai import records, sets
from repo.oai.arguments import GetRecordArguments, ParsedRequest
from repo.oai.envelope import oai
from repo.oai.errors import CannotDisseminateFormat, IdDoesNotExist
from repo.oai.formats import REGISTRY
from repo.oai.formats.base import MetadataFormat
from repo.oai.records import Disseminated, RenderContext
from repo.oai.service import Provider, Reply


def record(work: Disseminated, fmt: MetadataFormat | None, context: RenderContext) -> etree._Element:
    """``<record>``: the header, then ``<metadata>`` unless deleted (§2.5, no comment before the
    payload root: sickle and scythe read its first child)."""
    element = oai("record")
    element.append(records.header(work, context, sets.specs(work, context.now)))
    if not work.deleted and fmt is not None:
        oai("metadata", parent=element).append(fmt.to_element(work, context))
    return element


def handle(provider: Provider, request: ParsedRequest) -> Reply:
    args = request.arguments
    assert isinstance(args, GetRecordArguments)
    fmt = REGISTRY.get(args.metadataPrefix)
    if fmt is None:
        raise CannotDisseminateFormat(f"This repository does not disseminate {args.metadataPrefix!r}.")
    now = provider.begin()
    work_id = records.id_from_identifier(provider.settings, args.identifier)
    with provider.db.session() as session:
        work = records.get(session, work_id) if work_id is not None else None
    if work is None:
        raise IdDoesNotExist(f"No item has the identifier {args.identifier[:200]!r}.")
    if not fmt.applies_to(work):
        raise CannotDisseminateFormat(f"The item cannot be disseminated as {fmt.prefix!r}.")
    return Reply(now, request.echo, "GetRecord", [record(work, fmt, RenderContext(provider.settings, now))])
