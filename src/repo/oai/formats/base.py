"""What a metadata format is: prefix, namespace, schema URL and a crosswalk to lxml elements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from repo.oai.records import Disseminated, RenderContext


def _always(work: Disseminated) -> bool:
    return True


@dataclass(frozen=True)
class MetadataFormat:
    """One entry of the formats registry (OAI-PMH §3.4, §4.4).

    ``crosswalk(work, context)`` returns the payload root element for ``<metadata>``: namespace
    qualified, with its own ``xsi:schemaLocation`` (§3.2.1), no comment before it.
    ``can_disseminate(work)`` says whether this format exists for a given item (GetRecord's
    cannotDisseminateFormat and ListMetadataFormats with an identifier).
    """

    prefix: str
    namespace: str
    schema: str
    crosswalk: Callable[[Disseminated, RenderContext], etree._Element]
    can_disseminate: Callable[[Disseminated], bool] = field(default=_always)

    def to_element(self, work: Disseminated, context: RenderContext) -> etree._Element:
        return self.crosswalk(work, context)
