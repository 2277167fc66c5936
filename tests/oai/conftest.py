"""Fixtures of the OAI-PMH tests; the harness itself is in ``oai_harness.py``."""

from oai_harness import corpus, live_server, method, oai, oai_get, schemas  # noqa: F401
