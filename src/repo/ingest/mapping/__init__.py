"""Mappings from harvested metadata formats to the deposit record, one module per format,
chosen by the format's XML namespace (a source names its prefixes as it likes)."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from repo.ingest.mapping.common import Draft
from repo.ingest.mapping.oai_dc import OAI_DC_NS, MappingError, map_oai_dc
from repo.ingest.mapping.oai_openaire import OAIRE_NS, map_oai_openaire

Mapper = Callable[[etree._Element], Draft]

#: namespace of the payload root → mapping
MAPPERS: dict[str, Mapper] = {OAI_DC_NS: map_oai_dc, OAIRE_NS: map_oai_openaire}

__all__ = ["MAPPERS", "Draft", "Mapper", "MappingError"]
