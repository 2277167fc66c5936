"""One module per OAI-PMH verb (§4); each exposes ``handle(provider, request) -> Reply``."""

from __future__ import annotations

from collections.abc import Callable

from repo.oai.verbs import (
    get_record,
    identify,
    list_identifiers,
    list_metadata_formats,
    list_records,
    list_sets,
)

HANDLERS: dict[str, Callable] = {  # type: ignore[type-arg]
    "GetRecord": get_record.handle,
    "Identify": identify.handle,
    "ListIdentifiers": list_identifiers.handle,
    "ListMetadataFormats": list_metadata_formats.handle,
    "ListRecords": list_records.handle,
    "ListSets": list_sets.handle,
}
