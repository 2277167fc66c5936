"""Search in the server process: backend and background indexer, started and stopped by the lifespan."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from repo.search.backend import open_backend
from repo.search.indexer import BackgroundIndexer, Indexer

log = logging.getLogger("repo.search")


def start(app: FastAPI) -> None:
    """Build ``app.state.search`` (the backend) and ``app.state.indexer`` (woken after each commit)."""
    backend = open_backend(app.state.settings)
    try:
        backend.ensure()
    except Exception as exc:  # a search server that is down must not keep the repository from starting
        log.error("search backend %s not ready: %s (searches fail until it is)", backend.name, exc)
    app.state.search = backend
    app.state.indexer = BackgroundIndexer(Indexer(app.state.db, backend, app.state.clock))
    app.state.on_commit.append(app.state.indexer.wake)
    app.state.indexer.start()
    app.state.indexer.wake()  # drain what earlier processes left


def stop(app: FastAPI) -> None:
    indexer: BackgroundIndexer | None = getattr(app.state, "indexer", None)
    if indexer is not None:
        indexer.stop()
        if indexer.wake in app.state.on_commit:
            app.state.on_commit.remove(indexer.wake)
    backend = getattr(app.state, "search", None)
    if backend is not None:
        backend.close()
