"""What a metadata format is: prefix, namespace, schema URL, the work types it applies to, and a
crosswalk to lxml elements.

The OAI layer iterates over the registry and nothing else: rendering on write
(:mod:`repo.oai.render`), ListMetadataFormats, GetRecord's ``cannotDisseminateFormat``, the list
of a prefix and its ``completeListSize`` all come from these fields, so a new format is one
module and one registry line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from lxml import etree

from repo.oai.records import Disseminated, RenderContext


@dataclass(frozen=True)
class MetadataFormat:
    """One entry of the formats registry (OAI-PMH §3.4, §4.4).

    ``crosswalk(work, context)`` returns the payload root element for ``<metadata>``: namespace
    qualified, with its own ``xsi:schemaLocation`` (§3.2.1), no comment before it. It may depend
    on the work, the settings and the moment (``context.now``: embargoes), nothing else.

    ``types``: the work types (``WorkType`` values) the format applies to; ``None`` for every
    type. A work of another type has no record in this format: GetRecord answers
    ``cannotDisseminateFormat``, ListMetadataFormats with its identifier omits the prefix, and the
    format's lists leave it out (deleted records included: §4.3, a deleted item is listed in the
    formats it had).
    """

    prefix: str
    namespace: str
    schema: str
    crosswalk: Callable[[Disseminated, RenderContext], etree._Element]
    types: frozenset[str] | None = None

    def applies_to(self, work: Disseminated) -> bool:
        """Whether this item can be disseminated in this format (the Python twin of :meth:`condition`)."""
        return self.types is None or work.type in self.types

    def condition(self) -> sa.ColumnElement[bool] | None:
        """SQL: the works this format applies to (``None``: every work)."""
        from repo.works.models import Work

        # plain parameters, not an "expanding" list: the statement needs no rewriting per execution
        return None if self.types is None else Work.type.in_([sa.literal(t) for t in sorted(self.types)])

    def to_element(self, work: Disseminated, context: RenderContext) -> etree._Element:
        return self.crosswalk(work, context)
