"""The metadata formats registry: a new format is one new module plus one line here.

ListMetadataFormats is generated from :data:`REGISTRY` (OAI-PMH §4.4); ``oai_dc`` must always be
offered (§3.4) and comes first. Each format says which works it applies to
(:meth:`MetadataFormat.applies_to`, and :meth:`MetadataFormat.condition` in SQL) and how a work
becomes its payload element (:meth:`MetadataFormat.to_element`); nothing outside this package
knows a format by name.
"""

from __future__ import annotations

from repo.oai.formats.base import MetadataFormat
from repo.oai.formats.jats import JATS
from repo.oai.formats.marc import MARCXML
from repo.oai.formats.mods import MODS
from repo.oai.formats.oai_datacite import OAI_DATACITE
from repo.oai.formats.oai_dc import OAI_DC
from repo.oai.formats.oai_openaire import OAI_OPENAIRE

REGISTRY: dict[str, MetadataFormat] = {fmt.prefix: fmt for fmt in (OAI_DC, OAI_OPENAIRE, JATS, MARCXML, MODS,
                                                                  OAI_DATACITE)}

__all__ = ["REGISTRY", "MetadataFormat"]
