"""Keeps the reading room's memoised aggregate warm: after a commit changed the data, a background
thread recomputes the sitemap blocks, so the first crawler after a deposit does not pay for them
(see :mod:`repo.web.cache`; the browse counts need no warming: they are counter rows,
:mod:`repo.works.counts`).

Woken after every commit (``app.state.on_commit``); when the data version has not changed the
wake costs one indexed lookup. A failure is logged and never reaches a request: the pages
compute what is missing themselves.
"""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI

from repo.clock import Clock
from repo.config import Settings
from repo.context import Context
from repo.db import Database
from repo.deposit.auth import Principal

log = logging.getLogger("repo.web")


class Warmer:
    def __init__(self, database: Database, settings: Settings, clock: Clock) -> None:
        self.database, self.settings, self.clock = database, settings, clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reading-room-warmer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def warm(self) -> None:
        """Compute whatever aggregate the current data version lacks."""
        from repo.web import feeds

        with self.database.session() as session:
            feeds.sitemap_blocks(Context(session, Principal(), self.clock.now(), self.settings))

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.warm()
            except Exception:  # the pages compute what is missing themselves
                log.exception("warming the sitemap blocks failed")


def start(app: FastAPI) -> None:
    """Build ``app.state.web_warmer`` and wake it after each commit (and once now)."""
    warmer = Warmer(app.state.db, app.state.settings, app.state.clock)
    app.state.web_warmer = warmer
    app.state.on_commit.append(warmer.wake)
    warmer.start()
    warmer.wake()


def stop(app: FastAPI) -> None:
    warmer: Warmer | None = getattr(app.state, "web_warmer", None)
    if warmer is not None:
        if warmer.wake in app.state.on_commit:
            app.state.on_commit.remove(warmer.wake)
        warmer.stop()
