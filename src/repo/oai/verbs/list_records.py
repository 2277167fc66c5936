"""ListRecords (OAI-PMH §4.5): records streamed one by one; deleted ones as headers only."""

from __future__ import annotations

from repo.oai.arguments import ParsedRequest
from repo.oai.service import Provider, Reply
from repo.oai.verbs import listing


def handle(provider: Provider, request: ParsedRequest) -> Reply:
    return listing.handle(provider, request, with_metadata=True)
