"""Identify (OAI-PMH §4.2): who we are, earliest datestamp, deletion policy, granularity."""

from __future__ import annotations

from lxml import etree

from repo.oai import compression, envelope, records
from repo.oai.arguments import ParsedRequest
from repo.oai.envelope import XSI_NS, oai
from repo.oai.service import Provider, Reply

OAI_ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_ID_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"


def handle(provider: Provider, request: ParsedRequest) -> Reply:
    now = provider.begin()
    settings = provider.settings
    with provider.db.session() as session:
        earliest = records.earliest_datestamp(session)
    element = oai("Identify")
    oai("repositoryName", settings.repository_name, parent=element)
    oai("baseURL", f"{settings.base_url}/oai", parent=element)
    oai("protocolVersion", "2.0", parent=element)
    oai("adminEmail", settings.admin_email, parent=element)
    # §4.2: the true earliest datestamp; an empty repository's first record will be stamped now or later.
    oai("earliestDatestamp", envelope.datestamp(earliest or now), parent=element)
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
    for tag, value in (("scheme", "oai"), ("repositoryIdentifier", settings.oai_repository_identifier),
                       ("delimiter", ":"), ("sampleIdentifier", f"oai:{settings.oai_repository_identifier}:1")):
        etree.SubElement(identifier, f"{{{OAI_ID_NS}}}{tag}").text = value
    return Reply(now, request.echo, None, [element])
