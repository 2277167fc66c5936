"""ListMetadataFormats (OAI-PMH §4.4), generated from the formats registry."""

from __future__ import annotations

from repo.oai import queries, records
from repo.oai.arguments import ListMetadataFormatsArguments, ParsedRequest
from repo.oai.envelope import oai
from repo.oai.errors import IdDoesNotExist, NoMetadataFormats
from repo.oai.formats import REGISTRY
from repo.oai.service import Provider, Reply


def handle(provider: Provider, request: ParsedRequest) -> Reply:
    args = request.arguments
    assert isinstance(args, ListMetadataFormatsArguments)
    formats = list(REGISTRY.values())
    now = provider.now()
    if args.identifier is not None:
        work_id = queries.id_from_identifier(provider.settings, args.identifier)
        with provider.read() as connection:
            work = records.get(connection, work_id) if work_id is not None else None
        if work is None:
            raise IdDoesNotExist(f"No item has the identifier {args.identifier[:200]!r}.")
        # A deleted item keeps the formats it had: GetRecord answers each with its deleted header.
        formats = [fmt for fmt in formats if fmt.applies_to(work)]
        if not formats:
            raise NoMetadataFormats("No metadata format can be disseminated for this item.")
    element = oai("ListMetadataFormats")
    for fmt in formats:
        entry = oai("metadataFormat", parent=element)
        oai("metadataPrefix", fmt.prefix, parent=entry)
        oai("schema", fmt.schema, parent=entry)
        oai("metadataNamespace", fmt.namespace, parent=entry)
    # The verb element is the single item: the envelope writes it under <OAI-PMH> directly.
    return Reply(now, request.echo, None, [element])
