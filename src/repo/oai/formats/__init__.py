"""The metadata formats registry: a new format is one new module plus one line here.

ListMetadataFormats is generated from :data:`REGISTRY` (OAI-PMH §4.4); ``oai_dc`` must always be
offered (§3.4) and comes first.
"""

from __future__ import annotations

from repo.oai.formats.base import MetadataFormat
from repo.oai.formats.oai_dc import OAI_DC

REGISTRY: dict[str, MetadataFormat] = {fmt.prefix: fmt for fmt in (OAI_DC,)}

__all__ = ["REGISTRY", "MetadataFormat"]
