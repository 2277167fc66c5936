"""What a metadata format is: prefix, namespace, schema URL, the works it applies to, and a
crosswalk from a work to lxml elements.

The OAI layer iterates over the registry and nothing else: rendering on write
(:mod:`repo.oai.render`), ListMetadataFormats, GetRecord's ``cannotDisseminateFormat``, the list
of a prefix and its ``completeListSize`` all come from these fields, and so do the landing-page
exports; a new format is one module and one registry line.
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
    qualified, with its own ``xsi:schemaLocation`` where the format has a namespaced schema
    (§3.2.1), no comment before it. It may depend on the work, the settings and the moment
    (``context.now``: embargoes), nothing else, and it never fails on stored text: XML-illegal
    characters are dropped and malformed values left out.

    Which works a format applies to is said once, as data: ``types`` (the ``WorkType`` values;
    ``None`` for every type) and ``needs_issn_l`` (only works in a journal identified by an ISSN,
    as JATS requires). It is read two ways: :meth:`applies_to` on a loaded work and
    :meth:`condition` in SQL. A work it does not apply to has no record in this format: GetRecord
    answers ``cannotDisseminateFormat``, ListMetadataFormats with its identifier omits the prefix,
    and the format's lists leave it out (deleted records included: §4.3, a deleted item is listed
    in the formats it had; a withdrawn work keeps its type and ISSN-L).
    """

    prefix: str
    namespace: str
    schema: str
    crosswalk: Callable[[Disseminated, RenderContext], etree._Element]
    types: frozenset[str] | None = None
    needs_issn_l: bool = False
    label: str = ""  # human name, for links on landing pages
    media_type: str = "application/xml"  # of the standalone export

    def applies_to(self, work: Disseminated) -> bool:
        """Whether this item can be disseminated in this format (the Python twin of :meth:`condition`)."""
        if self.types is not None and work.type not in self.types:
            return False
        return not self.needs_issn_l or work.issn_l is not None

    def condition(self) -> sa.ColumnElement[bool] | None:
        """SQL: the works this format applies to (``None``: every work)."""
        from repo.works.models import Work

        # plain parameters, not an "expanding" list: the statement needs no rewriting per execution
        conditions = []
        if self.types is not None:
            conditions.append(Work.type.in_([sa.literal(t) for t in sorted(self.types)]))
        if self.needs_issn_l:
            conditions.append(Work.issn_l.is_not(None))
        return sa.and_(*conditions) if conditions else None

    def to_element(self, work: Disseminated, context: RenderContext) -> etree._Element:
        return self.crosswalk(work, context)

    def serialize(self, work: Disseminated, context: RenderContext) -> bytes:
        """The record as a standalone XML document (landing-page exports)."""
        return bytes(etree.tostring(self.to_element(work, context), encoding="UTF-8", xml_declaration=True))
