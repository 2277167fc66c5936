"""ListSets (OAI-PMH §4.6): every set in one response (they are few: centres and collections)."""

from __future__ import annotations

from lxml import etree

from repo.oai import sets
from repo.oai.arguments import ListSetsArguments, ParsedRequest
from repo.oai.envelope import oai, text
from repo.oai.errors import BadResumptionToken
from repo.oai.formats.oai_dc import DC_NS, NSMAP, ROOT, SCHEMA_LOCATION
from repo.oai.service import Provider, Reply


def _described(info: sets.SetInfo) -> etree._Element:
    element = oai("set")
    oai("setSpec", info.spec, parent=element)
    oai("setName", info.name, parent=element)
    if info.description:
        container = oai("setDescription", parent=element)
        dc = etree.SubElement(container, ROOT, SCHEMA_LOCATION, nsmap=NSMAP)
        description = etree.SubElement(dc, f"{{{DC_NS}}}description")
        description.text = text(info.description)
    return element


def handle(provider: Provider, request: ParsedRequest) -> Reply:
    args = request.arguments
    assert isinstance(args, ListSetsArguments)
    if args.resumptionToken is not None:
        # §3.5: ListSets always fits one response here, so no token of ours exists for it.
        raise BadResumptionToken("This repository never issues resumptionTokens for ListSets.")
    now = provider.now()
    with provider.read() as connection:
        items = [_described(info) for info in sets.all_sets(connection)]
    return Reply(now, request.echo, "ListSets", items)
