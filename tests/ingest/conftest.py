"""Fixtures of the ingest tests; they live in ``ingest_support.py``."""

from oai_repo_peer import oai_repo_server  # noqa: F401
from ingest_support import (  # noqa: F401
    harvester,
    live_server,
    oai_get,
    oai_source,
    peer,
    schemas,
    second_database_url,
    settings,
    where,
)
