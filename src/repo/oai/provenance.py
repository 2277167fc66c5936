"""The ``about`` container of re-exposed records (OAI-PMH §2.5, provenance guidelines): a work
harvested from another repository carries where its record came from —
``<provenance><originDescription harvestDate altered>`` with the source's ``baseURL``, the
record's ``identifier`` and ``datestamp`` there, and its ``metadataNamespace`` — valid against
``provenance.xsd``. OpenAIRE asks aggregators for it (OAI-PMH.md R5). ``altered`` is true: our
record is our crosswalk of our mapping of theirs, never their bytes.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from repo.oai.envelope import XSI_NS, oai, text

PROVENANCE_NS = "http://www.openarchives.org/OAI/2.0/provenance"
PROVENANCE_SCHEMA = "http://www.openarchives.org/OAI/2.0/provenance.xsd"
_P = f"{{{PROVENANCE_NS}}}"
_NSMAP = {None: PROVENANCE_NS, "xsi": XSI_NS}
_SCHEMA_LOCATION = {f"{{{XSI_NS}}}schemaLocation": f"{PROVENANCE_NS} {PROVENANCE_SCHEMA}"}
_PARTS = ("base_url", "identifier", "datestamp", "metadata_namespace", "harvested_at")


def about(origin: dict[str, Any] | None) -> etree._Element | None:
    """``<about>`` for a work whose ``origin`` says it was harvested; ``None`` for anything else."""
    if not origin or origin.get("kind") != "oai" or not all(isinstance(origin.get(p), str) for p in _PARTS):
        return None
    container = oai("about")
    provenance = etree.SubElement(container, _P + "provenance", _SCHEMA_LOCATION, nsmap=_NSMAP)
    description = etree.SubElement(provenance, _P + "originDescription",
                                   {"harvestDate": text(origin["harvested_at"]), "altered": "true"})
    for tag, key in (("baseURL", "base_url"), ("identifier", "identifier"), ("datestamp", "datestamp"),
                     ("metadataNamespace", "metadata_namespace")):
        etree.SubElement(description, _P + tag).text = text(origin[key])
    return container
