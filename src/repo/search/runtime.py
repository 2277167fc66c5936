"""Search in a process: the backend, opened by the composition root (:func:`repo.app.open_resources`)."""

from __future__ import annotations

import logging

from repo.config import Settings
from repo.search.backend import SearchBackend, open_backend

log = logging.getLogger("repo.search")


def open_search(settings: Settings) -> SearchBackend:
    """The configured backend, its index ensured; a search server that is down does not keep the
    repository from starting (searches fail, and the outbox waits, until it is back)."""
    backend = open_backend(settings)
    try:
        backend.ensure()
    except Exception as exc:
        log.error("search backend %s not ready: %s (searches fail until it is)", backend.name, exc)
    return backend
