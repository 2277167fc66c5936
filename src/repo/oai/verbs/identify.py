"""Identify (OAI-PMH §4.2): who we are, earliest datestamp, deletion policy, granularity."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from lxml import etree

from repo.oai import compression, envelope, queries
from repo.oai.arguments import ParsedRequest
from repo.oai.envelope import XSI_NS, oai
from repo.oai.service import Provider, Reply

OAI_ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_ID_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"


def handle(provider: Provider, request: ParsedRequest) -> Reply:
    now = provider.now()
    with provider.read() as connection, queries.current_earliest_datestamp(connection) as answer:
        around = provider.envelope(now, request.echo, None)  # while the database answers (verb: as the Reply's)
        earliest = answer.scalar()
    # §4.2: the true earliest datestamp; an empty repository's first record will be stamped now or later.
    settings = provider.settings
    return Reply(now, request.echo, None, [_identify(settings.repository_name, settings.base_url,
                                                     settings.admin_email, settings.oai_repository_identifier,
                                                     earliest or now)], around=around)


@lru_cache(maxsize=16)
def _identify(name: str, base_url: str, admin_email: str, repository_identifier: str, earliest: datetime) -> bytes:
    """The ``<Identify>`` element, serialized once per settings and earliest datestamp."""
    element = oai("Identify")
    oai("repositoryName", name, parent=element)
    oai("baseURL", f"{base_url}/oai", parent=element)
    oai("protocolVersion", "2.0", parent=element)
    oai("adminEmail", admin_email, parent=element)
    oai("earliestDatestamp", envelope.datestamp(earliest), parent=element)
    oai("deletedRecord", "persistent", parent=element)
    oai("granularity", "YYYY-MM-DDThh:mm:ssZ", parent=element)
    for encoding in compression.ENCODINGS:
        oai("compression", encoding, parent=element)
    description = oai("description", parent=element)
    identifier = etree.SubElement(
        description, f"{{{OAI_ID_NS}}}oai-identifier",
        {f"{{{XSI_NS}}}schemaLocation": f"{OAI_ID_NS} {OAI_ID_SCHEMA}"},
        nsmap={None: OAI_ID_NS, "xsi": XSI_NS},
    )
    for tag, value in (("scheme", "oai"), ("repositoryIdentifier", repository_identifier),
                       ("delimiter", ":"), ("sampleIdentifier", f"oai:{repository_identifier}:1")):
        etree.SubElement(identifier, f"{{{OAI_ID_NS}}}{tag}").text = value
    data: bytes = etree.tostring(element, encoding="UTF-8")
    return data
